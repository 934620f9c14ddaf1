/**
 * ITU-T G.722 (SB-ADPCM, 64 kbit/s mode) in TypeScript: 16 kHz PCM, one byte per two samples (2-bit high band,
 * 6-bit low band). Integer arithmetic follows the ITU-T fixed-point algorithm (QMF of Table 11, block 4 adaptive
 * predictors, quantiser adaptation), so the output is bit-exact with ffmpeg's g722 encoder and decoder
 * (test/unit/media/codecs/g722.test.ts checks both directions against Debian's ffmpeg). Scaling follows ffmpeg:
 * 16-bit input, 16-bit output.
 *
 * RTP note (RFC 3551 §4.5.2): G.722's RTP clock rate is 8000 although it samples at 16 kHz, so a 20 ms packet
 * advances the timestamp by 160 and carries 160 bytes for 320 samples.
 *
 * Loss: the decoder conceals with the waveform PLC of plc.ts on its 16 kHz output; the ADPCM state carries on from
 * the last good frame.
 */
import { CodecClosedError, CodecError } from "./errors.js";
import { WaveformPlc } from "./plc.js";
import type { AudioDecoder, AudioEncoder } from "./types.js";

const INV_LOG2 = Int32Array.of(
  2048,
  2093,
  2139,
  2186,
  2233,
  2282,
  2332,
  2383,
  2435,
  2489,
  2543,
  2599,
  2656,
  2714,
  2774,
  2834,
  2896,
  2960,
  3025,
  3091,
  3158,
  3228,
  3298,
  3371,
  3444,
  3520,
  3597,
  3676,
  3756,
  3838,
  3922,
  4008,
);
const HIGH_LOG_STEP = Int32Array.of(798, -214);
const HIGH_INV_QUANT = Int32Array.of(-926, -202, 926, 202);
const LOW_LOG_STEP = Int32Array.of(-60, 3042, 1198, 538, 334, 172, 58, -30, 3042, 1198, 538, 334, 172, 58, -30, -60);
const LOW_INV_QUANT4 = Int32Array.of(
  0,
  -2557,
  -1612,
  -1121,
  -786,
  -530,
  -323,
  -150,
  2557,
  1612,
  1121,
  786,
  530,
  323,
  150,
  0,
);
const LOW_INV_QUANT6 = Int32Array.of(
  -17,
  -17,
  -17,
  -17,
  -3101,
  -2738,
  -2376,
  -2088,
  -1873,
  -1689,
  -1535,
  -1399,
  -1279,
  -1170,
  -1072,
  -982,
  -899,
  -822,
  -750,
  -682,
  -618,
  -558,
  -501,
  -447,
  -396,
  -347,
  -300,
  -254,
  -211,
  -170,
  -130,
  -91,
  3101,
  2738,
  2376,
  2088,
  1873,
  1689,
  1535,
  1399,
  1279,
  1170,
  1072,
  982,
  899,
  822,
  750,
  682,
  618,
  558,
  501,
  447,
  396,
  347,
  300,
  254,
  211,
  170,
  130,
  91,
  54,
  17,
  -54,
  -17,
);
/** Decision levels of the 6-bit low-band quantiser. */
const LOW_QUANT = Int32Array.of(
  35,
  72,
  110,
  150,
  190,
  233,
  276,
  323,
  370,
  422,
  473,
  530,
  587,
  650,
  714,
  786,
  858,
  940,
  1023,
  1121,
  1219,
  1339,
  1458,
  1612,
  1765,
  1980,
  2195,
  2557,
  2919,
);
/** QMF coefficients, ITU-T G.722 Table 11. */
const QMF = Int32Array.of(3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11);

const clip = (v: number, lo: number, hi: number): number => (v < lo ? lo : v > hi ? hi : v);
const clip16 = (v: number): number => (v < -32768 ? -32768 : v > 32767 ? 32767 : v);

/** Adaptive predictor and quantiser state of one sub-band. */
class Band {
  sPredictor = 0;
  sZero = 0;
  part0 = 0;
  part1 = 0;
  prevQtzd = 0;
  pole0 = 0;
  pole1 = 0;
  readonly diff = new Int32Array(6);
  readonly zero = new Int32Array(6);
  logFactor = 0;
  constructor(public scaleFactor: number) {}

