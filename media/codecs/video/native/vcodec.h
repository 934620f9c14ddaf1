/*
 * The codec layer of korus_video (no N-API here): libavcodec decoders (VP8, VP9, H.264) with libswscale
 * conversion to packed I420, and the libvpx (VP8/VP9) and libx264 (H.264) encoders in real-time settings.
 * Every function here runs on the codec instance's own video thread (video.c), except the *_open calls, which
 * run once on the JS thread so that a codec that cannot open is reported at creation.
 */
#ifndef KORUS_VCODEC_H
#define KORUS_VCODEC_H
#include <stddef.h>
#include <stdint.h>

enum vcodec_id { VC_VP8 = 1, VC_VP9 = 2, VC_H264 = 3 };

/* Bytes of a packed I420 frame (Y w*h, then U and V of ceil(w/2)*ceil(h/2) each). */
static inline size_t i420_size(int w, int h) {
  size_t cw = (size_t)(w + 1) / 2, ch = (size_t)(h + 1) / 2;
  return (size_t)w * (size_t)h + 2 * cw * ch;
}

/* ---------------------------------------------------------------- decoder */

typedef struct vdec vdec_t;

typedef struct {
  int threads;    /* libavcodec slice threads (1 = none) */
  int outWidth;   /* 0 = keep the source size */
  int outHeight;
  int64_t maxPixels; /* the largest frame a (hostile) stream may ask for */
} vdec_opts_t;

/* The destination of one decoded frame: vdec asks for it once it knows the frame's size. */
typedef uint8_t *(*vdec_slot_fn)(void *ctx, size_t bytes, int *slot);

typedef struct {
  int slot; /* -1: no free pool buffer, the frame was decoded but not delivered */
  int width, height;
  int64_t pts;
} vdec_frame_t;

int vdec_open(vdec_t **out, int codec, const vdec_opts_t *o, char *err, size_t errlen);
/* Decodes one access unit (data must have AV_INPUT_BUFFER_PADDING_SIZE zero bytes after len). Writes at most
 * maxFrames frames; returns the count, or -1 with err set for a bitstream the decoder refused. */
int vdec_decode(vdec_t *d, const uint8_t *data, size_t len, int64_t pts, vdec_slot_fn slotFn, void *slotCtx,
                vdec_frame_t *frames, int maxFrames, char *err, size_t errlen);
void vdec_close(vdec_t *d);
size_t vdec_padding(void);

/* ---------------------------------------------------------------- encoder */

typedef struct venc venc_t;

typedef struct {
  int width, height;
  int bitrate;   /* bits per second */
  int frameRate; /* the source's nominal rate, for rate control until timestamps tell */
  int threads;
  int keyint;    /* frames between periodic keyframes; 0 = only on request (and the codec's default cap) */
  int cpuUsed;   /* libvpx speed (VP8 -16..16, VP9 -9..9) */
  char preset[16]; /* x264 preset */
} venc_opts_t;

typedef struct {
  uint8_t *data; /* malloc'd, the caller owns it */
  size_t len;
  int keyframe;
} venc_out_t;

int venc_open(venc_t **out, int codec, const venc_opts_t *o, char *err, size_t errlen);
/* Encodes one packed I420 frame of width x height (the encoder reopens at a new size). bitrate > 0 changes the
 * target first. Returns 0 (out->len may be 0 when the codec emitted nothing) or -1 with err set. */
int venc_encode(venc_t *e, const uint8_t *i420, int width, int height, int64_t pts, int forceKey, int bitrate,
                venc_out_t *out, char *err, size_t errlen);
void venc_close(venc_t *e);

#endif
