/*
 * korus_video: the N-API side of the video codecs (vdec.c, venc.c). Plain node_api.h, no C++.
 *
 * Threading: every codec instance owns one video thread (pthread) and a bounded job queue; the JS thread only
 * queues work and receives results through a napi_threadsafe_function, so that codec work never runs on (or
 * stalls) the event loop. A thread per instance rather than napi_async_work: async work runs on libuv's shared
 * pool (4 threads by default, also serving fs, dns and zlib), where multi-millisecond codec jobs would delay a
 * recording's file writes, and two jobs of one codec could run at once on two pool threads, out of order. One
 * thread per codec keeps each codec's frames in order without a lock around the codec state, and the OS spreads
 * the instances over the cores. Video threads run at a lower priority (VIDEO_NICE) than the event loop.
 *
 * Backpressure: when a job arrives and the queue is full, the oldest queued job is dropped (counted) and its id
 * returned to JS, which settles its promise as dropped: memory stays bounded when the codec falls behind.
 *
 * Buffers: decoded frames are written as packed I420 into a small per-decoder pool of malloc'd buffers that JS
 * sees as external ArrayBuffers (wrapped once per buffer, on first delivery); JS hands a buffer back with
 * frameRelease. A full pool drops the decoded frame (counted), never grows. The encoder reads its input from the
 * caller's Uint8Array (held by a reference until the job is done); its output is a Buffer over the encoder's
 * malloc'd copy. Decoder input (compressed, small) is copied once into a padded packet, so JS may reuse it.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "video.h"
#include <errno.h>
#include <libavutil/log.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <unistd.h>

/* Video threads run this much nicer than the process (Linux: per thread), so that when the cores are busy the
 * event loop (audio, signalling) wins the CPU and video frames are the ones that wait or drop. */
#define VIDEO_NICE 5

static const napi_type_tag TAG = {0x6b6f7275735f7669ULL, 0x64656f5f76303031ULL};

napi_value vthrow(napi_env env, const char *code, const char *msg) {
  napi_throw_error(env, code, msg);
  return NULL;
}

/* ---------------------------------------------------------------- lifetime */

static void freePool(napi_env env, vcodec_t *c) {
  for (int i = 0; i < c->poolSize; i++) {
    slot_t *s = &c->pool[i];
    if (s->ref != NULL) {
      if (env != NULL) napi_delete_reference(env, s->ref); /* the ArrayBuffer's finalizer frees s->mem */
    } else {
      free(s->mem);
    }
    s->ref = NULL;
    s->mem = NULL;
  }
}

void vretire(napi_env env, vcodec_t *c) {
  pthread_mutex_lock(&c->mu);
  retired_t *r = c->retired;
  c->retired = NULL;
  pthread_mutex_unlock(&c->mu);
  while (r != NULL) {
    retired_t *next = r->next;
    if (r->ref != NULL) {
      if (env != NULL) napi_delete_reference(env, r->ref);
    } else {
      free(r->mem);
    }
    free(r);
    r = next;
  }
}

static void maybeFree(vcodec_t *c) {
  if (c->externalAlive || c->tsfnAlive) return;
  pthread_mutex_destroy(&c->mu);
  pthread_cond_destroy(&c->cv);
  free(c->jobs);
  free(c->pool);
  free(c);
}

/* Discards the queued jobs (JS thread) and stops the thread; returns how many were discarded. The in-flight
 * job, if any, still reports. */
