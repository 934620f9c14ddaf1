import t from "tap";
import {
  DBM0_PEAK,
  type DetectedTone,
  DTMF_COL_HZ,
  DTMF_ROW_HZ,
  dtmfFrequencies,
  DtmfToneDetector,
  DtmfToneError,
  DtmfToneGenerator,
} from "../../../../media/codecs/dtmfTones.js";
import {
  decodeG711,
  encodeG711,
  G711Decoder,
  type G711Tables,
  PCMA_TABLES,
  PCMU_TABLES,
} from "../../../../media/codecs/g711.js";
import { generateSpeechLike, goertzelPower, measureFrequency, seededRandom } from "../../../helpers/tone.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";

const DIGITS = "0123456789*#ABCD";
const LAWS = [
  ["μ-law", PCMU_TABLES],
  ["A-law", PCMA_TABLES],
] as const;

const amp = (dbm0: number): number => DBM0_PEAK * 10 ** (dbm0 / 20);
const ms = (v: number, fs = 8000): number => Math.round((v * fs) / 1000);

/** Power of a tone in dBm0 from its Goertzel mean square. */
const dbm0Of = (x: Int16Array, fs: number, f: number): number =>
  10 * Math.log10(goertzelPower(x, fs, f) / ((DBM0_PEAK * DBM0_PEAK) / 2));

interface Segment {
  /** Silence when absent. */
  freqs?: readonly (readonly [number, number])[];
  ms: number;
}

/** Concatenated segments of summed sines ([frequency, peak amplitude]) and silence, as Int16 PCM. */
function signal(segments: readonly Segment[], fs = 8000): Int16Array {
  const total = segments.reduce((s, g) => s + ms(g.ms, fs), 0);
  const out = new Int16Array(total);
  let o = 0;
  for (const g of segments) {
    const n = ms(g.ms, fs);
    for (let i = 0; i < n; i++) {
      let v = 0;
      for (const [f, a] of g.freqs ?? []) {
        v += a * Math.sin((2 * Math.PI * f * i) / fs);
      }
      out[o + i] = Math.max(-32768, Math.min(32767, Math.round(v)));
    }
    o += n;
  }
  return out;
}

/** A digit's two tones, optionally scaled in frequency and with per-group levels in dBm0. */
function dualTone(digit: string, rowDbm0 = -10, colDbm0 = -10, freqScale = 1): (readonly [number, number])[] {
  const { row, col } = dtmfFrequencies(digit);
  return [
    [row * freqScale, amp(rowDbm0)],
    [col * freqScale, amp(colDbm0)],
  ];
}

function g711(tables: G711Tables, pcm: Int16Array): Int16Array {
  const codes = new Uint8Array(pcm.length);
  encodeG711(tables, pcm, codes);
  const out = new Int16Array(pcm.length);
  decodeG711(tables, codes, out);
  return out;
}

/** Runs a whole signal through a fresh detector in `frame`-sample pushes, then flushes. */
function detect(pcm: Int16Array, fs = 8000, frame = Math.round(fs / 50)): DetectedTone[] {
  const d = new DtmfToneDetector({ sampleRate: fs });
  const out: DetectedTone[] = [];
  for (let o = 0; o < pcm.length; o += frame) {
    out.push(...d.push(pcm.subarray(o, Math.min(pcm.length, o + frame))));
  }
  out.push(...d.flush());
  return out;
}

const digitsOf = (r: readonly DetectedTone[]): string => r.map((x) => x.digit).join("");

