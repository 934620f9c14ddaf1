/*
 * korus_codecs: a small N-API addon over Debian's libopus, opencore-amrnb (AMR-NB encoder and decoder),
 * opencore-amrwb (AMR-WB decoder) and vo-amrwbenc (AMR-WB encoder). Plain node_api.h, no C++.
 *
 * Handles are N-API externals carrying a type tag; a finalizer frees the codec state when the handle is
 * collected, and close(handle) frees it at once (idempotent). Every argument is checked here, even though the
 * TypeScript wrappers in media/codecs/ check them first: a wrong type, size, closed handle or garbage frame
 * throws a JS error (code "KORUS_CODEC") and never reaches the library. AMR frames are in the storage layout of
 * RFC 4867 §5.3 (one ToC byte, then the speech bits octet-aligned), which is what both AMR libraries speak.
 */
#define NAPI_VERSION 8
#include <node_api.h>
#include <opus.h>
#include <opencore-amrnb/interf_dec.h>
#include <opencore-amrnb/interf_enc.h>
#include <opencore-amrwb/dec_if.h>
#include <vo-amrwbenc/enc_if.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_OPUS_ENC = 1, K_OPUS_DEC, K_AMRNB_ENC, K_AMRNB_DEC, K_AMRWB_ENC, K_AMRWB_DEC };

typedef struct {
  int kind;
  int channels;
  int rate;
  int64_t extMem;
  void *st;
} handle_t;

static const napi_type_tag TAG = {0x6b6f7275735f636fULL, 0x646563735f763031ULL};

/* Storage-format frame sizes in bytes including the ToC byte, by frame type (0 = not accepted). */
static const int NB_SIZE[16] = {13, 14, 16, 18, 20, 21, 27, 32, 6, 0, 0, 0, 0, 0, 0, 1};
static const int WB_SIZE[16] = {18, 24, 33, 37, 41, 47, 51, 59, 61, 6, 0, 0, 0, 0, 1, 1};

static void freeState(handle_t *h) {
  if (h->st == NULL) return;
  switch (h->kind) {
    case K_OPUS_ENC: opus_encoder_destroy((OpusEncoder *)h->st); break;
    case K_OPUS_DEC: opus_decoder_destroy((OpusDecoder *)h->st); break;
    case K_AMRNB_ENC: Encoder_Interface_exit(h->st); break;
    case K_AMRNB_DEC: Decoder_Interface_exit(h->st); break;
    case K_AMRWB_ENC: E_IF_exit(h->st); break;
    case K_AMRWB_DEC: D_IF_exit(h->st); break;
    default: break;
  }
  h->st = NULL;
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  handle_t *h = (handle_t *)data;
  if (h->st != NULL) {
    int64_t ignored;
    napi_adjust_external_memory(env, -h->extMem, &ignored);
  }
  freeState(h);
  free(h);
}

static napi_value throwErr(napi_env env, const char *msg) {
  napi_throw_error(env, "KORUS_CODEC", msg);
  return NULL;
}
static napi_value throwType(napi_env env, const char *msg) {
  napi_throw_type_error(env, "KORUS_CODEC", msg);
  return NULL;
}
static napi_value throwRange(napi_env env, const char *msg) {
  napi_throw_range_error(env, "KORUS_CODEC", msg);
  return NULL;
}

#define CHECK(call) \
  do { if ((call) != napi_ok) { return throwErr(env, "N-API call failed: " #call); } } while (0)

static napi_value num(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return NULL;
  return r;
}

static int getArgs(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return 0;
  if (argc < want) {
    throwType(env, "missing arguments");
    return 0;
  }
  return 1;
}

static int getInt(napi_env env, napi_value v, int32_t *out, const char *what) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_int32(env, v, out) != napi_ok) {
    throwType(env, what);
    return 0;
  }
  return 1;
}

/* The live handle of the wanted kind, or NULL with a JS exception pending. */
static handle_t *getHandle(napi_env env, napi_value v, int kind) {
  napi_valuetype t;
  bool tagged = false;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, v, &TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    throwType(env, "not a codec handle");
    return NULL;
  }
  handle_t *h = (handle_t *)p;
  if (kind != 0 && h->kind != kind) {
    throwType(env, "codec handle of the wrong kind");
    return NULL;
  }
  if (h->st == NULL) {
    throwErr(env, "codec is closed");
    return NULL;
  }
  return h;
}