static int stop(napi_env env, vcodec_t *c) {
  int n = 0;
  pthread_mutex_lock(&c->mu);
  if (c->stopping) {
    pthread_mutex_unlock(&c->mu);
    return 0;
  }
  c->stopping = 1;
  while (c->count > 0) {
    job_t *j = &c->jobs[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    vjob_clear(env, j);
    n++;
  }
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  return n;
}

static void tsfnFinalize(napi_env env, void *data, void *hint) {
  (void)hint;
  vcodec_t *c = (vcodec_t *)data;
  stop(env, c); /* at environment teardown the thread may still run: stop it before joining */
  if (c->threadStarted) pthread_join(c->thread, NULL);
  vretire(env, c);
  freePool(env, c);
  vcodec_free_state(c); /* normally done by the thread already */
  c->tsfnAlive = 0;
  maybeFree(c);
}

static void externalFinalize(napi_env env, void *data, void *hint) {
  (void)hint;
  vcodec_t *c = (vcodec_t *)data;
  c->externalAlive = 0;
  if (c->tsfnAlive) {
    int n = stop(env, c);
    c->inflight -= n;
    if (n > 0 && c->inflight == 0) napi_unref_threadsafe_function(env, c->tsfn);
  }
  maybeFree(c);
}

/* ---------------------------------------------------------------- the video thread */

static void *threadMain(void *arg) {
  vcodec_t *c = (vcodec_t *)arg;
  pthread_setname_np(pthread_self(), c->kind == VK_DEC ? "korus-vdec" : "korus-venc"); /* top -H, /proc/…/task */
  errno = 0;
  int base = getpriority(PRIO_PROCESS, 0);
  if (errno == 0) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), base + VIDEO_NICE);
  for (;;) {
    pthread_mutex_lock(&c->mu);
    while (!c->stopping && c->count == 0) pthread_cond_wait(&c->cv, &c->mu);
    if (c->stopping) {
      pthread_mutex_unlock(&c->mu);
      break;
    }
    job_t job = c->jobs[c->head];
    c->head = (c->head + 1) % c->cap;
    c->count--;
    int forceKey = c->forceKey;
    c->forceKey = 0;
    int bitrate = c->bitrate;
    pthread_mutex_unlock(&c->mu);
    struct timeval t0, t1;
    gettimeofday(&t0, NULL);
    result_t *r = c->kind == VK_DEC ? vdec_run(c, &job) : venc_run(c, &job, forceKey, bitrate);
    gettimeofday(&t1, NULL);
    int64_t us = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_usec - t0.tv_usec);
    pthread_mutex_lock(&c->mu);
    c->busyUs += us;
    c->processed++;
    if (r != NULL && !r->ok) c->errors++;
    pthread_mutex_unlock(&c->mu);
    if (r != NULL) r->us = us;
    if (r == NULL) continue;
    if (napi_call_threadsafe_function(c->tsfn, r, napi_tsfn_nonblocking) != napi_ok) {
      vresult_free(r); /* the environment is closing: references die with it */
    }
  }
  vcodec_free_state(c);
  napi_release_threadsafe_function(c->tsfn, napi_tsfn_release);
  return NULL;
}

/* ---------------------------------------------------------------- JS-thread helpers */

int vargs(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    napi_throw_type_error(env, "KORUS_VIDEO", "missing arguments");
    return 0;
  }
  return 1;
}

int vnum(napi_env env, napi_value v, double *out, const char *what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, out) != napi_ok ||
      *out != *out) {
    napi_throw_type_error(env, "KORUS_VIDEO", what);
    return 0;
  }
  return 1;
}

int vint(napi_env env, napi_value v, int32_t *out, const char *what) {
  double d;
  if (!vnum(env, v, &d, what)) return 0;
  if (d < -2147483648.0 || d > 2147483647.0 || d != (double)(int32_t)d) {
    napi_throw_range_error(env, "KORUS_VIDEO", what);
    return 0;
  }
  *out = (int32_t)d;
  return 1;
}

int vstr(napi_env env, napi_value v, char *buf, size_t len, const char *what) {
  size_t n = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, buf, len, &n) != napi_ok) {
    napi_throw_type_error(env, "KORUS_VIDEO", what);
    return 0;
  }
  return 1;
}

/* "vp8" | "vp9" | "h264" → VC_*, or 0 with a TypeError pending. */
int vcodec_id(napi_env env, napi_value v) {
  char name[8] = {0};
  if (!vstr(env, v, name, sizeof name, "codec must be a string")) return 0;
  if (strcmp(name, "vp8") == 0) return VC_VP8;
  if (strcmp(name, "vp9") == 0) return VC_VP9;
  if (strcmp(name, "h264") == 0) return VC_H264;
  napi_throw_range_error(env, "KORUS_VIDEO", "codec must be vp8, vp9 or h264");
  return 0;
}

void vjob_clear(napi_env env, job_t *j) {
  free(j->pkt);
  j->pkt = NULL;
  if (j->input != NULL && env != NULL) napi_delete_reference(env, j->input);
  j->input = NULL;
}

void vresult_free(result_t *r) {
  free(r->out.data);
  free(r);
}

void vcodec_free_state(vcodec_t *c) {
  vdec_close(c->dec);
  c->dec = NULL;
  venc_close(c->enc);
  c->enc = NULL;
}

void vcodec_global_init(void) { av_log_set_level(AV_LOG_QUIET); /* corrupt input is reported per frame */ }

vcodec_t *vget(napi_env env, napi_value v, int kind, int allowClosed) {
  napi_valuetype t;
  bool tagged = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "KORUS_VIDEO", "not a video codec handle");
    return NULL;
  }
  vcodec_t *c = (vcodec_t *)p;
  if (kind != 0 && c->kind != kind) {
    napi_throw_type_error(env, "KORUS_VIDEO", "video codec handle of the wrong kind");
    return NULL;
  }
  if (c->stopping && !allowClosed) {
    vthrow(env, "KORUS_VIDEO_CLOSED", "codec is closed");
    return NULL;
  }
  return c;
}

