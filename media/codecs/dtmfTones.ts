/**
 * In-band DTMF (ITU-T Q.23 dual tones) for trunks whose `dtmf` mode is `inband`: a streaming tone generator for a
 * call leg's outgoing audio and a Goertzel detector over the decoded PCM of an incoming stream.
 *
 * Levels are in dBm0. The reference is G.711 µ-law: a full-scale µ-law sine (peak 8159 in G.711's 14-bit units,
 * 32636 in 16-bit linear PCM) is +3.17 dBm0, so a 0 dBm0 sine has a 16-bit peak of 32636 × 10^(−3.17/20) ≈ 22657
 * ({@link DBM0_PEAK}). A-law's +3.14 dBm0 overload point gives the same figure within 0.1 dB.
 *
 * Detector (per block of {@link DtmfToneDetector.blockSize} samples, 105 at 8 kHz = 13.1 ms, scaled with the rate):
 * - 105 samples give Goertzel bins 76 Hz wide, about the spacing of adjacent row tones (73–89 Hz) and half that of
 *   the column tones, so an exact tone puts its neighbours near the nulls of the block's response; and 13.1 ms lets
 *   a 40 ms tone hold at least two whole blocks. 105 is also divisible by 3 (sub-blocks and the frequency lag below).
 * - Checks on each block, in the spirit of ITU-T Q.24 / ETSI ES 201 235-3 receivers: the strongest row and column
 *   tone are each ≥ 6 dB above the others of their group; each is ≥ −31 dBm0 (so −26 dBm0 is detected and −36 dBm0
 *   is not); their frequency, measured from the phase advance of a Hann-windowed DFT between two overlapping
 *   sub-windows lagged by a third of a block, is within ±2.5 % of nominal (±1.5 % accepted, ±3.5 % rejected);
 *   with their powers corrected for that offset, twist is ≤ 9 dB normal (row louder) and ≤ 5 dB reverse (column
 *   louder) and the two tones hold ≥ 50 % of the block's energy (speech and noise spread theirs); each tone's second
 *   harmonic is ≥ 12 dB below it (talk-off guard; skipped for a row tone whose harmonic lies within 1.5 bins of the
 *   column tone); and the energy of the block's three thirds differs by no more than 2:1 (a block that a tone only
 *   partly covers does not count).
 * - Timing: a key press needs two consecutive valid blocks; drop-outs are bridged unless the silence, measured to
 *   a third of a block from the energy of the edge sub-blocks, reaches 36 ms; the duration is measured the same way
 *   and a press shorter than 36 ms is dropped. Each press is reported once, when it ends (≥ 5 blocks of silence,
 *   another digit, or {@link DtmfToneDetector.flush}).
 *
 * No allocation per block: the block buffer and DFT tables are preallocated (tables shared per sample rate).
 */

/** 16-bit linear peak of a 0 dBm0 sine (see the module comment). */
export const DBM0_PEAK = 32636 * 10 ** (-3.17 / 20);

/** The 16 DTMF symbols, row-major in the Q.23 keypad layout. */
const KEYPAD = "123A456B789C*0#D";
/** Q.23 low (row) group, Hz. */
export const DTMF_ROW_HZ: readonly number[] = [697, 770, 852, 941];
/** Q.23 high (column) group, Hz. */
export const DTMF_COL_HZ: readonly number[] = [1209, 1336, 1477, 1633];