t.test("every digit through μ-law and A-law is detected once, duration within ±15 ms", (t) => {
  for (const [law, tables] of LAWS) {
    let wrong = 0;
    let worstErr = 0;
    let runs = 0;
    for (const [di, digit] of [...DIGITS].entries()) {
      for (const [k, dur] of [40, 65, 100, 333].entries()) {
        // Vary the lead-in so the tone starts at different offsets within a detector block.
        const lead = 50 + ((di * 7 + k * 3) % 13) + 0.125 * ((di + k) % 8);
        const gen = new DtmfToneGenerator(8000);
        gen.start(digit, dur);
        const tone = new Int16Array(ms(dur) + 160);
        gen.fill(tone);
        const pcm = new Int16Array(ms(lead) + tone.length + 800);
        pcm.set(tone, ms(lead));
        const r = detect(g711(tables, pcm));
        runs++;
        if (r.length !== 1 || r[0]!.digit !== digit) {
          wrong++;
          t.fail(`${law} ${digit} ${dur} ms: got ${JSON.stringify(r)}`);
          continue;
        }
        worstErr = Math.max(worstErr, Math.abs(r[0]!.durationMs - dur));
      }
    }
    t.equal(runs, 64, `${law}: 16 digits × 4 durations`);
    t.equal(wrong, 0, `${law}: every run gave exactly one, right digit`);
    t.ok(worstErr <= 15, `${law}: worst duration error ${worstErr.toFixed(1)} ms ≤ 15 ms`);
    // Clean tones are measured much closer than that (edge sub-blocks; partly covered blocks never count whole).
    t.ok(worstErr <= 5, `${law}: worst duration error ${worstErr.toFixed(1)} ms ≤ 5 ms on clean tones`);
  }
  t.end();
});

t.test("sequence 0123456789*#ABCD with 50 ms gaps comes out in order, no doubles", (t) => {
  for (const [law, tables] of LAWS) {
    for (const dur of [45, 80]) {
      const gen = new DtmfToneGenerator(8000, { gapMs: 50 });
      for (const d of DIGITS) {
        gen.start(d, dur);
      }
      const frames: Int16Array[] = [];
      let guard = 0;
      while (gen.busy && guard++ < 1000) {
        const f = new Int16Array(160);
        gen.fill(f);
        frames.push(f);
      }
      const pcm = new Int16Array(160 * (frames.length + 10));
      frames.forEach((f, i) => pcm.set(f, 160 * (i + 5)));
      const r = detect(g711(tables, pcm));
      t.equal(digitsOf(r), DIGITS, `${law}, ${dur} ms tones`);
      t.ok(
        r.every((x) => Math.abs(x.durationMs - dur) <= 15),
        `${law}, ${dur} ms: durations ${r.map((x) => x.durationMs).join(",")}`,
      );
    }
  }
  t.end();
});

t.test("frequency deviation: ±1.5 % accepted, ±3.5 % rejected (every digit, μ-law)", (t) => {
  for (const [scale, accept] of [
    [1.015, true],
    [0.985, true],
    [1.035, false],
    [0.965, false],
  ] as const) {
    let ok = 0;
    for (const [k, digit] of [...DIGITS].entries()) {
      const lead = 60 + k * 0.875; // 7 samples more per digit: a different block alignment each
      const pcm = signal([{ ms: lead }, { freqs: dualTone(digit, -10, -10, scale), ms: 100 }, { ms: 100 }]);
      const r = detect(g711(PCMU_TABLES, pcm));
      if (accept ? digitsOf(r) === digit : r.length === 0) {
        ok++;
      } else {
        t.fail(`${digit} × ${scale}: ${JSON.stringify(r)}`);
      }
    }
    t.equal(ok, 16, `× ${scale}: ${accept ? "all 16 detected" : "none detected"}`);
  }
  // One group off, the other exact.
  const rowOff = signal([
    { ms: 60 },
    {
      freqs: [
        [697 * 1.035, amp(-10)],
        [1209, amp(-10)],
      ],
      ms: 100,
    },
    { ms: 100 },
  ]);
  t.same(detect(rowOff), [], "row tone 3.5 % high alone rejects");
  const colOff = signal([
    { ms: 60 },
    {
      freqs: [
        [697, amp(-10)],
        [1633 * 0.965, amp(-10)],
      ],
      ms: 100,
    },
    { ms: 100 },
  ]);
  t.same(detect(colOff), [], "column tone 3.5 % low alone rejects");
  t.end();
});

