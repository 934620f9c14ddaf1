/**
 * RFC 3389 comfort noise (CN): parse and build CN payloads, measure a signal's noise level and spectral shape, and
 * generate noise at a received level.
 *
 * Payload (§3): byte 0 is the noise level in −dBov (0..127, most significant bit 0); the optional bytes after it
 * are reflection coefficients of an all-pole model, each quantised as `N = round(k × 128) + 127` (k = (N − 127) /
 * 128, the mapping WebRTC's CNG uses). dBov is relative to the overload point: 0 dBov is the RMS of a full-scale
 * square wave (32767 in 16-bit PCM), so a level of L −dBov is an RMS of 32767 × 10^(−L/20).
 *
 * Generation: seeded white noise through the synthesis filter 1/A(z) built from the reflection coefficients
 * (step-up recursion), scaled by √Π(1 − k²) so the output RMS equals the requested level.
 */
import { ComfortNoiseError } from "./errors.js";

export interface ComfortNoiseParams {
  /** Noise level in −dBov, 0..127 (e.g. 60 means −60 dBov). */
  levelDbov: number;
  /** Reflection coefficients in (−1, 1); empty for white noise. */
  reflection: number[];
}

const FULL_SCALE = 32767;
/** Largest model order accepted in a payload (RFC 3389 leaves it open; G.711 App. II uses up to 10). */
const MAX_ORDER = 32;

/** Parses a CN payload; throws ComfortNoiseError when it is empty, too long or the level byte's MSB is set. */
export function parseComfortNoise(payload: Uint8Array): ComfortNoiseParams {
  if (payload.length === 0) {
    throw new ComfortNoiseError("empty CN payload");
  }
  if (payload.length > 1 + MAX_ORDER) {
    throw new ComfortNoiseError(`CN payload of ${payload.length} bytes: model order above ${MAX_ORDER}`);
  }
  const level = payload[0]!;
  if (level & 0x80) {
    throw new ComfortNoiseError(`CN noise level byte 0x${level.toString(16)} has its reserved top bit set`);
  }
  const reflection: number[] = [];
  for (let i = 1; i < payload.length; i++) {
    reflection.push((payload[i]! - 127) / 128);
  }
  return { levelDbov: level, reflection };
}

/** Builds a CN payload. */
export function encodeComfortNoise(p: ComfortNoiseParams): Uint8Array {
  if (!Number.isFinite(p.levelDbov) || p.levelDbov < 0 || p.levelDbov > 127) {
    throw new ComfortNoiseError(`CN level must be 0..127 −dBov, got ${p.levelDbov}`);
  }
  if (p.reflection.length > MAX_ORDER) {
    throw new ComfortNoiseError(`CN model order ${p.reflection.length} above ${MAX_ORDER}`);
  }
  const out = new Uint8Array(1 + p.reflection.length);
  out[0] = Math.round(p.levelDbov);
  p.reflection.forEach((k, i) => {
    out[1 + i] = Math.max(0, Math.min(255, Math.round(k * 128) + 127));
  });
  return out;
}

/** RMS of a level in −dBov. */
export function dbovToRms(levelDbov: number): number {
  return FULL_SCALE * 10 ** (-levelDbov / 20);
}

/** Level of PCM in −dBov, clamped to 0..127 (digital silence gives 127). */
export function measureDbov(pcm: Int16Array): number {
  let s = 0;
  for (const v of pcm) {
    s += v * v;
  }
  const rms = Math.sqrt(s / Math.max(1, pcm.length));
  if (rms <= 0) {
    return 127;
  }
  return Math.max(0, Math.min(127, Math.round(-20 * Math.log10(rms / FULL_SCALE))));
}

/**
 * Describes a stretch of background noise for a CN payload: its level and `order` reflection coefficients from
 * Levinson–Durbin on the autocorrelation (order 0 = level only).
 */
export function analyzeComfortNoise(pcm: Int16Array, order = 4): ComfortNoiseParams {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) {
    throw new ComfortNoiseError(`CN model order must be 0..${MAX_ORDER}, got ${order}`);
  }
  const levelDbov = measureDbov(pcm);
  const r = new Float64Array(order + 1);
  for (let lag = 0; lag <= order; lag++) {
    let s = 0;
    for (let i = lag; i < pcm.length; i++) {
      s += pcm[i]! * pcm[i - lag]!;
    }
    r[lag] = s;
  }
  const reflection: number[] = [];
  if (order === 0 || r[0]! <= 0) {
    return { levelDbov, reflection: new Array<number>(order).fill(0) };
  }
  r[0] = r[0]! * (1 + 1e-9); // white-noise correction keeps the recursion stable
  let a = new Float64Array(order + 1);
  a[0] = 1;
  let err = r[0];
  for (let m = 1; m <= order; m++) {
    let acc = r[m]!;
    for (let j = 1; j < m; j++) {
      acc += a[j]! * r[m - j]!;
    }
    const k = Math.max(-0.99, Math.min(0.99, -acc / err));
    const next = a.slice();
    next[m] = k;
    for (let j = 1; j < m; j++) {
      next[j] = a[j]! + k * a[m - j]!;
    }
    a = next;
    err *= 1 - k * k;
    reflection.push(k);
  }
  return { levelDbov, reflection };
}

/** Generates comfort noise at the level and spectrum of the last CN parameters. */
export class ComfortNoiseGenerator {
  readonly frameSamples: number;
  private a = new Float64Array(1);
  private mem = new Float64Array(0);
  private gain = 0;
  private seed: number;

  constructor(frameSamples: number, seed = 0x2545f491) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0) {
      throw new ComfortNoiseError(`frameSamples must be a positive integer, got ${frameSamples}`);
    }
    this.frameSamples = frameSamples;
    this.seed = seed >>> 0 || 1;
  }

  /** Takes new parameters (from a CN payload or {@link analyzeComfortNoise}). */
  update(p: ComfortNoiseParams): void {
    const order = p.reflection.length;
    let a = new Float64Array(order + 1);
    a[0] = 1;
    let prod = 1;
    for (let m = 1; m <= order; m++) {
      const k = Math.max(-0.99, Math.min(0.99, p.reflection[m - 1]!));
      const next = a.slice();
      next[m] = k;
      for (let j = 1; j < m; j++) {
        next[j] = a[j]! + k * a[m - j]!;
      }
      a = next;
      prod *= 1 - k * k;
    }
    this.a = a;
    if (this.mem.length !== order) {
      this.mem = new Float64Array(order);
    }
    // Uniform noise in [-1, 1) has RMS 1/√3.
    this.gain = p.levelDbov >= 127 ? 0 : dbovToRms(p.levelDbov) * Math.sqrt(3) * Math.sqrt(prod);
  }

  /** One frame of noise (silence until the first update). */
  generate(): Int16Array {
    const out = new Int16Array(this.frameSamples);
    const a = this.a;
    const mem = this.mem;
    const order = mem.length;
    for (let i = 0; i < out.length; i++) {
      // xorshift32
      let x = this.seed;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.seed = x >>> 0;
      let y = this.gain * ((this.seed / 4294967296) * 2 - 1);
      for (let j = 1; j <= order; j++) {
        y -= a[j]! * mem[j - 1]!;
      }
      for (let j = order - 1; j > 0; j--) {
        mem[j] = mem[j - 1]!;
      }
      if (order > 0) {
        mem[0] = y;
      }
      const r = Math.round(y);
      out[i] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
    }
    return out;
  }
}