/** A bad argument to a DTMF tone generator or detector (unknown digit, unsupported rate, out-of-range option). */
export class DtmfToneError extends Error {
  override readonly name: string = "DtmfToneError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** Row and column frequencies of a digit (0-9 * # A-D, a-d accepted). @throws DtmfToneError for anything else. */
export function dtmfFrequencies(digit: string): { row: number; col: number } {
  const i = digit.length === 1 ? KEYPAD.indexOf(digit.toUpperCase()) : -1;
  if (i < 0) {
    throw new DtmfToneError(`'${digit}' is not a DTMF digit (0-9, *, #, A-D)`);
  }
  return { row: DTMF_ROW_HZ[i >> 2]!, col: DTMF_COL_HZ[i & 3]! };
}

function checkRate(sampleRate: number, what: string): number {
  if (!Number.isInteger(sampleRate) || sampleRate < 8000 || sampleRate > 48000) {
    throw new DtmfToneError(`${what} sample rate must be an integer from 8000 to 48000 Hz, got ${sampleRate}`);
  }
  return sampleRate;
}

function checkRange(value: number, lo: number, hi: number, what: string): number {
  if (!Number.isFinite(value) || value < lo || value > hi) {
    throw new DtmfToneError(`${what} must be a number from ${lo} to ${hi}, got ${value}`);
  }
  return value;
}

export interface DtmfToneGeneratorOptions {
  /** Silence between queued digits, ms (default 50, 0..10000). */
  gapMs?: number;
  /** Level of each of the two tones, dBm0 (default −10, −60..−3). */
  levelDbm0?: number;
  /** Raise the high (column) group by 2 dB (pre-emphasis for lossy lines; default false). */
  preEmphasis?: boolean;
}

interface QueuedDigit {
  readonly row: number;
  readonly col: number;
  readonly samples: number;
}

/**
 * Streaming DTMF generator for one call leg's outgoing audio. `start()` queues digits; `fill()` overwrites frames
 * with tone while something is playing (phase-continuous across calls) and leaves them alone otherwise.
 */
export class DtmfToneGenerator {
  readonly sampleRate: number;
  readonly gapMs: number;
  readonly levelDbm0: number;
  readonly preEmphasis: boolean;
  readonly #rowAmp: number;
  readonly #colAmp: number;
  readonly #gapSamples: number;
  readonly #queue: QueuedDigit[] = [];
  /** Samples of tone left in the current digit (0: none playing). */
  #toneLeft = 0;
  /** Samples of silence left before the next queued digit. */
  #gapLeft = 0;
  // Quadrature oscillators (cos, sin) and their per-sample rotations.
  #rc = 1;
  #rs = 0;
  #cc = 1;
  #cs = 0;
  #rowCos = 1;
  #rowSin = 0;
  #colCos = 1;
  #colSin = 0;

  constructor(sampleRate: number, opts: DtmfToneGeneratorOptions = {}) {
    this.sampleRate = checkRate(sampleRate, "DtmfToneGenerator");
    this.gapMs = checkRange(opts.gapMs ?? 50, 0, 10000, "gapMs");
    this.levelDbm0 = checkRange(opts.levelDbm0 ?? -10, -60, -3, "levelDbm0");
    this.preEmphasis = opts.preEmphasis ?? false;
    this.#rowAmp = DBM0_PEAK * 10 ** (this.levelDbm0 / 20);
    this.#colAmp = this.#rowAmp * (this.preEmphasis ? 10 ** (2 / 20) : 1);
    this.#gapSamples = Math.round((this.gapMs * sampleRate) / 1000);
  }

  /** True while a digit is playing, a gap is pending or digits are queued. */
  get busy(): boolean {
    return this.#toneLeft > 0 || this.#gapLeft > 0 || this.#queue.length > 0;
  }

  /**
   * Queues `digit` (0-9 * # A-D, case-insensitive) for `durationMs` (1..60000 ms).
   * @throws DtmfToneError for another digit or duration.
   */
  start(digit: string, durationMs: number): void {
    const { row, col } = dtmfFrequencies(digit);
    checkRange(durationMs, 1, 60000, "durationMs");
    const samples = Math.max(1, Math.round((durationMs * this.sampleRate) / 1000));
    this.#queue.push({ row, col, samples });
    if (this.#toneLeft === 0 && this.#gapLeft === 0 && this.#queue.length === 1) {
      this.#next();
    }
  }

  /** Stops the digit playing and drops the queue. */
  clear(): void {
    this.#queue.length = 0;
    this.#toneLeft = 0;
    this.#gapLeft = 0;
  }

