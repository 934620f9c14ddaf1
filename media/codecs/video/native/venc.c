/*
 * Encoders in real-time settings, for WebRTC and RTP peers:
 * - VP8/VP9 with libvpx: one pass CBR, deadline realtime, cpu-used (default 8), error resilient, no lag, no
 *   frame dropping, VP9 with cyclic-refresh AQ and row multithreading.
 * - H.264 with libx264: preset (default veryfast) + tune zerolatency, constrained baseline at level 3.1 (what
 *   WebRTC signals as profile-level-id 42e01f), no B-frames, Annex B with SPS/PPS repeated on every keyframe,
 *   ABR with a one-second VBV.
 * The timebase is 90 kHz (RTP video clock). libvpx takes each frame's duration from the source's timestamps; x264
 * rate-controls at the nominal frameRate (VFR input would hold every frame until the next one's timestamp). Frames
 * are encoded as they come, so the source's frame rate is kept. forceKey asks for a keyframe on this frame; a bitrate change reconfigures in place; a frame
 * of a new size reopens the encoder (the next frame is then a keyframe).
 */
#include "vcodec.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>
#include <x264.h>

struct venc {
  int codec;
  venc_opts_t o;
  int64_t lastPts;
  int havePts;
  /* libvpx */
  vpx_codec_ctx_t vpx;
  vpx_codec_enc_cfg_t cfg;
  int vpxOpen;
  /* libx264 */
  x264_t *x264;
  x264_param_t param;
};

static int vpxOpen(venc_t *e, char *err, size_t errlen) {
  vpx_codec_iface_t *iface = e->codec == VC_VP8 ? vpx_codec_vp8_cx() : vpx_codec_vp9_cx();
  vpx_codec_enc_cfg_t *c = &e->cfg;
  if (vpx_codec_enc_config_default(iface, c, 0) != VPX_CODEC_OK) {
    snprintf(err, errlen, "libvpx: no default configuration");
    return -1;
  }
  c->g_w = (unsigned)e->o.width;
  c->g_h = (unsigned)e->o.height;
  c->g_timebase.num = 1;
  c->g_timebase.den = 90000;
  c->g_threads = (unsigned)e->o.threads;
  c->g_lag_in_frames = 0;
  c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
  c->g_pass = VPX_RC_ONE_PASS;
  c->rc_end_usage = VPX_CBR;
  c->rc_dropframe_thresh = 0;
  c->rc_target_bitrate = (unsigned)(e->o.bitrate / 1000);
  c->rc_min_quantizer = 2;
  c->rc_max_quantizer = 56;
  c->rc_undershoot_pct = 100;
  c->rc_overshoot_pct = 15;
  c->rc_buf_initial_sz = 500;
  c->rc_buf_optimal_sz = 600;
  c->rc_buf_sz = 1000;
  c->kf_mode = VPX_KF_AUTO;
  if (e->o.keyint > 0) {
    c->kf_min_dist = 0;
    c->kf_max_dist = (unsigned)e->o.keyint;
  } else {
    c->kf_max_dist = 3000; /* keyframes on request; a periodic one every 100 s at 30 fps as a safety net */
  }
  vpx_codec_err_t r = vpx_codec_enc_init(&e->vpx, iface, c, 0);
  if (r != VPX_CODEC_OK) {
    snprintf(err, errlen, "libvpx: %s", vpx_codec_err_to_string(r));
    return -1;
  }
  e->vpxOpen = 1;
  vpx_codec_control(&e->vpx, VP8E_SET_CPUUSED, e->o.cpuUsed);
  vpx_codec_control(&e->vpx, VP8E_SET_NOISE_SENSITIVITY, 0);
  vpx_codec_control(&e->vpx, VP8E_SET_STATIC_THRESHOLD, 1);
  if (e->codec == VC_VP9) {
    vpx_codec_control(&e->vpx, VP9E_SET_AQ_MODE, 3u);
    vpx_codec_control(&e->vpx, VP9E_SET_ROW_MT, 1u);
  }
  return 0;
}

