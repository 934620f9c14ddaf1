/*
 * The encoder's N-API surface: encoderCreate, encode, forceKeyframe, setBitrate, the per-job work on the video
 * thread and the delivery of encoded frames to JS.
 */
#include "video.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

result_t *venc_run(vcodec_t *c, job_t *job, int forceKey, int bitrate) {
  result_t *r = (result_t *)calloc(1, sizeof(result_t));
  if (r == NULL) return NULL; /* the input reference is then released at teardown only */
  r->id = job->id;
  r->pts = job->pts;
  r->input = job->input;
  for (int i = 0; i < VMAX_FRAMES; i++) r->frames[i].slot = -1;
  int rc = venc_encode(c->enc, job->in, job->width, job->height, job->pts, forceKey || job->key, bitrate, &r->out,
                       r->err, sizeof r->err);
  if (rc < 0) {
    free(r->out.data);
    r->out.data = NULL;
    r->out.len = 0;
    r->ok = 0;
    return r;
  }
  r->ok = 1;
  return r;
}

static void freeMem(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

/* JS thread: callback(id, error | null, data: Buffer | null, keyframe, timestamp, busyUs) */
static void deliver(napi_env env, napi_value cb, void *context, void *data) {
  vcodec_t *c = (vcodec_t *)context;
  result_t *r = (result_t *)data;
  if (env == NULL) {
    vresult_free(r);
    return;
  }
  vdone(env, c);
  if (r->input != NULL) napi_delete_reference(env, r->input);
  napi_value argv[6], undef;
  napi_get_undefined(env, &undef);
  napi_create_double(env, (double)r->id, &argv[0]);
  napi_get_null(env, &argv[1]);
  napi_get_null(env, &argv[2]);
  if (!r->ok) {
    napi_create_string_utf8(env, r->err, NAPI_AUTO_LENGTH, &argv[1]);
  } else if (r->out.len > 0) {
    void *copy = NULL;
    if (napi_create_external_buffer(env, r->out.len, r->out.data, freeMem, NULL, &argv[2]) == napi_ok) {
      r->out.data = NULL; /* the Buffer owns it now */
    } else if (napi_create_buffer_copy(env, r->out.len, r->out.data, &copy, &argv[2]) != napi_ok) {
      napi_get_null(env, &argv[2]);
    }
  }
  napi_get_boolean(env, r->out.keyframe != 0, &argv[3]);
  napi_create_double(env, (double)r->pts, &argv[4]);
  napi_create_double(env, (double)r->us, &argv[5]);
  vresult_free(r);
  napi_call_function(env, undef, cb, 6, argv, NULL);
}

static int validSize(int w, int h) { return w >= 16 && h >= 16 && w <= 4096 && h <= 4096 && w % 2 == 0 && h % 2 == 0; }

/* encoderCreate(codec, width, height, bitrate, frameRate, threads, queueSize, keyint, cpuUsed, preset, callback) */
napi_value vEncoderCreate(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  int32_t w, h, bitrate, fps, threads, queue, keyint, cpuUsed;
  char err[160] = {0};
  if (!vargs(env, info, 11, argv)) return NULL;
  int codec = vcodec_id(env, argv[0]);
  venc_opts_t o;
  memset(&o, 0, sizeof o);
  if (codec == 0 || !vint(env, argv[1], &w, "width must be an integer") ||
      !vint(env, argv[2], &h, "height must be an integer") ||
      !vint(env, argv[3], &bitrate, "bitrate must be an integer") ||
      !vint(env, argv[4], &fps, "frameRate must be an integer") ||
      !vint(env, argv[5], &threads, "threads must be an integer") ||
      !vint(env, argv[6], &queue, "queueSize must be an integer") ||
      !vint(env, argv[7], &keyint, "keyframeInterval must be an integer") ||
      !vint(env, argv[8], &cpuUsed, "cpuUsed must be an integer") ||
      !vstr(env, argv[9], o.preset, sizeof o.preset, "preset must be a string"))
    return NULL;
  if (!validSize(w, h)) return vthrow(env, "KORUS_VIDEO_RANGE", "width and height must be even, 16..4096");
  if (bitrate < 10000 || bitrate > 100000000 || fps < 1 || fps > 240 || threads < 1 || threads > 16 || queue < 1 ||
      queue > 256 || keyint < 0 || cpuUsed < -16 || cpuUsed > 16)
    return vthrow(env, "KORUS_VIDEO_RANGE", "encoder option out of range");
  o.width = w;
  o.height = h;
  o.bitrate = bitrate;
  o.frameRate = fps;
  o.threads = threads;
  o.keyint = keyint;
  o.cpuUsed = cpuUsed;
  vcodec_t *c = (vcodec_t *)calloc(1, sizeof(vcodec_t));
  if (c == NULL) return vthrow(env, "KORUS_VIDEO", "out of memory");
  c->kind = VK_ENC;
  c->codec = codec;
  c->cap = queue;
  c->bitrate = bitrate;
  c->jobs = (job_t *)calloc((size_t)queue, sizeof(job_t));
  if (c->jobs == NULL || venc_open(&c->enc, codec, &o, err, sizeof err) < 0) {
    free(c->jobs);
    free(c);
    return vthrow(env, "KORUS_VIDEO_OPEN", err[0] ? err : "out of memory");
  }
  return vstart(env, c, argv[10], deliver);
}

/* encode(handle, id, frame: Uint8Array (packed I420), width, height, timestamp, keyframe) → dropped id or -1.
 * The frame is read in place by the video thread: the caller must not change it until the job reports. */
napi_value vEncode(napi_env env, napi_callback_info info) {
  napi_value argv[7], ret;
  double id, pts;
  int32_t w, h;
  bool key = false, isTyped = false;
  napi_typedarray_type type;
  size_t len = 0;
  void *data = NULL;
  if (!vargs(env, info, 7, argv)) return NULL;
  vcodec_t *c = vget(env, argv[0], VK_ENC, 0);
  if (c == NULL || !vnum(env, argv[1], &id, "id must be a number") ||
      !vint(env, argv[3], &w, "width must be an integer") || !vint(env, argv[4], &h, "height must be an integer") ||
      !vnum(env, argv[5], &pts, "timestamp must be a number"))
    return NULL;
  if (napi_get_value_bool(env, argv[6], &key) != napi_ok)
    return vthrow(env, "KORUS_VIDEO_TYPE", "keyframe must be a boolean");
  if (!validSize(w, h)) return vthrow(env, "KORUS_VIDEO_RANGE", "width and height must be even, 16..4096");
  if (napi_is_typedarray(env, argv[2], &isTyped) != napi_ok || !isTyped ||
      napi_get_typedarray_info(env, argv[2], &type, &len, &data, NULL, NULL) != napi_ok ||
      type != napi_uint8_array)
    return vthrow(env, "KORUS_VIDEO_TYPE", "frame must be a Uint8Array");
  if (len < i420_size(w, h)) return vthrow(env, "KORUS_VIDEO_RANGE", "frame shorter than width x height I420");
  job_t job;
  memset(&job, 0, sizeof job);
  job.id = (int64_t)id;
  job.pts = (int64_t)pts;
  job.in = (const uint8_t *)data;
  job.width = w;
  job.height = h;
  job.key = key ? 1 : 0;
  if (napi_create_reference(env, argv[2], 1, &job.input) != napi_ok)
    return vthrow(env, "KORUS_VIDEO", "napi_create_reference failed");
  napi_create_double(env, vqueue(env, c, &job), &ret);
  return ret;
}

/* forceKeyframe(handle): the next frame the thread encodes is a keyframe (however many sinks asked). */
napi_value vForceKeyframe(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  if (!vargs(env, info, 1, argv)) return NULL;
  vcodec_t *c = vget(env, argv[0], VK_ENC, 0);
  if (c == NULL) return NULL;
  pthread_mutex_lock(&c->mu);
  c->forceKey = 1;
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

/* setBitrate(handle, bps): applied before the next frame is encoded. */
napi_value vSetBitrate(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t bps;
  if (!vargs(env, info, 2, argv)) return NULL;
  vcodec_t *c = vget(env, argv[0], VK_ENC, 0);
  if (c == NULL || !vint(env, argv[1], &bps, "bitrate must be an integer")) return NULL;
  if (bps < 10000 || bps > 100000000) return vthrow(env, "KORUS_VIDEO_RANGE", "bitrate out of range");
  pthread_mutex_lock(&c->mu);
  c->bitrate = bps;
  pthread_mutex_unlock(&c->mu);
  return NULL;
}