/* Data pointer and element count of a typed array of the wanted type. */
static int getTyped(napi_env env, napi_value v, napi_typedarray_type want, void **data, size_t *len, const char *what) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL) != napi_ok || type != want) {
    throwType(env, what);
    return 0;
  }
  return 1;
}

static napi_value wrap(napi_env env, int kind, void *st, int rate, int channels, int64_t extMem) {
  handle_t *h = (handle_t *)calloc(1, sizeof(handle_t));
  napi_value r;
  if (h == NULL) return throwErr(env, "out of memory");
  h->kind = kind;
  h->st = st;
  h->rate = rate;
  h->channels = channels;
  h->extMem = extMem;
  if (napi_create_external(env, h, finalize, NULL, &r) != napi_ok) {
    freeState(h);
    free(h);
    return throwErr(env, "napi_create_external failed");
  }
  napi_type_tag_object(env, r, &TAG);
  int64_t ignored;
  napi_adjust_external_memory(env, extMem, &ignored);
  return r;
}

/* close(handle): frees the state now; later calls on the handle throw "codec is closed". Idempotent. */
static napi_value Close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  napi_valuetype t;
  bool tagged = false;
  void *p = NULL;
  if (!getArgs(env, info, 1, argv)) return NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external ||
      napi_check_object_type_tag(env, argv[0], &TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, argv[0], &p) != napi_ok || p == NULL) {
    return throwType(env, "not a codec handle");
  }
  handle_t *h = (handle_t *)p;
  if (h->st != NULL) {
    int64_t ignored;
    napi_adjust_external_memory(env, -h->extMem, &ignored);
    freeState(h);
  }
  return NULL;
}

/* ---------------------------------------------------------------- Opus */

static int validOpusRate(int r) { return r == 8000 || r == 12000 || r == 16000 || r == 24000 || r == 48000; }

/* opusEncoderCreate(rate, channels, application: 0 voip | 1 audio | 2 restricted-lowdelay) */
static napi_value OpusEncoderCreate(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t rate, channels, app;
  if (!getArgs(env, info, 3, argv) || !getInt(env, argv[0], &rate, "rate must be a number") ||
      !getInt(env, argv[1], &channels, "channels must be a number") ||
      !getInt(env, argv[2], &app, "application must be a number"))
    return NULL;
  if (!validOpusRate(rate)) return throwRange(env, "Opus sample rate must be 8000, 12000, 16000, 24000 or 48000");
  if (channels != 1 && channels != 2) return throwRange(env, "Opus channels must be 1 or 2");
  int application = app == 1 ? OPUS_APPLICATION_AUDIO : app == 2 ? OPUS_APPLICATION_RESTRICTED_LOWDELAY
                                                                  : OPUS_APPLICATION_VOIP;
  int err = 0;
  OpusEncoder *e = opus_encoder_create(rate, channels, application, &err);
  if (e == NULL || err != OPUS_OK) return throwErr(env, opus_strerror(err));
  return wrap(env, K_OPUS_ENC, e, rate, channels, opus_encoder_get_size(channels));
}

/* opusEncoderSet(handle, key, value). Keys: 0 bitrate, 1 complexity, 2 dtx, 3 inband FEC, 4 packet loss %,
 * 5 vbr, 6 max bandwidth (OPUS_BANDWIDTH_*), 7 signal (OPUS_SIGNAL_* or OPUS_AUTO). */