  /**
   * Writes the next `frame.length` samples of tone (zeros in gaps and after the last digit ends) and returns true;
   * returns false, leaving `frame` untouched, when nothing is queued or playing.
   */
  fill(frame: Int16Array): boolean {
    if (!this.busy) {
      return false;
    }
    let i = 0;
    const n = frame.length;
    while (i < n) {
      if (this.#toneLeft > 0) {
        const end = Math.min(n, i + this.#toneLeft);
        this.#toneLeft -= end - i;
        i = this.#tone(frame, i, end);
        if (this.#toneLeft === 0) {
          if (this.#queue.length > 0) {
            this.#gapLeft = this.#gapSamples;
          }
          if (this.#gapLeft === 0) {
            this.#next();
          }
        }
      } else if (this.#gapLeft > 0) {
        const end = Math.min(n, i + this.#gapLeft);
        frame.fill(0, i, end);
        this.#gapLeft -= end - i;
        i = end;
        if (this.#gapLeft === 0) {
          this.#next();
        }
      } else {
        frame.fill(0, i, n);
        i = n;
      }
    }
    return true;
  }

  /** Starts the first queued digit, if any, with both oscillators at phase 0. */
  #next(): void {
    const d = this.#queue.shift();
    if (d === undefined) {
      return;
    }
    const wr = (2 * Math.PI * d.row) / this.sampleRate;
    const wc = (2 * Math.PI * d.col) / this.sampleRate;
    this.#rowCos = Math.cos(wr);
    this.#rowSin = Math.sin(wr);
    this.#colCos = Math.cos(wc);
    this.#colSin = Math.sin(wc);
    this.#rc = 1;
    this.#rs = 0;
    this.#cc = 1;
    this.#cs = 0;
    this.#toneLeft = d.samples;
  }

  /** Writes tone into frame[from, to) and returns `to`; oscillator state carries over to the next call. */
  #tone(frame: Int16Array, from: number, to: number): number {
    let rc = this.#rc;
    let rs = this.#rs;
    let cc = this.#cc;
    let cs = this.#cs;
    const rC = this.#rowCos;
    const rS = this.#rowSin;
    const cC = this.#colCos;
    const cS = this.#colSin;
    const ra = this.#rowAmp;
    const ca = this.#colAmp;
    for (let i = from; i < to; i++) {
      const v = Math.round(ra * rs + ca * cs);
      frame[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
      const nrc = rc * rC - rs * rS;
      rs = rs * rC + rc * rS;
      rc = nrc;
      const ncc = cc * cC - cs * cS;
      cs = cs * cC + cc * cS;
      cc = ncc;
    }
    // Renormalise once per call so rounding in the rotation never drifts the amplitude.
    const gr = 1 / Math.sqrt(rc * rc + rs * rs);
    const gc = 1 / Math.sqrt(cc * cc + cs * cs);
    this.#rc = rc * gr;
    this.#rs = rs * gr;
    this.#cc = cc * gc;
    this.#cs = cs * gc;
    return to;
  }
}

/** One key press recognised by {@link DtmfToneDetector}. */
export interface DetectedTone {
  /** 0-9, *, #, A-D. */
  digit: string;
  /** Measured tone duration, ms (rounded to 0.1 ms). */
  durationMs: number;
}

export interface DtmfToneDetectorOptions {
  /** Sample rate of the pushed PCM, Hz (integer, 8000..48000; 8000, 16000 and 48000 are tested). */
  sampleRate: number;
}

/** Minimum power (mean square) of each tone: −31 dBm0. */
const MIN_TONE_DBM0 = -31;
/** Strongest tone of a group over the next one (6 dB). */
const GROUP_DOMINANCE = 10 ** (6 / 10);
const NORMAL_TWIST = 10 ** (9 / 10);
const REVERSE_TWIST = 10 ** (5 / 10);
/** Share of the block energy the two tones must hold. */
const TONE_SHARE = 0.5;
/** Second harmonic at least 12 dB below its fundamental. */
const HARMONIC_LIMIT = 10 ** (-12 / 10);
const MAX_DEVIATION = 0.025;
/** Smallest/largest energy of a block's thirds. */
const STATIONARITY = 0.5;
/** Sub-blocks at a tone's edge count as tone while their energy is ≥ this share of the tone's. */
const EDGE_SHARE = 0.8;
const MIN_DURATION_MS = 36;
const MIN_PAUSE_MS = 36;
/** Invalid blocks after which a pause is certainly ≥ 36 ms and the tone is reported. */
const END_BLOCKS = 5;

interface DetectorTables {
  readonly n: number;
  readonly lag: number;
  /** Goertzel coefficient 2cos(w) of the 8 tones and their second harmonics (indices 8..15). */
  readonly coef: Float64Array;
  /** Hann-windowed cos/sin tables of the 8 tones over the sub-window (length n − lag each), tone-major. */
  readonly wcos: Float64Array;
  readonly wsin: Float64Array;
}

const tablesByRate = new Map<number, DetectorTables>();

function tablesFor(fs: number): DetectorTables {
  const cached = tablesByRate.get(fs);
  if (cached !== undefined) {
    return cached;
  }
  const third = Math.round((fs * 0.013125) / 3);
  const n = 3 * third;
  const len = n - third;
  const freqs = [...DTMF_ROW_HZ, ...DTMF_COL_HZ];
  const coef = new Float64Array(16);
  const wcos = new Float64Array(8 * len);
  const wsin = new Float64Array(8 * len);
  for (let k = 0; k < 8; k++) {
    const w = (2 * Math.PI * freqs[k]!) / fs;
    coef[k] = 2 * Math.cos(w);
    coef[k + 8] = 2 * Math.cos(2 * w);
    for (let m = 0; m < len; m++) {
      const h = 0.5 - 0.5 * Math.cos((2 * Math.PI * (m + 0.5)) / len);
      wcos[k * len + m] = h * Math.cos(w * m);
      wsin[k * len + m] = h * Math.sin(w * m);
    }
  }
  const t = { n, lag: third, coef, wcos, wsin };
  tablesByRate.set(fs, t);
  return t;
}

/**
 * Goertzel DTMF detector over the decoded PCM of one stream. Push frames of any length; each key press is reported
 * once, when it ends, with its measured duration.
 */
export class DtmfToneDetector {
  readonly sampleRate: number;
  /** Samples per analysis block (105 at 8 kHz, 210 at 16 kHz, 630 at 48 kHz). */
  readonly blockSize: number;
  readonly #t: DetectorTables;
  readonly #third: number;
  readonly #block: Float64Array;
  #fillPos = 0;
  readonly #power = new Float64Array(8);
  /** Energy of each third of the current block, and of the previous block. */
  readonly #sub = new Float64Array(3);
  readonly #prevSub = new Float64Array(3);
  /** Thirds of the block before the tone's first valid block, and of the first invalid block after its last. */
  readonly #startEdge = new Float64Array(3);
  readonly #endEdge = new Float64Array(3);
  readonly #minPower: number;
  readonly #msPerSample: number;
  /** Output of {@link #deviation} besides its return value. */
  #hannPower = 0;

