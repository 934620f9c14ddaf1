/*
 * The decoder's N-API surface: decoderCreate, decode, frameRelease, the per-job work on the video thread and the
 * delivery of decoded frames (pooled I420 buffers) to JS.
 */
#include "video.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A free pool buffer of at least bytes (video thread). A buffer too small is retired and replaced. */
static uint8_t *takeSlot(void *ctx, size_t bytes, int *slot) {
  vcodec_t *c = (vcodec_t *)ctx;
  uint8_t *mem = NULL;
  pthread_mutex_lock(&c->mu);
  int pick = -1;
  for (int i = 0; i < c->poolSize; i++) {
    if (c->pool[i].busy) continue;
    if (c->pool[i].cap >= bytes) {
      pick = i;
      break;
    }
    if (pick < 0) pick = i;
  }
  if (pick < 0) {
    c->poolDrops++;
  } else {
    slot_t *s = &c->pool[pick];
    if (s->cap < bytes) {
      retired_t *r = s->mem != NULL ? (retired_t *)malloc(sizeof(retired_t)) : NULL;
      uint8_t *fresh = (uint8_t *)malloc(bytes);
      if (fresh == NULL || (s->mem != NULL && r == NULL)) {
        free(fresh);
        free(r);
        c->poolDrops++;
        pthread_mutex_unlock(&c->mu);
        return NULL;
      }
      if (r != NULL) {
        r->mem = s->mem;
        r->ref = s->ref;
        r->next = c->retired;
        c->retired = r;
      }
      s->mem = fresh;
      s->cap = bytes;
      s->ref = NULL;
    }
    s->busy = 1;
    *slot = pick;
    mem = s->mem;
  }
  pthread_mutex_unlock(&c->mu);
  return mem;
}

static void releaseSlots(vcodec_t *c, result_t *r) {
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < VMAX_FRAMES; i++) {
    if (r->frames[i].slot >= 0) c->pool[r->frames[i].slot].busy = 0;
  }
  pthread_mutex_unlock(&c->mu);
}

result_t *vdec_run(vcodec_t *c, job_t *job) {
  result_t *r = (result_t *)calloc(1, sizeof(result_t));
  if (r == NULL) {
    free(job->pkt);
    return NULL;
  }
  r->id = job->id;
  for (int i = 0; i < VMAX_FRAMES; i++) r->frames[i].slot = -1;
  int n = vdec_decode(c->dec, job->pkt, job->len, job->pts, takeSlot, c, r->frames, VMAX_FRAMES, r->err,
                      sizeof r->err);
  free(job->pkt);
  job->pkt = NULL;
  if (n < 0) {
    releaseSlots(c, r);
    r->ok = 0;
    return r;
  }
  r->ok = 1;
  r->nframes = n;
  return r;
}

