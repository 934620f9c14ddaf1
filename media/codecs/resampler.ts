/**
 * Streaming rational resampler (polyphase windowed-sinc FIR, Kaiser window) for 8 ↔ 16 ↔ 48 kHz and any other
 * pair of integer rates.
 *
 * Design: with L/M = outRate/inRate in lowest terms, a low-pass prototype runs at L × inRate with its −6 dB point
 * at `0.5 × min(inRate, outRate) − Δf/2`, so that the stop band starts at the lower Nyquist frequency (no
 * aliasing into the band kept). The prototype has `tapsPerPhase × max(L, M)` taps, which puts the transition
 * width at Δf ≈ 5 × min(rate) / tapsPerPhase for the ~80 dB Kaiser window (β = 8): with the default 48 taps,
 * 8 kHz output keeps 0–3.2 kHz flat and rejects ≥ 4 kHz by ≥ 75 dB. The prototype is split into L phases
 * (precomputed Float32Arrays, each normalised to unity DC gain); output sample n uses phase (n·M mod L) against the
 * input history (coefficients stored reversed, dot product unrolled by four). State (the last taps−1 input
 * samples and the phase) carries over between calls, so 20 ms frames stream without edge artefacts. Delay:
 * (taps−1)/2 samples at the prototype rate.
 */
import { CodecError } from "./errors.js";

export interface ResamplerOptions {
  /** Taps per output sample at the lower rate (default 48). More = sharper filter, more CPU. */
  tapsPerPhase?: number;
  /** Kaiser window β (default 8 ≈ 80 dB stop band). */
  kaiserBeta?: number;
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    [a, b] = [b, a % b];
  }
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 50; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-12) {
      break;
    }
  }
  return sum;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Interpolation factor L and decimation factor M (outRate/inRate = L/M). */
  readonly up: number;
  readonly down: number;
  /** Input samples each output depends on. */
  readonly taps: number;
  /** Group delay in output samples. */
  readonly delay: number;
  private readonly phases: Float32Array[];
  /** History (taps−1 samples) followed by the current input. */
  private buf: Float32Array;
  /** High-rate time of the next output, relative to the first new input sample of the next call. */
  private nextT = 0;

  constructor(inRate: number, outRate: number, opts: ResamplerOptions = {}) {
    for (const r of [inRate, outRate]) {
      if (!Number.isInteger(r) || r < 1000 || r > 384000) {
        throw new CodecError(`resampler rates must be integers in 1000..384000 Hz, got ${r}`);
      }
    }
    const T = opts.tapsPerPhase ?? 48;
    if (!Number.isInteger(T) || T < 4 || T > 512) {
      throw new CodecError(`tapsPerPhase must be an integer in 4..512, got ${T}`);
    }
    const beta = opts.kaiserBeta ?? 8;
    const g = gcd(inRate, outRate);
    const L = outRate / g;
    const M = inRate / g;
    if (L > 1000 || M > 1000) {
      throw new CodecError(`resampling ${inRate} → ${outRate} needs factors ${L}/${M}; at most 1000 supported`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    this.up = L;
    this.down = M;
    const fmin = Math.min(inRate, outRate);
    const high = L * inRate;
    const K = T * Math.max(L, M);
    const df = (5 * fmin) / T;
    const fc = (0.5 * fmin - df / 2) / high; // normalised to the prototype rate
    const h = new Float64Array(K);
    const mid = (K - 1) / 2;
    const i0b = besselI0(beta);
    for (let k = 0; k < K; k++) {
      const x = k - mid;
      const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
      const r = (2 * k) / (K - 1) - 1;
      h[k] = sinc * (besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0b);
    }
    const perPhase = Math.ceil(K / L);
    this.taps = perPhase;
    this.phases = [];
    for (let p = 0; p < L; p++) {
      const c = new Float32Array(perPhase);
      let sum = 0;
      for (let j = 0; j < perPhase; j++) {
        const v = p + j * L < K ? h[p + j * L]! : 0;
        c[j] = v;
        sum += v;
      }
      // Stored reversed, so the inner loop walks coefficients and input history forwards together.
      c.reverse();
      for (let j = 0; j < perPhase; j++) {
        c[j] = c[j]! / sum;
      }
      this.phases.push(c);
    }
    this.delay = mid / M;
    this.buf = new Float32Array(perPhase - 1 + 960);
  }

  /** Output samples produced for `n` input samples from the current state. */
  outputLength(n: number): number {
    const L = this.up;
    let count = 0;
    // Outputs at high-rate times t = nextT + k·M with floor(t / L) < n.
    if (n > 0 && Math.floor(this.nextT / L) < n) {
      count = Math.floor((n * L - 1 - this.nextT) / this.down) + 1;
    }
    return count;
  }

  /** Resamples Int16 PCM (any length), keeping state; returns the output for this chunk. */
  process(input: Int16Array): Int16Array {
    const out = new Int16Array(this.outputLength(input.length));
    this.run(input, out);
    return out;
  }

  /** Resamples Float32 samples (any scale), keeping state. */
  processFloat(input: Float32Array): Float32Array {
    const out = new Float32Array(this.outputLength(input.length));
    this.run(input, out);
    return out;
  }

  /** Forgets the history (e.g. after a stream switch). */
  reset(): void {
    this.buf.fill(0);
    this.nextT = 0;
  }

  private run(input: Int16Array | Float32Array, out: Int16Array | Float32Array): void {
    const T = this.taps;
    const hist = T - 1;
    const n = input.length;
    if (this.buf.length < hist + n) {
      const bigger = new Float32Array(hist + n);
      bigger.set(this.buf.subarray(0, hist));
      this.buf = bigger;
    }
    const buf = this.buf;
    for (let i = 0; i < n; i++) {
      buf[hist + i] = input[i]!;
    }
    const L = this.up;
    const M = this.down;
    const phases = this.phases;
    const toInt = out instanceof Int16Array;
    let t = this.nextT;
    let o = 0;
    const outLen = out.length;
    while (o < outLen) {
      const base = (t / L) | 0;
      const c = phases[t - base * L]!;
      // Reversed phase c[j] multiplies x[base - (T-1) + j] = buf[base + j]; unrolled by four.
      let acc0 = 0;
      let acc1 = 0;
      let acc2 = 0;
      let acc3 = 0;
      let j = 0;
      for (; j + 3 < T; j += 4) {
        const k = base + j;
        acc0 += c[j]! * buf[k]!;
        acc1 += c[j + 1]! * buf[k + 1]!;
        acc2 += c[j + 2]! * buf[k + 2]!;
        acc3 += c[j + 3]! * buf[k + 3]!;
      }
      for (; j < T; j++) {
        acc0 += c[j]! * buf[base + j]!;
      }
      const acc = acc0 + acc1 + acc2 + acc3;
      if (toInt) {
        const r = Math.round(acc);
        out[o++] = r > 32767 ? 32767 : r < -32768 ? -32768 : r;
      } else {
        out[o++] = acc;
      }
      t += M;
    }
    this.nextT = t - n * L;
    // Keep the last `hist` input samples (including older history when n < hist).
    buf.copyWithin(0, n, n + hist);
  }
}
