/*
 * Decoders: libavcodec's native VP8, VP9 and H.264 decoders through the send/receive API (FFmpeg 5.1), with the
 * output written as packed I420 into a buffer of the caller's pool (av_image_copy_to_buffer when the frame is
 * already yuv420p at the wanted size, libswscale otherwise: full-range, 4:2:2/4:4:4 and 10-bit sources, scaling).
 * A stream that asks for more than maxPixels is refused by libavcodec (hostile input: no huge allocation).
 */
#include "vcodec.h"
#include <libavcodec/avcodec.h>
#include <libavutil/imgutils.h>
#include <libswscale/swscale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct vdec {
  AVCodecContext *ctx;
  AVPacket *pkt;
  AVFrame *frame;
  struct SwsContext *sws;
  int outWidth, outHeight;
};

size_t vdec_padding(void) { return AV_INPUT_BUFFER_PADDING_SIZE; }

static void averr(int code, const char *what, char *err, size_t errlen) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {0};
  av_strerror(code, buf, sizeof buf);
  snprintf(err, errlen, "%s: %s", what, buf);
}

int vdec_open(vdec_t **out, int codec, const vdec_opts_t *o, char *err, size_t errlen) {
  enum AVCodecID id = codec == VC_VP8 ? AV_CODEC_ID_VP8 : codec == VC_VP9 ? AV_CODEC_ID_VP9 : AV_CODEC_ID_H264;
  const AVCodec *c = avcodec_find_decoder(id);
  if (c == NULL) {
    snprintf(err, errlen, "libavcodec has no decoder for this codec");
    return -1;
  }
  vdec_t *d = (vdec_t *)calloc(1, sizeof(vdec_t));
  if (d == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  d->ctx = avcodec_alloc_context3(c);
  d->pkt = av_packet_alloc();
  d->frame = av_frame_alloc();
  if (d->ctx == NULL || d->pkt == NULL || d->frame == NULL) {
    vdec_close(d);
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  d->ctx->thread_count = o->threads > 0 ? o->threads : 1;
  d->ctx->thread_type = FF_THREAD_SLICE; /* frame threads would add a frame of delay per thread */
  d->ctx->flags |= AV_CODEC_FLAG_LOW_DELAY;
  d->ctx->max_pixels = o->maxPixels;
  d->outWidth = o->outWidth;
  d->outHeight = o->outHeight;
  int r = avcodec_open2(d->ctx, c, NULL);
  if (r < 0) {
    averr(r, "avcodec_open2", err, errlen);
    vdec_close(d);
    return -1;
  }
  *out = d;
  return 0;
}

/* Writes d->frame as packed I420 of w x h into dst. */
static int convert(vdec_t *d, uint8_t *dst, int w, int h, char *err, size_t errlen) {
  AVFrame *f = d->frame;
  uint8_t *planes[4] = {dst, dst + (size_t)w * h, dst + (size_t)w * h + (size_t)((w + 1) / 2) * ((h + 1) / 2), NULL};
  int strides[4] = {w, (w + 1) / 2, (w + 1) / 2, 0};
  if (f->format == AV_PIX_FMT_YUV420P && f->width == w && f->height == h) {
    av_image_copy(planes, strides, (const uint8_t **)f->data, f->linesize, AV_PIX_FMT_YUV420P, w, h);
    return 0;
  }
  d->sws = sws_getCachedContext(d->sws, f->width, f->height, (enum AVPixelFormat)f->format, w, h,
                                AV_PIX_FMT_YUV420P, SWS_BILINEAR, NULL, NULL, NULL);
  if (d->sws == NULL) {
    snprintf(err, errlen, "libswscale cannot convert pixel format %d to I420", f->format);
    return -1;
  }
  sws_scale(d->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, planes, strides);
  return 0;
}

int vdec_decode(vdec_t *d, const uint8_t *data, size_t len, int64_t pts, vdec_slot_fn slotFn, void *slotCtx,
                vdec_frame_t *frames, int maxFrames, char *err, size_t errlen) {
  av_packet_unref(d->pkt);
  d->pkt->data = (uint8_t *)data; /* not refcounted: libavcodec copies what it keeps */
  d->pkt->size = (int)len;
  d->pkt->pts = pts;
  int r = avcodec_send_packet(d->ctx, d->pkt);
  d->pkt->data = NULL;
  d->pkt->size = 0;
  if (r < 0 && r != AVERROR(EAGAIN)) {
    averr(r, "decode", err, errlen);
    return -1;
  }
  int n = 0;
  for (;;) {
    r = avcodec_receive_frame(d->ctx, d->frame);
    if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) break;
    if (r < 0) {
      averr(r, "decode", err, errlen);
      return n > 0 ? n : -1;
    }
    AVFrame *f = d->frame;
    int w = d->outWidth > 0 ? d->outWidth : f->width;
    int h = d->outHeight > 0 ? d->outHeight : f->height;
    if (n < maxFrames && w > 0 && h > 0) {
      vdec_frame_t *o = &frames[n++];
      o->width = w;
      o->height = h;
      o->pts = f->pts == AV_NOPTS_VALUE ? pts : f->pts;
      o->slot = -1;
      uint8_t *dst = slotFn(slotCtx, i420_size(w, h), &o->slot);
      if (dst != NULL && convert(d, dst, w, h, err, errlen) < 0) {
        av_frame_unref(f);
        return -1;
      }
    }
    av_frame_unref(f);
  }
  return n;
}

void vdec_close(vdec_t *d) {
  if (d == NULL) return;
  avcodec_free_context(&d->ctx);
  av_packet_free(&d->pkt);
  av_frame_free(&d->frame);
  sws_freeContext(d->sws);
  free(d);
}