static void freeMem(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* The Uint8Array of a delivered frame: a view on the slot's ArrayBuffer, wrapped on first delivery. */
static napi_value frameView(napi_env env, vcodec_t *c, int slot, size_t bytes) {
  slot_t *s = &c->pool[slot];
  napi_value ab = NULL, view;
  pthread_mutex_lock(&c->mu);
  napi_ref ref = s->ref;
  uint8_t *mem = s->mem;
  size_t cap = s->cap;
  pthread_mutex_unlock(&c->mu);
  if (ref == NULL) {
    if (napi_create_external_arraybuffer(env, mem, cap, freeMem, NULL, &ab) != napi_ok) return NULL;
    if (napi_create_reference(env, ab, 1, &ref) != napi_ok) return NULL;
    pthread_mutex_lock(&c->mu);
    s->ref = ref;
    pthread_mutex_unlock(&c->mu);
  } else if (napi_get_reference_value(env, ref, &ab) != napi_ok || ab == NULL) {
    return NULL;
  }
  if (napi_create_typedarray(env, napi_uint8_array, bytes, ab, 0, &view) != napi_ok) return NULL;
  return view;
}

static void setNum(napi_env env, napi_value o, const char *k, double v) {
  napi_value x;
  napi_create_double(env, v, &x);
  napi_set_named_property(env, o, k, x);
}

/* JS thread: callback(id, error | null, frames: {slot, data, width, height, timestamp}[], busyUs) */
static void deliver(napi_env env, napi_value cb, void *context, void *data) {
  vcodec_t *c = (vcodec_t *)context;
  result_t *r = (result_t *)data;
  if (env == NULL) {
    vresult_free(r);
    return;
  }
  vretire(env, c);
  vdone(env, c);
  napi_value argv[4], undef, frames;
  napi_get_undefined(env, &undef);
  napi_create_double(env, (double)r->id, &argv[0]);
  napi_create_array(env, &frames);
  if (r->ok) {
    napi_get_null(env, &argv[1]);
    uint32_t k = 0;
    for (int i = 0; i < r->nframes; i++) {
      vdec_frame_t *f = &r->frames[i];
      if (f->slot < 0) continue; /* no free pool buffer: counted in poolDrops */
      napi_value o, view = frameView(env, c, f->slot, i420_size(f->width, f->height));
      if (view == NULL) {
        pthread_mutex_lock(&c->mu);
        c->pool[f->slot].busy = 0;
        pthread_mutex_unlock(&c->mu);
        continue;
      }
      napi_create_object(env, &o);
      setNum(env, o, "slot", f->slot);
      napi_set_named_property(env, o, "data", view);
      setNum(env, o, "width", f->width);
      setNum(env, o, "height", f->height);
      setNum(env, o, "timestamp", (double)f->pts);
      napi_set_element(env, frames, k++, o);
    }
  } else {
    napi_create_string_utf8(env, r->err, NAPI_AUTO_LENGTH, &argv[1]);
  }
  argv[2] = frames;
  napi_create_double(env, (double)r->us, &argv[3]);
  vresult_free(r);
  napi_call_function(env, undef, cb, 4, argv, NULL);
}

/* decoderCreate(codec, threads, poolSize, queueSize, outWidth, outHeight, maxPixels, callback) */
napi_value vDecoderCreate(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  int32_t threads, poolSize, queue, ow, oh;
  double maxPixels;
  char err[160] = {0};
  if (!vargs(env, info, 8, argv)) return NULL;
  int codec = vcodec_id(env, argv[0]);
  if (codec == 0 || !vint(env, argv[1], &threads, "threads must be an integer") ||
      !vint(env, argv[2], &poolSize, "poolSize must be an integer") ||
      !vint(env, argv[3], &queue, "queueSize must be an integer") ||
      !vint(env, argv[4], &ow, "outWidth must be an integer") ||
      !vint(env, argv[5], &oh, "outHeight must be an integer") ||
      !vnum(env, argv[6], &maxPixels, "maxPixels must be a number"))
    return NULL;
  if (threads < 1 || threads > 16 || poolSize < 1 || poolSize > 64 || queue < 1 || queue > 256 || ow < 0 ||
      oh < 0 || ow > 8192 || oh > 8192 || (ow == 0) != (oh == 0) || maxPixels < 1 || maxPixels > 8192.0 * 8192)
    return vthrow(env, "KORUS_VIDEO_RANGE", "decoder option out of range");
  vcodec_t *c = (vcodec_t *)calloc(1, sizeof(vcodec_t));
  if (c == NULL) return vthrow(env, "KORUS_VIDEO", "out of memory");
  c->kind = VK_DEC;
  c->codec = codec;
  c->cap = queue;
  c->poolSize = poolSize;
  c->jobs = (job_t *)calloc((size_t)queue, sizeof(job_t));
  c->pool = (slot_t *)calloc((size_t)poolSize, sizeof(slot_t));
  vdec_opts_t o = {threads, ow, oh, (int64_t)maxPixels};
  if (c->jobs == NULL || c->pool == NULL || vdec_open(&c->dec, codec, &o, err, sizeof err) < 0) {
    free(c->jobs);
    free(c->pool);
    free(c);
    return vthrow(env, "KORUS_VIDEO_OPEN", err[0] ? err : "out of memory");
  }
  return vstart(env, c, argv[7], deliver);
}

/* decode(handle, id, data: Uint8Array, timestamp) → the id of the job dropped to make room, or -1 */
napi_value vDecode(napi_env env, napi_callback_info info) {
  napi_value argv[4], ret;
  double id, pts;
  bool isTyped = false;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (!vargs(env, info, 4, argv)) return NULL;
  vcodec_t *c = vget(env, argv[0], VK_DEC, 0);
  if (c == NULL || !vnum(env, argv[1], &id, "id must be a number") ||
      !vnum(env, argv[3], &pts, "timestamp must be a number"))
    return NULL;
  if (napi_is_typedarray(env, argv[2], &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, argv[2], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return vthrow(env, "KORUS_VIDEO_TYPE", "data must be a Uint8Array");
  if (len == 0 || len > 16 * 1024 * 1024) return vthrow(env, "KORUS_VIDEO_RANGE", "access unit of 0 or > 16 MiB");
  job_t job;
  memset(&job, 0, sizeof job);
  job.id = (int64_t)id;
  job.pts = (int64_t)pts;
  job.len = len;
  job.pkt = (uint8_t *)malloc(len + vdec_padding());
  if (job.pkt == NULL) return vthrow(env, "KORUS_VIDEO", "out of memory");
  memcpy(job.pkt, data, len);
  memset(job.pkt + len, 0, vdec_padding());
  napi_create_double(env, vqueue(env, c, &job), &ret);
  return ret;
}

/* frameRelease(handle, slot): JS is done with a decoded frame's buffer. */
napi_value vFrameRelease(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t slot;
  if (!vargs(env, info, 2, argv)) return NULL;
  vcodec_t *c = vget(env, argv[0], VK_DEC, 1);
  if (c == NULL || !vint(env, argv[1], &slot, "slot must be an integer")) return NULL;
  if (slot < 0 || slot >= c->poolSize) return vthrow(env, "KORUS_VIDEO_RANGE", "no such frame buffer");
  pthread_mutex_lock(&c->mu);
  c->pool[slot].busy = 0;
  pthread_mutex_unlock(&c->mu);
  return NULL;
}
