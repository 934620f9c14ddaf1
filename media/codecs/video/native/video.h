/* Shared state of korus_video's N-API side: video.c (lifetime, thread, queue), vdecjs.c, vencjs.c. */
#ifndef KORUS_VIDEO_H
#define KORUS_VIDEO_H
#define NAPI_VERSION 8
#include <node_api.h>
#include <pthread.h>
#include <stdint.h>
#include "vcodec.h"

enum { VK_DEC = 1, VK_ENC = 2 };
#define VMAX_FRAMES 4 /* decoded frames delivered per access unit at most */

typedef struct {
  int64_t id;
  int64_t pts;
  uint8_t *pkt; /* decoder: padded copy of the access unit */
  size_t len;
  napi_ref input; /* encoder: the caller's Uint8Array, held until the job is done */
  const uint8_t *in;
  int width, height;
  int key;
} job_t;

typedef struct {
  int64_t id;
  int ok;
  char err[160];
  int nframes;
  vdec_frame_t frames[VMAX_FRAMES];
  venc_out_t out;
  int64_t pts;
  napi_ref input;
  int64_t us;
} result_t;

typedef struct {
  uint8_t *mem;
  size_t cap;
  napi_ref ref; /* the JS ArrayBuffer over mem, once delivered (its finalizer frees mem) */
  int busy;     /* filled by the thread, not yet handed back by JS */
} slot_t;

typedef struct retired {
  uint8_t *mem;
  napi_ref ref;
  struct retired *next;
} retired_t;

typedef struct {
  int kind;
  int codec;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pthread_t thread;
  int threadStarted;
  job_t *jobs; /* ring of cap jobs */
  int cap, head, count;
  int stopping;
  int forceKey;
  int bitrate;
  int64_t dropped, processed, errors, poolDrops, busyUs;
  napi_threadsafe_function tsfn;
  int inflight; /* JS thread only */
  int externalAlive, tsfnAlive;
  slot_t *pool;
  int poolSize;
  retired_t *retired;
  vdec_t *dec;
  venc_t *enc;
} vcodec_t;

/* video.c */
napi_value vthrow(napi_env env, const char *code, const char *msg);
vcodec_t *vget(napi_env env, napi_value v, int kind, int allowClosed);
napi_value vstart(napi_env env, vcodec_t *c, napi_value callback, napi_threadsafe_function_call_js callJs);
double vqueue(napi_env env, vcodec_t *c, const job_t *job);
void vdone(napi_env env, vcodec_t *c);
void vretire(napi_env env, vcodec_t *c);
int vargs(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
int vint(napi_env env, napi_value v, int32_t *out, const char *what);
int vnum(napi_env env, napi_value v, double *out, const char *what);
int vstr(napi_env env, napi_value v, char *buf, size_t len, const char *what);
int vcodec_id(napi_env env, napi_value v);
void vjob_clear(napi_env env, job_t *j);
void vresult_free(result_t *r);
void vcodec_free_state(vcodec_t *c);
void vcodec_global_init(void);

/* vdecjs.c / vencjs.c: the codec work of one job, on the video thread (NULL: nothing to report) */
result_t *vdec_run(vcodec_t *c, job_t *job);
result_t *venc_run(vcodec_t *c, job_t *job, int forceKey, int bitrate);

napi_value vDecoderCreate(napi_env env, napi_callback_info info);
napi_value vDecode(napi_env env, napi_callback_info info);
napi_value vFrameRelease(napi_env env, napi_callback_info info);
napi_value vEncoderCreate(napi_env env, napi_callback_info info);
napi_value vEncode(napi_env env, napi_callback_info info);
napi_value vForceKeyframe(napi_env env, napi_callback_info info);
napi_value vSetBitrate(napi_env env, napi_callback_info info);
#endif