napi_value vstart(napi_env env, vcodec_t *c, napi_value callback, napi_threadsafe_function_call_js callJs) {
  napi_value name, handle;
  c->externalAlive = 1;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  if (napi_create_string_utf8(env, "korus_video", NAPI_AUTO_LENGTH, &name) != napi_ok ||
      napi_create_threadsafe_function(env, callback, NULL, name, 0, 1, c, tsfnFinalize, c, callJs, &c->tsfn) !=
          napi_ok) {
    vcodec_free_state(c);
    c->externalAlive = 0;
    maybeFree(c);
    return vthrow(env, "KORUS_VIDEO", "napi_create_threadsafe_function failed");
  }
  c->tsfnAlive = 1;
  napi_unref_threadsafe_function(env, c->tsfn); /* an idle codec does not keep the process alive */
  if (pthread_create(&c->thread, NULL, threadMain, c) != 0) {
    c->stopping = 1;
    c->externalAlive = 0;
    napi_release_threadsafe_function(c->tsfn, napi_tsfn_abort); /* tsfnFinalize frees c */
    return vthrow(env, "KORUS_VIDEO", "cannot start the video thread");
  }
  c->threadStarted = 1;
  if (napi_create_external(env, c, externalFinalize, NULL, &handle) != napi_ok) {
    c->externalAlive = 0;
    stop(env, c);
    return vthrow(env, "KORUS_VIDEO", "napi_create_external failed");
  }
  napi_type_tag_object(env, handle, &TAG);
  return handle;
}

/* Queues a job (JS thread). Returns the id of the job dropped to make room, or -1. */
double vqueue(napi_env env, vcodec_t *c, const job_t *job) {
  double dropped = -1;
  pthread_mutex_lock(&c->mu);
  if (c->count == c->cap) {
    job_t *old = &c->jobs[c->head];
    dropped = (double)old->id;
    c->head = (c->head + 1) % c->cap;
    c->count--;
    c->dropped++;
    vjob_clear(env, old);
  }
  c->jobs[(c->head + c->count) % c->cap] = *job;
  c->count++;
  pthread_cond_signal(&c->cv);
  pthread_mutex_unlock(&c->mu);
  if (c->inflight++ == 0) napi_ref_threadsafe_function(env, c->tsfn);
  if (dropped >= 0 && --c->inflight == 0) napi_unref_threadsafe_function(env, c->tsfn);
  return dropped;
}

/* A result arrived (JS thread). */
void vdone(napi_env env, vcodec_t *c) {
  if (--c->inflight == 0) napi_unref_threadsafe_function(env, c->tsfn);
}

/* close(handle): discards queued jobs and stops the thread; the in-flight job still reports. Idempotent. */
static napi_value Close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  napi_valuetype t;
  bool tagged = false;
  void *p = NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "KORUS_VIDEO", "not a video codec handle");
    return NULL;
  }
  vcodec_t *c = (vcodec_t *)p;
  if (!c->tsfnAlive) return NULL;
  int n = stop(env, c);
  c->inflight -= n;
  if (n > 0 && c->inflight == 0) napi_unref_threadsafe_function(env, c->tsfn);
  return NULL;
}

static void setNum(napi_env env, napi_value o, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

/* stats(handle) → { queued, dropped, processed, errors, poolDrops, busyUs } */
static napi_value Stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], o;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) return NULL;
  vcodec_t *c = vget(env, argv[0], 0, 1);
  if (c == NULL) return NULL;
  napi_create_object(env, &o);
  pthread_mutex_lock(&c->mu);
  setNum(env, o, "queued", c->count);
  setNum(env, o, "dropped", (double)c->dropped);
  setNum(env, o, "processed", (double)c->processed);
  setNum(env, o, "errors", (double)c->errors);
  setNum(env, o, "poolDrops", (double)c->poolDrops);
  setNum(env, o, "busyUs", (double)c->busyUs);
  pthread_mutex_unlock(&c->mu);
  return o;
}

static napi_value Init(napi_env env, napi_value exports) {
  vcodec_global_init();
  napi_property_descriptor props[] = {
    {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"stats", NULL, Stats, NULL, NULL, NULL, napi_enumerable, NULL},
    {"decoderCreate", NULL, vDecoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"decode", NULL, vDecode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"frameRelease", NULL, vFrameRelease, NULL, NULL, NULL, napi_enumerable, NULL},
    {"encoderCreate", NULL, vEncoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"encode", NULL, vEncode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"forceKeyframe", NULL, vForceKeyframe, NULL, NULL, NULL, napi_enumerable, NULL},
    {"setBitrate", NULL, vSetBitrate, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