  /** Block 4: pole and zero predictor update from the quantised difference `d`. */
  predict(d: number): void {
    const part = this.sZero + d < 0 ? 1 : 0;
    const sg0 = part !== this.part0 ? 1 : -1;
    const sg1 = part === this.part1 ? 1 : -1;
    this.part1 = this.part0;
    this.part0 = part;
    this.pole1 = clip(
      ((sg0 * clip(this.pole0, -8191, 8191)) >> 5) + sg1 * 128 + ((this.pole1 * 127) >> 7),
      -12288,
      12288,
    );
    const limit = 15360 - this.pole1;
    this.pole0 = clip(-192 * sg0 + ((this.pole0 * 255) >> 8), -limit, limit);
    const z = this.zero;
    const df = this.diff;
    for (let i = 0; i < 6; i++) {
      z[i] = ((z[i]! * 255) >> 8) + (d === 0 ? 0 : (df[i]! ^ d) < 0 ? -128 : 128);
    }
    for (let i = 5; i > 0; i--) {
      df[i] = df[i - 1]!;
    }
    df[0] = clip16(d * 2);
    let s = 0;
    for (let i = 0; i < 6; i++) {
      s += (z[i]! * df[i]!) >> 15;
    }
    this.sZero = s;
    const qtzd = clip16((this.sPredictor + d) * 2);
    this.sPredictor = clip16(s + ((this.pole0 * qtzd) >> 15) + ((this.pole1 * this.prevQtzd) >> 15));
    this.prevQtzd = qtzd;
  }

  updateLow(ilow4: number): void {
    this.predict((this.scaleFactor * LOW_INV_QUANT4[ilow4]!) >> 10);
    this.logFactor = clip(((this.logFactor * 127) >> 7) + LOW_LOG_STEP[ilow4]!, 0, 18432);
    this.scaleFactor = linearScale(this.logFactor - (8 << 11));
  }

  updateHigh(dhigh: number, ihigh: number): void {
    this.predict(dhigh);
    this.logFactor = clip(((this.logFactor * 127) >> 7) + HIGH_LOG_STEP[ihigh & 1]!, 0, 22528);
    this.scaleFactor = linearScale(this.logFactor - (10 << 11));
  }
}

function linearScale(logFactor: number): number {
  const wd1 = INV_LOG2[(logFactor >> 6) & 31]!;
  const shift = logFactor >> 11;
  return shift < 0 ? wd1 >> -shift : wd1 << shift;
}

/** QMF history: 22 past samples + the new pair, in a sliding buffer. */
class Qmf {
  private readonly buf = new Int32Array(1024);
  private pos = 22;
  out1 = 0;
  out2 = 0;

  push(a: number, b: number): void {
    if (this.pos >= this.buf.length) {
      this.buf.copyWithin(0, this.pos - 22, this.pos);
      this.pos = 22;
    }
    const p = this.buf;
    p[this.pos++] = a;
    p[this.pos++] = b;
    const base = this.pos - 24;
    let x1 = 0;
    let x2 = 0;
    for (let i = 0; i < 12; i++) {
      x2 += p[base + 2 * i]! * QMF[i]!;
      x1 += p[base + 2 * i + 1]! * QMF[11 - i]!;
    }
    this.out1 = x1;
    this.out2 = x2;
  }
}

export interface G722Options {
  /** Samples (16 kHz) per frame, even (default 320 = 20 ms). */
  frameSamples?: number;
}

function checkFrame(n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n % 2 !== 0 || n > 1920) {
    throw new CodecError(`G.722 frameSamples must be an even integer in 2..1920, got ${n}`);
  }
  return n;
}

export class G722Encoder implements AudioEncoder {
  readonly name = "G722";
  readonly sampleRate = 16000;
  readonly channels = 1;
  readonly frameSamples: number;
  private readonly low = new Band(8);
  private readonly high = new Band(2);
  private readonly qmf = new Qmf();
  private closed = false;