t.test("twist: 8 dB normal and 4 dB reverse accepted, 10 dB normal and 6 dB reverse rejected", (t) => {
  for (const [rowDb, colDb, accept, what] of [
    [-6, -14, true, "normal 8 dB"],
    [-6, -16, false, "normal 10 dB"],
    [-14, -10, true, "reverse 4 dB"],
    [-16, -10, false, "reverse 6 dB"],
  ] as const) {
    let ok = 0;
    for (const [k, digit] of [...DIGITS].entries()) {
      const lead = 60 + k * 0.875;
      const pcm = signal([{ ms: lead }, { freqs: dualTone(digit, rowDb, colDb), ms: 100 }, { ms: 100 }]);
      const r = detect(g711(PCMU_TABLES, pcm));
      if (accept ? digitsOf(r) === digit : r.length === 0) {
        ok++;
      } else {
        t.fail(`${digit} ${what}: ${JSON.stringify(r)}`);
      }
    }
    t.equal(ok, 16, `${what}: ${accept ? "all 16 detected" : "none detected"}`);
  }
  t.end();
});

t.test("level: −26 dBm0 per tone detected, −36 dBm0 not; pre-emphasised generator detected", (t) => {
  for (const [level, accept] of [
    [-3, true],
    [-26, true],
    [-36, false],
    [-45, false],
  ] as const) {
    for (const [law, tables] of LAWS) {
      let ok = 0;
      for (const [k, digit] of [...DIGITS].entries()) {
        const gen = new DtmfToneGenerator(8000, { levelDbm0: level });
        gen.start(digit, 100);
        const pcm = new Int16Array(2400);
        gen.fill(pcm.subarray(480 + 7 * k));
        const r = detect(g711(tables, pcm));
        if (accept ? digitsOf(r) === digit : r.length === 0) {
          ok++;
        } else {
          t.fail(`${law} ${digit} at ${level} dBm0: ${JSON.stringify(r)}`);
        }
      }
      t.equal(ok, 16, `${law} ${level} dBm0: ${accept ? "all 16 detected" : "none detected"}`);
    }
  }
  const gen = new DtmfToneGenerator(8000, { preEmphasis: true });
  gen.start("D", 100);
  const pcm = new Int16Array(2400);
  gen.fill(pcm.subarray(400));
  t.equal(digitsOf(detect(g711(PCMU_TABLES, pcm))), "D", "+2 dB high group (reverse twist 2 dB) detected");
  t.end();
});

t.test("DTMF at −20 dBm0 in white noise at 10 dB SNR, and off-frequency with full twist, is detected", (t) => {
  const rnd = seededRandom(11);
  let ok = 0;
  for (const [k, digit] of [...DIGITS].entries()) {
    const pcm = signal([{ ms: 60 + k * 0.875 }, { freqs: dualTone(digit, -20, -20), ms: 100 }, { ms: 100 }]);
    // Uniform noise of mean square (2 tones of A²/2) / 10.
    const half = Math.sqrt((3 * amp(-20) ** 2) / 10);
    const noisy = Int16Array.from(pcm, (v) => Math.round(v + half * (2 * rnd() - 1)));
    ok += digitsOf(detect(g711(PCMA_TABLES, noisy))) === digit ? 1 : 0;
  }
  t.equal(ok, 16, "all 16 digits in noise");
  let combo = 0;
  for (const [k, digit] of [...DIGITS].entries()) {
    for (const [rowDb, colDb] of [
      [-6, -14],
      [-14, -10],
    ] as const) {
      for (const scale of [0.985, 1.015]) {
        const pcm = signal([
          { ms: 60 + k * 0.875 },
          { freqs: dualTone(digit, rowDb, colDb, scale), ms: 100 },
          { ms: 100 },
        ]);
        combo += digitsOf(detect(g711(PCMU_TABLES, pcm))) === digit ? 1 : 0;
      }
    }
  }
  t.equal(combo, 64, "8 dB normal / 4 dB reverse twist combined with ±1.5 %: all 64 detected");
  t.end();
});