  /** Digit index (0..15) of the tone being tracked, −1 when none. */
  #digit = -1;
  #validBlocks = 0;
  #run = 0;
  #maxRun = 0;
  /** Blocks from the first valid block to the last one, inclusive. */
  #spanBlocks = 0;
  /** Invalid blocks since the last valid one. */
  #pause = 0;
  /** Sum of the third-block energies of the valid blocks (their mean is the tone's reference energy). */
  #refSum = 0;
  /** Whether the previous block was valid (then it is no silence edge of a new tone). */
  #prevValid = false;

  constructor(opts: DtmfToneDetectorOptions) {
    this.sampleRate = checkRate(opts.sampleRate, "DtmfToneDetector");
    this.#t = tablesFor(this.sampleRate);
    this.blockSize = this.#t.n;
    this.#third = this.#t.lag;
    this.#block = new Float64Array(this.blockSize);
    this.#minPower = ((DBM0_PEAK * DBM0_PEAK) / 2) * 10 ** (MIN_TONE_DBM0 / 10);
    this.#msPerSample = 1000 / this.sampleRate;
  }

  /** Analyses `pcm` (any length; a partial block is kept for the next call). @returns presses that ended. */
  push(pcm: Int16Array): DetectedTone[] {
    const out: DetectedTone[] = [];
    const block = this.#block;
    const n = this.blockSize;
    let pos = this.#fillPos;
    let i = 0;
    while (i < pcm.length) {
      const take = Math.min(n - pos, pcm.length - i);
      for (let j = 0; j < take; j++) {
        block[pos + j] = pcm[i + j]!;
      }
      pos += take;
      i += take;
      if (pos === n) {
        pos = 0;
        this.#onBlock(this.#classify(), out);
      }
    }
    this.#fillPos = pos;
    return out;
  }

  /** Ends the press in progress (call end) and reports it if long enough; drops a partial block. */
  flush(): DetectedTone[] {
    const out: DetectedTone[] = [];
    if (this.#digit >= 0) {
      if (this.#pause === 0) {
        this.#endEdge.fill(0);
      }
      this.#end(out);
    }
    this.#fillPos = 0;
    this.#prevSub.fill(0);
    this.#prevValid = false;
    return out;
  }