  constructor(opts: G722Options = {}) {
    this.frameSamples = checkFrame(opts.frameSamples ?? 320);
  }

  /** Encodes an even number of samples (any count, normally one frame) into half as many bytes. */
  encode(pcm: Int16Array): Uint8Array {
    if (this.closed) {
      throw new CodecClosedError("G.722 encoder is closed");
    }
    if (pcm.length % 2 !== 0 || pcm.length === 0) {
      throw new CodecError(`G.722 encodes an even, non-zero number of samples, got ${pcm.length}`);
    }
    const out = new Uint8Array(pcm.length / 2);
    const low = this.low;
    const high = this.high;
    const q = this.qmf;
    for (let j = 0; j < out.length; j++) {
      q.push(pcm[2 * j]!, pcm[2 * j + 1]!);
      const xlow = (q.out1 + q.out2) >> 14;
      const xhigh = (q.out1 - q.out2) >> 14;
      // high band: 2-bit quantiser
      const dh = clip16(xhigh - high.sPredictor);
      const pred = (141 * high.scaleFactor) >> 8;
      const ihigh = ((dh ^ (dh >> 31)) < pred ? 1 : 0) + (dh >= 0 ? 2 : 0);
      // low band: 6-bit quantiser
      const dl = clip16(xlow - low.sPredictor);
      const limit = ((dl ^ (dl >> 31)) + 1) << 10;
      const sf = low.scaleFactor;
      let i = limit > LOW_QUANT[8]! * sf ? 9 : 0;
      while (i < 29 && limit > LOW_QUANT[i]! * sf) {
        i++;
      }
      const ilow = (dl < 0 ? (i < 2 ? 63 : 33) : 61) - i;
      high.updateHigh((high.scaleFactor * HIGH_INV_QUANT[ihigh]!) >> 10, ihigh);
      low.updateLow(ilow >> 2);
      out[j] = (ihigh << 6) | ilow;
    }
    return out;
  }

  close(): void {
    this.closed = true;
  }
}

export class G722Decoder implements AudioDecoder {
  readonly name = "G722";
  readonly sampleRate = 16000;
  readonly channels = 1;
  readonly frameSamples: number;
  private readonly low = new Band(8);
  private readonly high = new Band(2);
  private readonly qmf = new Qmf();
  private readonly plc: WaveformPlc;
  private closed = false;

  constructor(opts: G722Options = {}) {
    this.frameSamples = checkFrame(opts.frameSamples ?? 320);
    this.plc = new WaveformPlc(16000, this.frameSamples);
  }

  /** Decodes 1..960 bytes into twice as many samples. */
  decode(payload: Uint8Array): Int16Array {
    if (this.closed) {
      throw new CodecClosedError("G.722 decoder is closed");
    }
    if (payload.length === 0 || payload.length > 960) {
      throw new CodecError(`G.722 payload must be 1..960 bytes, got ${payload.length}`);
    }
    const out = new Int16Array(payload.length * 2);
    const low = this.low;
    const high = this.high;
    const q = this.qmf;
    for (let j = 0; j < payload.length; j++) {
      const b = payload[j]!;
      const ihigh = b >> 6;
      const ilow = b & 0x3f;
      const rlow = clip(((low.scaleFactor * LOW_INV_QUANT6[ilow]!) >> 10) + low.sPredictor, -16384, 16383);
      low.updateLow(ilow >> 2);
      const dhigh = (high.scaleFactor * HIGH_INV_QUANT[ihigh]!) >> 10;
      const rhigh = clip(dhigh + high.sPredictor, -16384, 16383);
      high.updateHigh(dhigh, ihigh);
      q.push(rlow + rhigh, rlow - rhigh);
      out[2 * j] = clip16(q.out1 >> 11);
      out[2 * j + 1] = clip16(q.out2 >> 11);
    }
    return this.plc.good(out);
  }

  conceal(): Int16Array {
    if (this.closed) {
      throw new CodecClosedError("G.722 decoder is closed");
    }
    return this.plc.conceal();
  }

  close(): void {
    this.closed = true;
  }
}