t.test("timing: 30 ms tones are dropped, 40 ms kept, a 20 ms drop-out does not split a tone", (t) => {
  let short = 0;
  let long = 0;
  for (let off = 0; off < 105; off += 7) {
    const lead = 60 + off / 8;
    const s30 = signal([{ ms: lead }, { freqs: dualTone("5"), ms: 30 }, { ms: 100 }]);
    const s40 = signal([{ ms: lead }, { freqs: dualTone("5"), ms: 40 }, { ms: 100 }]);
    short += detect(s30).length;
    long += digitsOf(detect(g711(PCMU_TABLES, s40))) === "5" ? 1 : 0;
  }
  t.equal(short, 0, "30 ms tone not reported at any of 15 block alignments");
  t.equal(long, 15, "40 ms tone reported once at all 15 block alignments");

  for (let off = 0; off < 105; off += 15) {
    const lead = 60 + off / 8;
    const dropped = signal([
      { ms: lead },
      { freqs: dualTone("9"), ms: 90 },
      { ms: 20 },
      { freqs: dualTone("9"), ms: 90 },
      { ms: 100 },
    ]);
    const r = detect(g711(PCMU_TABLES, dropped));
    t.equal(digitsOf(r), "9", `20 ms drop-out at alignment ${off}: one digit`);
    t.ok(Math.abs((r[0]?.durationMs ?? 0) - 200) <= 15, `its duration ${r[0]?.durationMs} ≈ 200 ms`);
    const paused = signal([
      { ms: lead },
      { freqs: dualTone("9"), ms: 90 },
      { ms: 50 },
      { freqs: dualTone("9"), ms: 90 },
      { ms: 100 },
    ]);
    t.equal(digitsOf(detect(g711(PCMU_TABLES, paused))), "99", `50 ms pause at alignment ${off}: two presses`);
  }
  // A tone running into another digit with no pause ends the first.
  const direct = signal([{ ms: 60 }, { freqs: dualTone("1"), ms: 80 }, { freqs: dualTone("2"), ms: 80 }, { ms: 100 }]);
  t.equal(digitsOf(detect(direct)), "12", "digit straight into another digit: both");
  t.end();
});

t.test("frames of any size, flush ends a tone in progress", (t) => {
  const pcm = signal([{ ms: 60 }, { freqs: dualTone("#"), ms: 120 }, { ms: 120 }]);
  const whole = detect(pcm, 8000, pcm.length);
  t.equal(digitsOf(whole), "#", "one push of the whole signal");
  for (const frame of [1, 7, 80, 104, 105, 106, 333]) {
    t.same(detect(pcm, 8000, frame), whole, `${frame}-sample pushes give the same result`);
  }
  const d = new DtmfToneDetector({ sampleRate: 8000 });
  const cut = signal([{ ms: 60 }, { freqs: dualTone("7"), ms: 100 }]);
  t.same(d.push(cut), [], "nothing while the tone lasts");
  const f = d.flush();
  t.equal(digitsOf(f), "7", "flush reports the tone in progress");
  t.ok(Math.abs(f[0]!.durationMs - 100) <= 15, `with its duration so far (${f[0]!.durationMs} ms)`);
  t.same(d.flush(), [], "a second flush reports nothing");
  t.end();
});