  /** Advances the press tracking by one classified block (digit index or −1). */
  #onBlock(d: number, out: DetectedTone[]): void {
    if (d >= 0 && d === this.#digit) {
      if (this.#pause > 0 && this.#pauseMs() >= MIN_PAUSE_MS) {
        // A real inter-digit pause: the same key pressed twice.
        this.#end(out);
        this.#begin(d);
      } else {
        this.#spanBlocks += this.#pause + 1;
        this.#validBlocks++;
        this.#run = this.#pause === 0 ? this.#run + 1 : 1;
        this.#maxRun = Math.max(this.#maxRun, this.#run);
        this.#pause = 0;
        this.#addRef();
      }
    } else if (d >= 0) {
      if (this.#digit >= 0) {
        if (this.#pause === 0) {
          // Straight into another digit: no silence edge to measure.
          this.#endEdge.fill(0);
        }
        this.#end(out);
      }
      this.#begin(d);
    } else if (this.#digit >= 0) {
      this.#pause++;
      if (this.#pause === 1) {
        this.#endEdge.set(this.#sub);
      }
      if (this.#pause >= END_BLOCKS) {
        this.#end(out);
      }
    }
    this.#prevSub.set(this.#sub);
    this.#prevValid = d >= 0;
  }

  #begin(d: number): void {
    this.#digit = d;
    this.#validBlocks = 1;
    this.#run = 1;
    this.#maxRun = 1;
    this.#spanBlocks = 1;
    this.#pause = 0;
    this.#refSum = 0;
    if (this.#prevValid) {
      this.#startEdge.fill(0);
    } else {
      this.#startEdge.set(this.#prevSub);
    }
    this.#addRef();
  }