static napi_value OpusEncoderSet(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  int32_t key, value;
  if (!getArgs(env, info, 3, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_OPUS_ENC);
  if (h == NULL || !getInt(env, argv[1], &key, "key must be a number") ||
      !getInt(env, argv[2], &value, "value must be a number"))
    return NULL;
  OpusEncoder *e = (OpusEncoder *)h->st;
  int r;
  switch (key) {
    case 0: r = opus_encoder_ctl(e, OPUS_SET_BITRATE(value)); break;
    case 1: r = opus_encoder_ctl(e, OPUS_SET_COMPLEXITY(value)); break;
    case 2: r = opus_encoder_ctl(e, OPUS_SET_DTX(value)); break;
    case 3: r = opus_encoder_ctl(e, OPUS_SET_INBAND_FEC(value)); break;
    case 4: r = opus_encoder_ctl(e, OPUS_SET_PACKET_LOSS_PERC(value)); break;
    case 5: r = opus_encoder_ctl(e, OPUS_SET_VBR(value)); break;
    case 6: r = opus_encoder_ctl(e, OPUS_SET_MAX_BANDWIDTH(value)); break;
    case 7: r = opus_encoder_ctl(e, OPUS_SET_SIGNAL(value)); break;
    default: return throwRange(env, "unknown Opus encoder setting");
  }
  if (r != OPUS_OK) return throwRange(env, opus_strerror(r));
  return NULL;
}

/* opusEncoderGet(handle, key): 0 bitrate, 1 complexity, 2 dtx, 3 inband FEC, 4 packet loss %, 8 lookahead,
 * 9 "in DTX" (1 when the last frame was a DTX frame). */
static napi_value OpusEncoderGet(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t key;
  if (!getArgs(env, info, 2, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_OPUS_ENC);
  if (h == NULL || !getInt(env, argv[1], &key, "key must be a number")) return NULL;
  OpusEncoder *e = (OpusEncoder *)h->st;
  opus_int32 v = 0;
  int r;
  switch (key) {
    case 0: r = opus_encoder_ctl(e, OPUS_GET_BITRATE(&v)); break;
    case 1: r = opus_encoder_ctl(e, OPUS_GET_COMPLEXITY(&v)); break;
    case 2: r = opus_encoder_ctl(e, OPUS_GET_DTX(&v)); break;
    case 3: r = opus_encoder_ctl(e, OPUS_GET_INBAND_FEC(&v)); break;
    case 4: r = opus_encoder_ctl(e, OPUS_GET_PACKET_LOSS_PERC(&v)); break;
    case 8: r = opus_encoder_ctl(e, OPUS_GET_LOOKAHEAD(&v)); break;
    case 9: r = opus_encoder_ctl(e, OPUS_GET_IN_DTX(&v)); break;
    default: return throwRange(env, "unknown Opus encoder setting");
  }
  if (r != OPUS_OK) return throwRange(env, opus_strerror(r));
  return num(env, v);
}

/* opusEncode(handle, pcm: Int16Array, out: Uint8Array) -> bytes written. pcm holds one frame (2.5–60 ms). */
static napi_value OpusEncode(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  void *pcm, *out;
  size_t n, outLen;
  if (!getArgs(env, info, 3, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_OPUS_ENC);
  if (h == NULL || !getTyped(env, argv[1], napi_int16_array, &pcm, &n, "pcm must be an Int16Array") ||
      !getTyped(env, argv[2], napi_uint8_array, &out, &outLen, "out must be a Uint8Array"))
    return NULL;
  if (n % (size_t)h->channels != 0) return throwRange(env, "pcm length is not a multiple of channels");
  size_t frame = n / (size_t)h->channels;
  /* Valid Opus frame durations: 2.5, 5, 10, 20, 40, 60 ms. */
  size_t unit = (size_t)h->rate / 400;
  if (frame != unit && frame != 2 * unit && frame != 4 * unit && frame != 8 * unit && frame != 16 * unit &&
      frame != 24 * unit)
    return throwRange(env, "pcm is not one Opus frame of 2.5, 5, 10, 20, 40 or 60 ms");
  if (outLen < 1 || outLen > 0x7fffffff) return throwRange(env, "out buffer too small");
  opus_int32 r = opus_encode((OpusEncoder *)h->st, (const opus_int16 *)pcm, (int)frame, (unsigned char *)out,
                             (opus_int32)outLen);
  if (r < 0) return throwErr(env, opus_strerror(r));
  return num(env, r);
}

/* opusDecoderCreate(rate, channels) */
static napi_value OpusDecoderCreate(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  int32_t rate, channels;
  if (!getArgs(env, info, 2, argv) || !getInt(env, argv[0], &rate, "rate must be a number") ||
      !getInt(env, argv[1], &channels, "channels must be a number"))
    return NULL;
  if (!validOpusRate(rate)) return throwRange(env, "Opus sample rate must be 8000, 12000, 16000, 24000 or 48000");
  if (channels != 1 && channels != 2) return throwRange(env, "Opus channels must be 1 or 2");
  int err = 0;
  OpusDecoder *d = opus_decoder_create(rate, channels, &err);
  if (d == NULL || err != OPUS_OK) return throwErr(env, opus_strerror(err));
  return wrap(env, K_OPUS_DEC, d, rate, channels, opus_decoder_get_size(channels));
}

/* opusDecode(handle, data: Uint8Array | null, out: Int16Array, fec: boolean) -> samples per channel.
 * data null = packet loss concealment for out.length/channels samples; fec = decode the in-band FEC of `data`
 * (the packet after a lost one) into out, whose length then sets the duration to recover. */
static napi_value OpusDecode(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  void *data = NULL, *out;
  size_t len = 0, outLen;
  napi_valuetype t;
  bool fec = false;
  if (!getArgs(env, info, 4, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_OPUS_DEC);
  if (h == NULL) return NULL;
  CHECK(napi_typeof(env, argv[1], &t));
  if (t != napi_null && !getTyped(env, argv[1], napi_uint8_array, &data, &len, "data must be a Uint8Array or null"))
    return NULL;
  if (!getTyped(env, argv[2], napi_int16_array, &out, &outLen, "out must be an Int16Array")) return NULL;
  if (napi_get_value_bool(env, argv[3], &fec) != napi_ok) return throwType(env, "fec must be a boolean");
  if (t != napi_null && (len == 0 || len > 1275 * 3)) return throwRange(env, "Opus packet must be 1..3825 bytes");
  size_t frame = outLen / (size_t)h->channels;
  if (frame == 0 || frame > (size_t)h->rate * 120 / 1000) return throwRange(env, "out must hold 1..120 ms");
  if (t == napi_null && fec) return throwRange(env, "FEC decoding needs the next packet");
  int r = opus_decode((OpusDecoder *)h->st, (const unsigned char *)data, (opus_int32)len, (opus_int16 *)out,
                      (int)frame, fec ? 1 : 0);
  if (r < 0) return throwErr(env, opus_strerror(r));
  return num(env, r);
}

/* opusPacketSamples(data: Uint8Array, rate) -> samples per channel in the packet at rate (throws if invalid). */
static napi_value OpusPacketSamples(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  void *data;
  size_t len;
  int32_t rate;
  if (!getArgs(env, info, 2, argv) ||
      !getTyped(env, argv[0], napi_uint8_array, &data, &len, "data must be a Uint8Array") ||
      !getInt(env, argv[1], &rate, "rate must be a number"))
    return NULL;
  if (!validOpusRate(rate)) return throwRange(env, "bad Opus sample rate");
  if (len == 0) return throwRange(env, "empty Opus packet");
  int r = opus_packet_get_nb_samples((const unsigned char *)data, (opus_int32)len, rate);
  if (r < 0) return throwErr(env, opus_strerror(r));
  return num(env, r);
}

/* ---------------------------------------------------------------- AMR */

/* amrnbEncoderCreate(dtx: boolean) */
static napi_value AmrnbEncoderCreate(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  bool dtx = false;
  if (!getArgs(env, info, 1, argv)) return NULL;
  if (napi_get_value_bool(env, argv[0], &dtx) != napi_ok) return throwType(env, "dtx must be a boolean");
  void *st = Encoder_Interface_init(dtx ? 1 : 0);
  if (st == NULL) return throwErr(env, "Encoder_Interface_init failed");
  return wrap(env, K_AMRNB_ENC, st, 8000, 1, 8192);
}

/* amrnbEncode(handle, mode 0..7, pcm: Int16Array(160), out: Uint8Array(>=32)) -> bytes (storage frame). */
static napi_value AmrnbEncode(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  int32_t mode;
  void *pcm, *out;
  size_t n, outLen;
  if (!getArgs(env, info, 4, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_AMRNB_ENC);
  if (h == NULL || !getInt(env, argv[1], &mode, "mode must be a number") ||
      !getTyped(env, argv[2], napi_int16_array, &pcm, &n, "pcm must be an Int16Array") ||
      !getTyped(env, argv[3], napi_uint8_array, &out, &outLen, "out must be a Uint8Array"))
    return NULL;
  if (mode < 0 || mode > 7) return throwRange(env, "AMR-NB mode must be 0..7");
  if (n != 160) return throwRange(env, "AMR-NB frames are 160 samples");
  if (outLen < 32) return throwRange(env, "out must hold 32 bytes");
  int r = Encoder_Interface_Encode(h->st, (enum Mode)mode, (const short *)pcm, (unsigned char *)out, 0);
  if (r <= 0 || r > 32) return throwErr(env, "AMR-NB encoder failed");
  return num(env, r);
}

static napi_value AmrnbDecoderCreate(napi_env env, napi_callback_info info) {
  (void)info;
  void *st = Decoder_Interface_init();
  if (st == NULL) return throwErr(env, "Decoder_Interface_init failed");
  return wrap(env, K_AMRNB_DEC, st, 8000, 1, 8192);
}

/* amrnbDecode(handle, frame: Uint8Array (storage frame: ToC + bits), out: Int16Array(160)).
 * Frame type 15 (NO_DATA) runs the decoder's concealment / comfort noise. */
static napi_value AmrnbDecode(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  void *in, *out;
  size_t len, n;
  if (!getArgs(env, info, 3, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_AMRNB_DEC);
  if (h == NULL || !getTyped(env, argv[1], napi_uint8_array, &in, &len, "frame must be a Uint8Array") ||
      !getTyped(env, argv[2], napi_int16_array, &out, &n, "out must be an Int16Array"))
    return NULL;
  if (n != 160) return throwRange(env, "AMR-NB frames are 160 samples");
  if (len < 1) return throwRange(env, "empty AMR-NB frame");
  const unsigned char *b = (const unsigned char *)in;
  int ft = (b[0] >> 3) & 0x0f;
  if (NB_SIZE[ft] == 0) return throwRange(env, "AMR-NB frame type not accepted (9..14)");
  if ((int)len < NB_SIZE[ft]) return throwRange(env, "AMR-NB frame shorter than its frame type needs");
  /* Copy into a padded buffer: the library may read a little past the nominal size. */
  unsigned char buf[64];
  memset(buf, 0, sizeof buf);
  memcpy(buf, b, (size_t)NB_SIZE[ft]);
  Decoder_Interface_Decode(h->st, buf, (short *)out, 0);
  return NULL;
}

static napi_value AmrwbEncoderCreate(napi_env env, napi_callback_info info) {
  (void)info;
  void *st = E_IF_init();
  if (st == NULL) return throwErr(env, "E_IF_init failed");
  return wrap(env, K_AMRWB_ENC, st, 16000, 1, 16384);
}

/* amrwbEncode(handle, mode 0..8, pcm: Int16Array(320), out: Uint8Array(>=61), dtx: boolean) -> bytes. */
static napi_value AmrwbEncode(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  int32_t mode;
  void *pcm, *out;
  size_t n, outLen;
  bool dtx = false;
  if (!getArgs(env, info, 5, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_AMRWB_ENC);
  if (h == NULL || !getInt(env, argv[1], &mode, "mode must be a number") ||
      !getTyped(env, argv[2], napi_int16_array, &pcm, &n, "pcm must be an Int16Array") ||
      !getTyped(env, argv[3], napi_uint8_array, &out, &outLen, "out must be a Uint8Array"))
    return NULL;
  if (napi_get_value_bool(env, argv[4], &dtx) != napi_ok) return throwType(env, "dtx must be a boolean");
  if (mode < 0 || mode > 8) return throwRange(env, "AMR-WB mode must be 0..8");
  if (n != 320) return throwRange(env, "AMR-WB frames are 320 samples");
  if (outLen < 61) return throwRange(env, "out must hold 61 bytes");
  unsigned char buf[128];
  int r = E_IF_encode(h->st, mode, (const short *)pcm, buf, dtx ? 1 : 0);
  if (r <= 0 || r > 61) return throwErr(env, "AMR-WB encoder failed");
  memcpy(out, buf, (size_t)r);
  return num(env, r);
}

static napi_value AmrwbDecoderCreate(napi_env env, napi_callback_info info) {
  (void)info;
  void *st = D_IF_init();
  if (st == NULL) return throwErr(env, "D_IF_init failed");
  return wrap(env, K_AMRWB_DEC, st, 16000, 1, 16384);
}

/* amrwbDecode(handle, frame: Uint8Array (storage frame), out: Int16Array(320)). FT 14/15 conceal. */
static napi_value AmrwbDecode(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  void *in, *out;
  size_t len, n;
  if (!getArgs(env, info, 3, argv)) return NULL;
  handle_t *h = getHandle(env, argv[0], K_AMRWB_DEC);
  if (h == NULL || !getTyped(env, argv[1], napi_uint8_array, &in, &len, "frame must be a Uint8Array") ||
      !getTyped(env, argv[2], napi_int16_array, &out, &n, "out must be an Int16Array"))
    return NULL;
  if (n != 320) return throwRange(env, "AMR-WB frames are 320 samples");
  if (len < 1) return throwRange(env, "empty AMR-WB frame");
  const unsigned char *b = (const unsigned char *)in;
  int ft = (b[0] >> 3) & 0x0f;
  if (WB_SIZE[ft] == 0) return throwRange(env, "AMR-WB frame type not accepted (10..13)");
  if ((int)len < WB_SIZE[ft]) return throwRange(env, "AMR-WB frame shorter than its frame type needs");
  unsigned char buf[128];
  memset(buf, 0, sizeof buf);
  memcpy(buf, b, (size_t)WB_SIZE[ft]);
  D_IF_decode(h->st, buf, (short *)out, _good_frame);
  return NULL;
}

/* ---------------------------------------------------------------- module */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusEncoderCreate", NULL, OpusEncoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusEncoderSet", NULL, OpusEncoderSet, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusEncoderGet", NULL, OpusEncoderGet, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusEncode", NULL, OpusEncode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusDecoderCreate", NULL, OpusDecoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusDecode", NULL, OpusDecode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"opusPacketSamples", NULL, OpusPacketSamples, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrnbEncoderCreate", NULL, AmrnbEncoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrnbEncode", NULL, AmrnbEncode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrnbDecoderCreate", NULL, AmrnbDecoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrnbDecode", NULL, AmrnbDecode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrwbEncoderCreate", NULL, AmrwbEncoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrwbEncode", NULL, AmrwbEncode, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrwbDecoderCreate", NULL, AmrwbDecoderCreate, NULL, NULL, NULL, napi_enumerable, NULL},
    {"amrwbDecode", NULL, AmrwbDecode, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