t.test("talk-off: 30 s of speech-like signals and white noise give no digit", (t) => {
  const configs = [
    { seed: 1, pitchLow: 110, pitchHigh: 220, amplitude: 8000 },
    { seed: 2, pitchLow: 85, pitchHigh: 160, amplitude: 16000 },
    { seed: 3, pitchLow: 180, pitchHigh: 320, amplitude: 12000 },
    { seed: 4, pitchLow: 230, pitchHigh: 420, amplitude: 4000, noise: 0.05 },
  ];
  for (const c of configs) {
    const speech = generateSpeechLike({ sampleRate: 8000, samples: 8000 * 30, ...c });
    t.same(detect(g711(PCMU_TABLES, speech)), [], `speech-like pitch ${c.pitchLow}-${c.pitchHigh} Hz seed ${c.seed}`);
  }
  const rnd = seededRandom(7);
  for (const level of [300, 3000, 20000]) {
    const noise = new Int16Array(8000 * 30);
    for (let i = 0; i < noise.length; i++) {
      noise[i] = Math.round(level * (2 * rnd() - 1));
    }
    t.same(detect(g711(PCMA_TABLES, noise)), [], `white noise ±${level}`);
  }
  t.end();
});

t.test("DTMF over speech at +6 dB tone-to-speech is still detected", (t) => {
  let ok = 0;
  for (const [i, digit] of [...DIGITS].entries()) {
    const tone = signal([{ ms: 200 }, { freqs: dualTone(digit), ms: 100 }, { ms: 200 }]);
    const speech = generateSpeechLike({ sampleRate: 8000, samples: tone.length, seed: 10 + i });
    // Scale the speech so the two tones' power is 6 dB above the speech power while the tone lasts.
    let sp = 0;
    for (let k = ms(200); k < ms(300); k++) {
      sp += speech[k]! * speech[k]!;
    }
    sp /= ms(100);
    const tonePower = amp(-10) ** 2; // two tones of A²/2 each
    const g = Math.sqrt(tonePower / 10 ** 0.6 / sp);
    const mix = new Int16Array(tone.length);
    for (let k = 0; k < mix.length; k++) {
      mix[k] = Math.round(tone[k]! + g * speech[k]!);
    }
    const r = detect(g711(PCMU_TABLES, mix));
    if (digitsOf(r) === digit && Math.abs(r[0]!.durationMs - 100) <= 15) {
      ok++;
    } else {
      t.fail(`${digit} over speech: ${JSON.stringify(r)}`);
    }
  }
  t.equal(ok, 16, "all 16 digits detected once with a ±15 ms duration");
  t.end();
});

t.test("ffmpeg-generated tones (a real peer) decoded from μ-law are detected", (t) => {
  const one = ffmpegSync([
    "-f",
    "lavfi",
    "-i",
    "aevalsrc=0.2*sin(2*PI*697*t)+0.2*sin(2*PI*1209*t):s=8000:d=0.12",
    "-af",
    "apad=pad_dur=0.1",
    "-ar",
    "8000",
    "-f",
    "mulaw",
    "-",
  ]);
  const dec = new G711Decoder("PCMU");
  const decoded = new Int16Array(one.length);
  for (let o = 0; o < one.length; o += 160) {
    decoded.set(dec.decode(new Uint8Array(one.subarray(o, Math.min(one.length, o + 160)))), o);
  }
  const r1 = detect(decoded);
  t.equal(digitsOf(r1), "1", "ffmpeg 697+1209 Hz for 120 ms is '1'");
  t.ok(Math.abs((r1[0]?.durationMs ?? 0) - 120) <= 15, `duration ${r1[0]?.durationMs} ≈ 120 ms`);

  const seq = "5#0D*";
  const parts: string[] = [];
  const labels: string[] = [];
  [...seq].forEach((d, i) => {
    const { row, col } = dtmfFrequencies(d);
    parts.push(`aevalsrc=0.2*sin(2*PI*${row}*t)+0.2*sin(2*PI*${col}*t):s=8000:d=0.09[t${i}]`);
    parts.push(`aevalsrc=0:s=8000:d=0.07[s${i}]`);
    labels.push(`[t${i}][s${i}]`);
  });
  const graph = `${parts.join(";")};${labels.join("")}concat=n=${2 * seq.length}:v=0:a=1[out]`;
  const bytes = ffmpegSync(["-filter_complex", graph, "-map", "[out]", "-ar", "8000", "-f", "mulaw", "-"]);
  t.ok(bytes.length >= 8000 * 0.16 * seq.length - 8, `ffmpeg produced ${bytes.length} bytes`);
  const pcm = new Int16Array(bytes.length);
  decodeG711(PCMU_TABLES, new Uint8Array(bytes), pcm);
  const r = detect(pcm);
  t.equal(digitsOf(r), seq, "five ffmpeg digits separated by 70 ms come out in order");
  t.ok(
    r.every((x) => Math.abs(x.durationMs - 90) <= 15),
    `durations ${r.map((x) => x.durationMs).join(",")} ≈ 90 ms`,
  );
  t.end();
});