  #addRef(): void {
    const s = this.#sub;
    this.#refSum += s[0]! + s[1]! + s[2]!;
  }

  /**
   * Tone samples in the thirds of an edge block, walking outwards from the tone while each third holds ≥ 80 % of
   * the tone's energy (`fromEnd`: from the last third backwards, for the block just before a tone).
   */
  #edgeSamples(sub: Float64Array, fromEnd: boolean): number {
    const ref = this.#refSum / (3 * this.#validBlocks);
    let share = 0;
    for (let k = 0; k < 3; k++) {
      const r = Math.min(1, sub[fromEnd ? 2 - k : k]! / ref);
      share += r;
      if (r < EDGE_SHARE) {
        break;
      }
    }
    return share * this.#third;
  }

  /** Estimated silence between the last valid block and the current one. */
  #pauseMs(): number {
    const samples =
      this.#pause * this.blockSize - this.#edgeSamples(this.#endEdge, false) - this.#edgeSamples(this.#prevSub, true);
    return samples * this.#msPerSample;
  }

  #end(out: DetectedTone[]): void {
    const samples =
      this.#spanBlocks * this.blockSize +
      this.#edgeSamples(this.#startEdge, true) +
      this.#edgeSamples(this.#endEdge, false);
    const ms = samples * this.#msPerSample;
    if (this.#maxRun >= 2 && ms >= MIN_DURATION_MS) {
      out.push({ digit: KEYPAD[this.#digit]!, durationMs: Math.round(ms * 10) / 10 });
    }
    this.#digit = -1;
    this.#pause = 0;
  }

  /** Goertzel power (mean square of the component) of coefficient index `k` over the block. */
  #goertzel(k: number): number {
    const c = this.#t.coef[k]!;
    const x = this.#block;
    let s1 = 0;
    let s2 = 0;
    for (const v of x) {
      const s0 = v + c * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const n = x.length;
    return (2 * (s1 * s1 + s2 * s2 - c * s1 * s2)) / (n * n);
  }

  /**
   * Relative frequency offset of tone `k` in the block: phase advance of its Hann-windowed DFT between two
   * sub-windows `lag` samples apart, less the nominal advance. Also leaves in `#hannPower` the tone's power (mean
   * square) from those two DFTs, corrected for the offset: the Hann window's low sidelobes keep the other group's
   * tone out of it (the rectangular Goertzel bins let a tone 8 dB louder move the weaker one's power by ±2 dB).
   */
  #deviation(k: number, freq: number): number {
    const t = this.#t;
    const len = t.n - t.lag;
    const lag = t.lag;
    const x = this.#block;
    const base = k * len;
    let ar = 0;
    let ai = 0;
    let br = 0;
    let bi = 0;
    for (let m = 0; m < len; m++) {
      const c = t.wcos[base + m]!;
      const s = t.wsin[base + m]!;
      const xa = x[m]!;
      const xb = x[m + lag]!;
      ar += xa * c;
      ai -= xa * s;
      br += xb * c;
      bi -= xb * s;
    }
    const re = br * ar + bi * ai;
    const im = bi * ar - br * ai;
    let d = Math.atan2(im, re) - (2 * Math.PI * freq * lag) / this.sampleRate;
    d -= 2 * Math.PI * Math.round(d / (2 * Math.PI));
    // A sine of peak a at the bin centre gives |A| = a·len/4 (the Hann window sums to len/2): a²/2 = 8|A|²/len².
    const bins = (d / (2 * Math.PI * lag)) * len;
    const gain = hannGain(bins);
    this.#hannPower = (4 * (ar * ar + ai * ai + br * br + bi * bi)) / (len * len * gain * gain);
    return (d * this.sampleRate) / (2 * Math.PI * lag) / freq;
  }

  /** Classifies the full block: the digit index it carries, or −1. */
  #classify(): number {
    const x = this.#block;
    const third = this.#third;
    const sub = this.#sub;
    let energy = 0;
    for (let k = 0; k < 3; k++) {
      let e = 0;
      for (let i = k * third; i < (k + 1) * third; i++) {
        const v = x[i]!;
        e += v * v;
      }
      sub[k] = e;
      energy += e;
    }
    const n = x.length;
    const meanSquare = energy / n;
    if (meanSquare < 2 * this.#minPower) {
      return -1;
    }
    const lo = Math.min(sub[0]!, sub[1]!, sub[2]!);
    const hi = Math.max(sub[0]!, sub[1]!, sub[2]!);
    if (lo < STATIONARITY * hi) {
      return -1;
    }
    const p = this.#power;
    for (let k = 0; k < 8; k++) {
      p[k] = this.#goertzel(k);
    }
    const row = strongest(p, 0);
    const col = strongest(p, 4);
    let pr = p[row]!;
    let pc = p[col]!;
    if (pr < this.#minPower * 0.5 || pc < this.#minPower * 0.5) {
      return -1;
    }
    if (pr < GROUP_DOMINANCE * second(p, 0, row) || pc < GROUP_DOMINANCE * second(p, 4, col)) {
      return -1;
    }
    const fr = DTMF_ROW_HZ[row]!;
    const fc = DTMF_COL_HZ[col - 4]!;
    const dr = this.#deviation(row, fr);
    const hr = this.#hannPower;
    const dc = this.#deviation(col, fc);
    const hc = this.#hannPower;
    if (Math.abs(dr) > MAX_DEVIATION || Math.abs(dc) > MAX_DEVIATION) {
      return -1;
    }
    // Undo the block's (rectangular window) loss for an off-centre tone: |sinc| of the offset in bins.
    pr /= sincSquared((dr * fr * n) / this.sampleRate);
    pc /= sincSquared((dc * fc * n) / this.sampleRate);
    if (pr < this.#minPower || pc < this.#minPower) {
      return -1;
    }
    if (hr > NORMAL_TWIST * hc || hc > REVERSE_TWIST * hr) {
      return -1;
    }
    if (pr + pc < TONE_SHARE * meanSquare) {
      return -1;
    }
    // A row tone's second harmonic (1394/1540/1704/1882 Hz) can sit under the column tone's main lobe (digits 2, 6,
    // C): there the column tone's own leakage would fail the check, so it is only made when they are 1.5 bins apart.
    const rowHarmonicClear = Math.abs(2 * fr - fc) * n > 1.5 * this.sampleRate;
    if (
      (rowHarmonicClear && this.#goertzel(row + 8) > HARMONIC_LIMIT * pr) ||
      this.#goertzel(col + 8) > HARMONIC_LIMIT * pc
    ) {
      return -1;
    }
    return row * 4 + (col - 4);
  }
}

function strongest(p: Float64Array, from: number): number {
  let best = from;
  for (let k = from + 1; k < from + 4; k++) {
    if (p[k]! > p[best]!) {
      best = k;
    }
  }
  return best;
}

function second(p: Float64Array, from: number, best: number): number {
  let s = 0;
  for (let k = from; k < from + 4; k++) {
    if (k !== best && p[k]! > s) {
      s = p[k]!;
    }
  }
  return s;
}

function sincSquared(bins: number): number {
  if (Math.abs(bins) < 1e-9) {
    return 1;
  }
  const v = Math.sin(Math.PI * bins) / (Math.PI * bins);
  return v * v;
}

/** Amplitude response of a Hann window (relative to its peak) for a sine `bins` bins off centre. */
function hannGain(bins: number): number {
  const b = Math.abs(bins);
  if (b < 1e-9) {
    return 1;
  }
  if (Math.abs(b - 1) < 1e-6) {
    return 0.5;
  }
  return Math.sin(Math.PI * b) / (Math.PI * b) / (1 - b * b);
}
