/**
 * Waveform packet-loss concealment for codecs without their own (G.711): when a frame is lost, repeat the last
 * pitch period of the decoded signal (found by normalised autocorrelation over lags 2.5–15 ms), keep full level
 * for the first 10 ms of loss, fade linearly to silence at 60 ms, and cross-fade back into the first good frame
 * (4 ms) so the return is click-free. This is the scheme of ITU-T G.711 Appendix I, simplified to one period.
 *
 * Codecs with native PLC (Opus, AMR) conceal inside the library: see their decoders' `conceal()`.
 */
export class WaveformPlc {
  readonly sampleRate: number;
  readonly frameSamples: number;
  private readonly hist: Float32Array;
  private readonly minLag: number;
  private readonly maxLag: number;
  private readonly fadeStart: number;
  private readonly fadeEnd: number;
  private readonly xfade: number;
  /** Samples concealed in the current loss burst (0 = not concealing). */
  private lost = 0;
  private period = 0;
  private phase = 0;
  /** Index of the first sample of the repeated period inside `hist`. */
  private periodStart = 0;

  constructor(sampleRate: number, frameSamples: number) {
    this.sampleRate = sampleRate;
    this.frameSamples = frameSamples;
    this.minLag = Math.round(sampleRate * 0.0025);
    this.maxLag = Math.round(sampleRate * 0.015);
    this.hist = new Float32Array(Math.max(this.maxLag * 2 + Math.round(sampleRate * 0.02), frameSamples));
    this.fadeStart = Math.round(sampleRate * 0.01);
    this.fadeEnd = Math.round(sampleRate * 0.06);
    this.xfade = Math.min(frameSamples, Math.round(sampleRate * 0.004));
  }

  /** Samples concealed so far in the current burst of loss. */
  get concealedSamples(): number {
    return this.lost;
  }

  /**
   * Takes a good decoded frame (any length) into the history. After a loss it cross-fades the frame's start from
   * the concealment signal, modifying `frame` in place. Returns `frame`.
   */
  good(frame: Int16Array): Int16Array {
    if (this.lost > 0) {
      const n = Math.min(this.xfade, frame.length);
      for (let i = 0; i < n; i++) {
        const w = (i + 1) / (n + 1);
        const c = this.nextConcealSample();
        frame[i] = Math.round(w * frame[i]! + (1 - w) * c);
      }
      this.lost = 0;
    }
    this.push(frame);
    return frame;
  }

  /** One frame of concealment, continuing the previous one if the loss goes on. */
  conceal(): Int16Array {
    if (this.lost === 0) {
      this.period = this.findPeriod();
      this.periodStart = this.hist.length - this.period;
      this.phase = 0;
    }
    const out = new Int16Array(this.frameSamples);
    for (let i = 0; i < out.length; i++) {
      out[i] = Math.round(this.nextConcealSample());
      this.lost++;
    }
    return out;
  }

  private nextConcealSample(): number {
    const s = this.hist[this.periodStart + this.phase]!;
    this.phase = (this.phase + 1) % this.period;
    const l = this.lost;
    const g =
      l < this.fadeStart ? 1 : l >= this.fadeEnd ? 0 : 1 - (l - this.fadeStart) / (this.fadeEnd - this.fadeStart);
    return s * g;
  }

  private push(frame: Int16Array): void {
    const h = this.hist;
    const n = frame.length;
    if (n >= h.length) {
      for (let i = 0; i < h.length; i++) {
        h[i] = frame[n - h.length + i]!;
      }
      return;
    }
    h.copyWithin(0, n);
    const base = h.length - n;
    for (let i = 0; i < n; i++) {
      h[base + i] = frame[i]!;
    }
  }

  private findPeriod(): number {
    const h = this.hist;
    const end = h.length;
    const win = Math.min(Math.round(this.sampleRate * 0.02), end - this.maxLag);
    let best = this.minLag;
    let bestScore = -Infinity;
    // Decimate the search at high rates: the pitch only needs ~0.25 ms resolution before refinement.
    const step = Math.max(1, Math.round(this.sampleRate / 8000));
    const search = (lo: number, hi: number, s: number): void => {
      for (let lag = lo; lag <= hi; lag += s) {
        let xy = 0;
        let yy = 0;
        for (let i = end - win; i < end; i += step) {
          const y = h[i - lag]!;
          xy += h[i]! * y;
          yy += y * y;
        }
        const score = yy > 0 ? xy / Math.sqrt(yy) : 0;
        if (score > bestScore) {
          bestScore = score;
          best = lag;
        }
      }
    };
    search(this.minLag, this.maxLag, step);
    if (step > 1) {
      const c = best;
      bestScore = -Infinity;
      search(Math.max(this.minLag, c - step), Math.min(this.maxLag, c + step), 1);
    }
    return best;
  }
}