static int x264Open(venc_t *e, char *err, size_t errlen) {
  x264_param_t *p = &e->param;
  if (x264_param_default_preset(p, e->o.preset, "zerolatency") < 0) {
    snprintf(err, errlen, "libx264: unknown preset '%s'", e->o.preset);
    return -1;
  }
  p->i_log_level = X264_LOG_NONE;
  p->i_width = e->o.width;
  p->i_height = e->o.height;
  p->i_csp = X264_CSP_I420;
  p->i_threads = e->o.threads;
  p->i_fps_num = (uint32_t)e->o.frameRate;
  p->i_fps_den = 1;
  p->i_timebase_num = 1;
  p->i_timebase_den = 90000;
  p->b_vfr_input = 0; /* with VFR, x264 holds each frame until the next one's pts: a frame of delay */
  p->rc.i_rc_method = X264_RC_ABR;
  p->rc.i_bitrate = e->o.bitrate / 1000;
  p->rc.i_vbv_max_bitrate = e->o.bitrate / 1000;
  p->rc.i_vbv_buffer_size = e->o.bitrate / 1000;
  p->i_keyint_max = e->o.keyint > 0 ? e->o.keyint : X264_KEYINT_MAX_INFINITE;
  p->b_repeat_headers = 1;
  p->b_annexb = 1;
  p->i_level_idc = 31;
  if (x264_param_apply_profile(p, "baseline") < 0) {
    snprintf(err, errlen, "libx264: cannot apply the baseline profile");
    return -1;
  }
  e->x264 = x264_encoder_open(p);
  if (e->x264 == NULL) {
    snprintf(err, errlen, "libx264: x264_encoder_open failed (%dx%d)", e->o.width, e->o.height);
    return -1;
  }
  return 0;
}

static void closeCodec(venc_t *e) {
  if (e->vpxOpen) vpx_codec_destroy(&e->vpx);
  e->vpxOpen = 0;
  if (e->x264 != NULL) x264_encoder_close(e->x264);
  e->x264 = NULL;
}

static int openCodec(venc_t *e, char *err, size_t errlen) {
  return e->codec == VC_H264 ? x264Open(e, err, errlen) : vpxOpen(e, err, errlen);
}