t.test("generator: the two Q.23 frequencies at the configured level, nothing else", (t) => {
  for (const fs of [8000, 16000, 48000]) {
    for (const digit of ["1", "5", "9", "D", "*"]) {
      for (const level of [-10, -20]) {
        const gen = new DtmfToneGenerator(fs, { levelDbm0: level });
        gen.start(digit, 500);
        const x = new Int16Array(ms(500, fs));
        t.ok(gen.fill(x), "fill returns true while playing");
        const { row, col } = dtmfFrequencies(digit);
        const lr = dbm0Of(x, fs, row);
        const lc = dbm0Of(x, fs, col);
        t.ok(
          Math.abs(lr - level) <= 0.5 && Math.abs(lc - level) <= 0.5,
          `${fs} Hz '${digit}' ${level} dBm0: ${lr.toFixed(2)}/${lc.toFixed(2)}`,
        );
        // All power is in the two tones: total mean square ≈ their sum.
        let ms2 = 0;
        for (const v of x) {
          ms2 += v * v;
        }
        ms2 /= x.length;
        const both = goertzelPower(x, fs, row) + goertzelPower(x, fs, col);
        t.ok(
          Math.abs(ms2 / both - 1) < 0.01,
          `${fs} Hz '${digit}': two tones hold all power (${(ms2 / both).toFixed(4)})`,
        );
        // Hann-windowed so the measurement's own leakage stays far below the threshold.
        const hann = Int16Array.from(x, (v, i) => Math.round(v * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / x.length))));
        const others = [...DTMF_ROW_HZ, ...DTMF_COL_HZ].filter((f) => f !== row && f !== col);
        const worst = Math.max(...others.map((f) => dbm0Of(hann, fs, f)));
        t.ok(worst < level - 50, `${fs} Hz '${digit}': other DTMF frequencies ≥ 50 dB down (${worst.toFixed(1)})`);
      }
    }
  }
  // The dominant frequency of each group, measured by FFT, is the Q.23 one.
  const gen = new DtmfToneGenerator(8000, { preEmphasis: true });
  gen.start("6", 1000);
  const x = new Int16Array(8000);
  gen.fill(x);
  t.ok(Math.abs(measureFrequency(x, 8000) - 1477) < 1, "pre-emphasised '6': strongest frequency 1477 Hz");
  t.ok(Math.abs(dbm0Of(x, 8000, 1477) - dbm0Of(x, 8000, 770) - 2) < 0.1, "high group 2 dB above the low group");
  const gen2 = new DtmfToneGenerator(8000);
  gen2.start("6", 1000);
  const y = new Int16Array(8000);
  gen2.fill(y);
  // Remove the column tone to measure the row one alone.
  const rowOnly = new Int16Array(8000);
  for (let i = 0; i < y.length; i++) {
    rowOnly[i] = Math.round(y[i]! - amp(-10) * Math.sin((2 * Math.PI * 1477 * i) / 8000));
  }
  t.ok(Math.abs(measureFrequency(rowOnly, 8000) - 770) < 1, `'6' low tone measures 770 Hz`);
  t.equal(DTMF_COL_HZ.length + DTMF_ROW_HZ.length, 8);
  t.end();
});

