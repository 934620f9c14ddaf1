/**
 * Signal helpers for media tests: generate test tones and speech-like signals, and measure what comes out.
 *
 * - {@link generateTone}: a sine (optionally several summed) as Int16 PCM.
 * - {@link measureFrequency}: the dominant frequency of a signal (Hann-windowed FFT peak with Gaussian
 *   interpolation between bins, accurate to a small fraction of a bin).
 * - {@link goertzelPower} / {@link toneLevelDb}: the power of one frequency (Goertzel), e.g. to check that a tone
 *   is present or that an alias is attenuated.
 * - {@link rmsDbfs}, {@link snrDb} (with automatic alignment of codec delay) and {@link generateSpeechLike}
 *   (harmonics with a gliding pitch under a syllable-rate envelope, plus a little noise).
 *
 * Everything is deterministic (seeded noise) so a failing test fails the same way every run.
 */

/** Something that holds PCM samples: Int16 (full scale 32768) or Float32 (full scale 1). */
export type Samples = Int16Array | Float32Array;

export interface ToneOptions {
  /** Sample rate in Hz. */
  sampleRate: number;
  /** Number of samples to generate. */
  samples: number;
  /** Peak amplitude, in Int16 units (default 10000, about -10 dBFS). */
  amplitude?: number;
  /** Starting phase in radians (default 0). */
  phase?: number;
}

/** A pure tone (or several summed, each with the same amplitude) as Int16 PCM, clipped to the Int16 range. */
export function generateTone(frequency: number | readonly number[], opts: ToneOptions): Int16Array {
  const freqs = typeof frequency === "number" ? [frequency] : frequency;
  const amp = opts.amplitude ?? 10000;
  const phase = opts.phase ?? 0;
  const out = new Int16Array(opts.samples);
  for (let i = 0; i < out.length; i++) {
    let v = 0;
    for (const f of freqs) {
      v += amp * Math.sin(phase + (2 * Math.PI * f * i) / opts.sampleRate);
    }
    out[i] = clip16(Math.round(v));
  }
  return out;
}

/** A deterministic PRNG (mulberry32) returning floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SpeechLikeOptions {
  sampleRate: number;
  samples: number;
  /** Peak amplitude of the voiced part in Int16 units (default 8000). */
  amplitude?: number;
  /** Pitch range in Hz (default 110..220): the pitch glides sinusoidally between them at ~1.3 Hz. */
  pitchLow?: number;
  pitchHigh?: number;
  /** Noise level relative to the amplitude (default 0.02). */
  noise?: number;
  /** PRNG seed (default 1). */
  seed?: number;
}

/**
 * A speech-like test signal: a harmonic series (1/k amplitudes, up to 3.4 kHz or 0.45 × sample rate) on a gliding
 * pitch, under a 4 Hz "syllable" envelope that never reaches zero, plus low-level seeded white noise.
 */
export function generateSpeechLike(opts: SpeechLikeOptions): Int16Array {
  const fs = opts.sampleRate;
  const amp = opts.amplitude ?? 8000;
  const lo = opts.pitchLow ?? 110;
  const hi = opts.pitchHigh ?? 220;
  const rnd = seededRandom(opts.seed ?? 1);
  const noise = (opts.noise ?? 0.02) * amp;
  const maxF = Math.min(3400, 0.45 * fs);
  const out = new Int16Array(opts.samples);
  let ph = 0;
  for (let i = 0; i < out.length; i++) {
    const t = i / fs;
    const f0 = lo + ((hi - lo) * (1 + Math.sin(2 * Math.PI * 1.3 * t))) / 2;
    ph += (2 * Math.PI * f0) / fs;
    let v = 0;
    let norm = 0;
    for (let k = 1; k * f0 < maxF; k++) {
      v += Math.sin(k * ph) / k;
      norm += 1 / k;
    }
    const env = 0.55 + 0.45 * Math.sin(2 * Math.PI * 4 * t);
    out[i] = clip16(Math.round((amp * env * v) / Math.max(1, norm / 2) + noise * (2 * rnd() - 1)));
  }
  return out;
}

/** Goertzel power of `frequency` in `x` (mean-square amplitude of that component: a full sine of peak A gives A²/2). */
export function goertzelPower(x: Samples, sampleRate: number, frequency: number): number {
  const n = x.length;
  if (n === 0) {
    return 0;
  }
  const w = (2 * Math.PI * frequency) / sampleRate;
  const c = 2 * Math.cos(w);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const s0 = x[i]! + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  return (2 * (re * re + im * im)) / (n * n);
}

/** Level of one frequency in dB relative to a full-scale sine (Int16 input: 32767 peak; Float32 input: 1.0 peak). */
export function toneLevelDb(x: Samples, sampleRate: number, frequency: number): number {
  const fullScale = x instanceof Int16Array ? 32767 : 1;
  const p = goertzelPower(x, sampleRate, frequency);
  return 10 * Math.log10(Math.max(p, 1e-20) / ((fullScale * fullScale) / 2));
}