int venc_open(venc_t **out, int codec, const venc_opts_t *o, char *err, size_t errlen) {
  venc_t *e = (venc_t *)calloc(1, sizeof(venc_t));
  if (e == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  e->codec = codec;
  e->o = *o;
  if (openCodec(e, err, errlen) < 0) {
    venc_close(e);
    return -1;
  }
  *out = e;
  return 0;
}

static int setBitrate(venc_t *e, int bitrate, char *err, size_t errlen) {
  e->o.bitrate = bitrate;
  if (e->codec == VC_H264) {
    e->param.rc.i_bitrate = bitrate / 1000;
    e->param.rc.i_vbv_max_bitrate = bitrate / 1000;
    e->param.rc.i_vbv_buffer_size = bitrate / 1000;
    if (x264_encoder_reconfig(e->x264, &e->param) < 0) {
      snprintf(err, errlen, "libx264: bitrate reconfiguration refused");
      return -1;
    }
    return 0;
  }
  e->cfg.rc_target_bitrate = (unsigned)(bitrate / 1000);
  vpx_codec_err_t r = vpx_codec_enc_config_set(&e->vpx, &e->cfg);
  if (r != VPX_CODEC_OK) {
    snprintf(err, errlen, "libvpx: %s", vpx_codec_err_to_string(r));
    return -1;
  }
  return 0;
}

static int encodeVpx(venc_t *e, const uint8_t *i420, int64_t pts, unsigned long duration, int forceKey,
                     venc_out_t *out, char *err, size_t errlen) {
  vpx_image_t img;
  if (vpx_img_wrap(&img, VPX_IMG_FMT_I420, (unsigned)e->o.width, (unsigned)e->o.height, 1, (unsigned char *)i420) ==
      NULL) {
    snprintf(err, errlen, "libvpx: cannot wrap the frame");
    return -1;
  }
  vpx_codec_err_t r = vpx_codec_encode(&e->vpx, &img, pts, duration, forceKey ? VPX_EFLAG_FORCE_KF : 0,
                                       VPX_DL_REALTIME);
  if (r != VPX_CODEC_OK) {
    snprintf(err, errlen, "libvpx: %s", vpx_codec_err_to_string(r));
    return -1;
  }
  vpx_codec_iter_t it = NULL;
  const vpx_codec_cx_pkt_t *pkt;
  while ((pkt = vpx_codec_get_cx_data(&e->vpx, &it)) != NULL) {
    if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
    uint8_t *grown = (uint8_t *)realloc(out->data, out->len + pkt->data.frame.sz);
    if (grown == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    out->data = grown;
    memcpy(out->data + out->len, pkt->data.frame.buf, pkt->data.frame.sz);
    out->len += pkt->data.frame.sz;
    if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) out->keyframe = 1;
  }
  return 0;
}

static int encodeX264(venc_t *e, const uint8_t *i420, int64_t pts, int forceKey, venc_out_t *out, char *err,
                      size_t errlen) {
  x264_picture_t pic, pout;
  x264_picture_init(&pic);
  int w = e->o.width, h = e->o.height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  pic.img.i_csp = X264_CSP_I420;
  pic.img.i_plane = 3;
  pic.img.plane[0] = (uint8_t *)i420;
  pic.img.plane[1] = (uint8_t *)i420 + (size_t)w * h;
  pic.img.plane[2] = (uint8_t *)i420 + (size_t)w * h + (size_t)cw * ch;
  pic.img.i_stride[0] = w;
  pic.img.i_stride[1] = cw;
  pic.img.i_stride[2] = cw;
  pic.i_pts = pts;
  pic.i_type = forceKey ? X264_TYPE_IDR : X264_TYPE_AUTO;
  x264_nal_t *nals = NULL;
  int nnal = 0;
  int size = x264_encoder_encode(e->x264, &nals, &nnal, &pic, &pout);
  if (size < 0) {
    snprintf(err, errlen, "libx264: encode failed");
    return -1;
  }
  if (size > 0) {
    out->data = (uint8_t *)malloc((size_t)size);
    if (out->data == NULL) {
      snprintf(err, errlen, "out of memory");
      return -1;
    }
    memcpy(out->data, nals[0].p_payload, (size_t)size); /* x264 lays a frame's NALs out contiguously */
    out->len = (size_t)size;
    out->keyframe = pout.b_keyframe ? 1 : 0;
  }
  return 0;
}

int venc_encode(venc_t *e, const uint8_t *i420, int width, int height, int64_t pts, int forceKey, int bitrate,
                venc_out_t *out, char *err, size_t errlen) {
  out->data = NULL;
  out->len = 0;
  out->keyframe = 0;
  if (width != e->o.width || height != e->o.height) {
    closeCodec(e);
    e->o.width = width;
    e->o.height = height;
    e->havePts = 0;
    if (openCodec(e, err, errlen) < 0) return -1;
  }
  if (bitrate > 0 && bitrate != e->o.bitrate && setBitrate(e, bitrate, err, errlen) < 0) return -1;
  /* libvpx wants increasing pts; a source whose timestamps go back (wrap, restart) restarts the count. */
  if (e->havePts && pts <= e->lastPts) pts = e->lastPts + 90000 / e->o.frameRate;
  unsigned long duration = e->havePts ? (unsigned long)(pts - e->lastPts) : (unsigned long)(90000 / e->o.frameRate);
  e->lastPts = pts;
  e->havePts = 1;
  if (e->codec == VC_H264) return encodeX264(e, i420, pts, forceKey, out, err, errlen);
  return encodeVpx(e, i420, pts, duration, forceKey, out, err, errlen);
}

void venc_close(venc_t *e) {
  if (e == NULL) return;
  closeCodec(e);
  free(e);
}