t.test("generator: phase-continuous across fill() calls of any size", (t) => {
  const ref = new DtmfToneGenerator(8000);
  ref.start("0", 300);
  const whole = new Int16Array(2400);
  ref.fill(whole);
  const gen = new DtmfToneGenerator(8000);
  gen.start("0", 300);
  const pieced = new Int16Array(2400);
  const sizes = [7, 160, 33, 1, 80, 159, 161, 13];
  let o = 0;
  let k = 0;
  while (o < pieced.length) {
    const n = Math.min(sizes[k++ % sizes.length]!, pieced.length - o);
    t.ok(gen.fill(pieced.subarray(o, o + n)), `fill ${n} at ${o}`);
    o += n;
  }
  let maxDiff = 0;
  for (let i = 0; i < whole.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - pieced[i]!));
  }
  t.ok(maxDiff <= 1, `pieced output equals one-call output within 1 LSB (max diff ${maxDiff})`);
  // No jump anywhere: the sample-to-sample step never exceeds the largest possible step of the two sines.
  const maxStep = amp(-10) * ((2 * Math.PI * 941) / 8000 + (2 * Math.PI * 1336) / 8000) + 2;
  let worst = 0;
  for (let i = 1; i < ms(300); i++) {
    worst = Math.max(worst, Math.abs(pieced[i]! - pieced[i - 1]!));
  }
  t.ok(worst <= maxStep, `largest step ${worst} ≤ ${maxStep.toFixed(0)}`);
  t.equal(pieced[0], 0, "starts at phase 0");
  t.ok(
    pieced.subarray(ms(300)).every((v) => v === 0),
    "zeros after the tone in the last frame",
  );
  t.end();
});

t.test("generator: idle frames untouched, gaps are zeros, busy/clear, case-insensitive", (t) => {
  const gen = new DtmfToneGenerator(8000, { gapMs: 50 });
  const frame = new Int16Array(160).fill(1234);
  t.notOk(gen.busy, "idle at first");
  t.notOk(gen.fill(frame), "fill returns false when idle");
  t.ok(
    frame.every((v) => v === 1234),
    "and leaves the frame untouched",
  );
  gen.start("a", 40);
  gen.start("b", 40);
  t.ok(gen.busy, "busy with two queued digits");
  // 40 + 50 + 40 ms = 1040 samples: seven 160-sample frames.
  const out = new Int16Array(160 * 7);
  for (let f = 0; f < 7; f++) {
    const fr = out.subarray(160 * f, 160 * (f + 1));
    t.ok(gen.fill(fr), `frame ${f} filled`);
  }
  t.notOk(gen.busy, "idle again after both digits");
  t.notOk(gen.fill(frame), "then fill returns false");
  const gap = out.subarray(320, 720);
  t.ok(
    gap.every((v) => v === 0),
    "the 50 ms gap (samples 320..720) is all zeros",
  );
  t.ok(out.subarray(1, 320).some((v) => v !== 0) && out.subarray(721, 1040).some((v) => v !== 0), "tones either side");
  const seq = new Int16Array(160 * 22);
  seq.set(out, 800);
  t.equal(digitsOf(detect(seq)), "AB", "a and b are A and B");
  gen.start("1", 1000);
  t.ok(gen.fill(frame), "playing");
  gen.clear();
  t.notOk(gen.busy, "clear stops it");
  frame.fill(5);
  t.notOk(gen.fill(frame), "fill returns false after clear");
  t.ok(
    frame.every((v) => v === 5),
    "frame untouched after clear",
  );
  t.end();
});