/** RMS level in dBFS (a full-scale sine is -3 dBFS). */
export function rmsDbfs(x: Samples): number {
  const fullScale = x instanceof Int16Array ? 32768 : 1;
  let s = 0;
  for (const v of x) {
    s += v * v;
  }
  const rms = Math.sqrt(s / Math.max(1, x.length));
  return 20 * Math.log10(Math.max(rms, 1e-12) / fullScale);
}

/** In-place iterative radix-2 FFT on separate real/imaginary arrays (length a power of two). */
function fft(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) {
      j ^= bit;
    }
    j ^= bit;
    if (i < j) {
      const tr = re[i]!;
      re[i] = re[j]!;
      re[j] = tr;
      const ti = im[i]!;
      im[i] = im[j]!;
      im[j] = ti;
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (-2 * Math.PI) / len;
    const wr = Math.cos(ang);
    const wi = Math.sin(ang);
    for (let i = 0; i < n; i += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = i + k;
        const b = a + len / 2;
        const xr = re[b]! * cr - im[b]! * ci;
        const xi = re[b]! * ci + im[b]! * cr;
        re[b] = re[a]! - xr;
        im[b] = im[a]! - xi;
        re[a] = re[a]! + xr;
        im[a] = im[a]! + xi;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/** Magnitude spectrum (Hann window, DC removed) of the largest power-of-two prefix of x, at most 65536 samples. */
export function magnitudeSpectrum(x: Samples): { mags: Float64Array; n: number } {
  let n = 1;
  while (n * 2 <= Math.min(x.length, 65536)) {
    n *= 2;
  }
  if (n < 64) {
    throw new RangeError(`measureFrequency needs at least 64 samples, got ${x.length}`);
  }
  const off = Math.floor((x.length - n) / 2);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    mean += x[off + i]!;
  }
  mean /= n;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    re[i] = (x[off + i]! - mean) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n));
  }
  fft(re, im);
  const mags = new Float64Array(n / 2);
  for (let k = 0; k < n / 2; k++) {
    mags[k] = Math.hypot(re[k]!, im[k]!);
  }
  return { mags, n };
}

/**
 * The dominant frequency of `x` in Hz, or 0 for silence. Uses the centre of the signal (largest power-of-two span,
 * so skip codec start-up by slicing it off first if it matters).
 */
export function measureFrequency(x: Samples, sampleRate: number): number {
  const { mags, n } = magnitudeSpectrum(x);
  let k = 1;
  for (let i = 2; i < mags.length - 1; i++) {
    if (mags[i]! > mags[k]!) {
      k = i;
    }
  }
  if (mags[k]! < 1e-9) {
    return 0;
  }
  const a = Math.log(Math.max(mags[k - 1]!, 1e-12));
  const b = Math.log(mags[k]!);
  const c = Math.log(Math.max(mags[k + 1] ?? 1e-12, 1e-12));
  const den = a - 2 * b + c;
  const delta = den === 0 ? 0 : (0.5 * (a - c)) / den;
  return ((k + delta) * sampleRate) / n;
}

/**
 * Signal-to-noise ratio in dB of `test` against `ref` after finding the best lag in [0, maxLag] (codec delay)
 * and the best gain (least squares). Compares the overlapping part, skipping `skip` samples of start-up.
 */
export function snrDb(ref: Samples, test: Samples, opts: { maxLag?: number; skip?: number } = {}): number {
  const maxLag = opts.maxLag ?? 0;
  const skip = opts.skip ?? 0;
  let best = -Infinity;
  for (let lag = 0; lag <= maxLag; lag++) {
    const n = Math.min(ref.length, test.length - lag);
    if (n - skip <= 0) {
      break;
    }
    let rr = 0;
    let rt = 0;
    let tt = 0;
    for (let i = skip; i < n; i++) {
      const r = ref[i]!;
      const t = test[i + lag]!;
      rr += r * r;
      rt += r * t;
      tt += t * t;
    }
    if (rr === 0) {
      continue;
    }
    // Error energy with the optimal gain g = rt/tt applied to test: rr - rt²/tt.
    const err = tt === 0 ? rr : rr - (rt * rt) / tt;
    const snr = 10 * Math.log10(rr / Math.max(err, 1e-12));
    if (snr > best) {
      best = snr;
    }
  }
  return best;
}

/** Plain SNR without gain fitting or lag search (for bit-exact-ish paths like G.711). */
export function snrDbExact(ref: Samples, test: Samples): number {
  const n = Math.min(ref.length, test.length);
  let sig = 0;
  let err = 0;
  for (let i = 0; i < n; i++) {
    const r = ref[i]!;
    const e = r - test[i]!;
    sig += r * r;
    err += e * e;
  }
  return 10 * Math.log10(sig / Math.max(err, 1e-12));
}

function clip16(v: number): number {
  return v > 32767 ? 32767 : v < -32768 ? -32768 : v;
}