t.test("bad arguments throw DtmfToneError", (t) => {
  const gen = new DtmfToneGenerator(8000);
  for (const bad of ["E", "e", "12", "", "x", " ", "%"]) {
    t.throws(() => gen.start(bad, 100), DtmfToneError, `digit ${JSON.stringify(bad)}`);
  }
  for (const dur of [0, -5, Number.NaN, Infinity, 60001]) {
    t.throws(() => gen.start("1", dur), DtmfToneError, `duration ${dur}`);
  }
  t.notOk(gen.busy, "rejected digits are not queued");
  for (const rate of [0, 4000, 7999, 8000.5, 96000, Number.NaN]) {
    t.throws(() => new DtmfToneGenerator(rate), DtmfToneError, `generator rate ${rate}`);
    t.throws(() => new DtmfToneDetector({ sampleRate: rate }), DtmfToneError, `detector rate ${rate}`);
  }
  t.throws(() => new DtmfToneGenerator(8000, { gapMs: -1 }), DtmfToneError, "negative gap");
  t.throws(() => new DtmfToneGenerator(8000, { levelDbm0: 3 }), DtmfToneError, "level above −3 dBm0");
  t.throws(() => dtmfFrequencies("Z"), DtmfToneError, "dtmfFrequencies('Z')");
  t.same(dtmfFrequencies("d"), { row: 941, col: 1633 }, "d → 941/1633 Hz");
  t.same(dtmfFrequencies("*"), { row: 941, col: 1209 }, "* → 941/1209 Hz");
  t.same(dtmfFrequencies("0"), { row: 941, col: 1336 }, "0 → 941/1336 Hz");
  const e = new DtmfToneError("x");
  t.equal(e.name, "DtmfToneError");
  t.ok(e instanceof Error);
  t.end();
});

t.test("16 kHz and 48 kHz: generator → detector", (t) => {
  t.equal(new DtmfToneDetector({ sampleRate: 8000 }).blockSize, 105, "105-sample blocks at 8 kHz");
  t.equal(new DtmfToneDetector({ sampleRate: 16000 }).blockSize, 210, "210 at 16 kHz");
  t.equal(new DtmfToneDetector({ sampleRate: 48000 }).blockSize, 630, "630 at 48 kHz");
  for (const fs of [16000, 48000]) {
    const gen = new DtmfToneGenerator(fs, { gapMs: 60 });
    for (const d of DIGITS) {
      gen.start(d, 70);
    }
    const frame = fs / 50;
    const frames: Int16Array[] = [];
    while (gen.busy) {
      const f = new Int16Array(frame);
      gen.fill(f);
      frames.push(f);
    }
    const pcm = new Int16Array(frame * (frames.length + 10));
    frames.forEach((f, i) => pcm.set(f, frame * (i + 3)));
    const r = detect(pcm, fs);
    t.equal(digitsOf(r), DIGITS, `${fs} Hz: all 16 digits in order`);
    t.ok(
      r.every((x) => Math.abs(x.durationMs - 70) <= 15),
      `${fs} Hz durations ${r.map((x) => x.durationMs).join(",")}`,
    );
    const short = signal([{ ms: 60 }, { freqs: dualTone("3"), ms: 30 }, { ms: 100 }], fs);
    t.same(detect(short, fs), [], `${fs} Hz: 30 ms tone dropped`);
    const off = signal([{ ms: 60 }, { freqs: dualTone("3", -10, -10, 1.035), ms: 100 }, { ms: 100 }], fs);
    t.same(detect(off, fs), [], `${fs} Hz: 3.5 % off rejected`);
    const near = signal([{ ms: 60 }, { freqs: dualTone("3", -10, -10, 0.985), ms: 100 }, { ms: 100 }], fs);
    t.equal(digitsOf(detect(near, fs)), "3", `${fs} Hz: 1.5 % off accepted`);
    const speech = generateSpeechLike({ sampleRate: fs, samples: fs * 10, seed: 5 });
    t.same(detect(speech, fs), [], `${fs} Hz: 10 s speech-like, no digit`);
  }
  t.end();
});
