import t from "tap";
import { CodecError } from "../../../../media/codecs/errors.js";
import { Resampler } from "../../../../media/codecs/resampler.js";
import { generateTone, measureFrequency, rmsDbfs, toneLevelDb } from "../../../helpers/tone.js";

const RATES = [8000, 16000, 48000] as const;
const PAIRS = RATES.flatMap((a) => RATES.filter((b) => b !== a).map((b) => [a, b] as const));

/** Streams `x` through `r` in 20 ms frames. */
function stream(r: Resampler, x: Int16Array): Int16Array {
  const n = r.inRate / 50;
  const parts: Int16Array[] = [];
  for (let o = 0; o < x.length; o += n) {
    const y = r.process(x.subarray(o, o + n));
    if (y.length !== r.outRate / 50) {
      throw new Error(`20 ms in gave ${y.length} samples out`);
    }
    parts.push(y);
  }
  const out = new Int16Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

for (const [from, to] of PAIRS) {
  t.test(`${from} → ${to}: passband tone SNR, flatness, DC gain, streaming = one shot`, (t) => {
    const r = new Resampler(from, to);
    const x = generateTone(1000, { sampleRate: from, samples: from, amplitude: 16000 });
    const y = stream(r, x);
    t.equal(y.length, to, "one second in, one second out");
    // Ideal output: the same sine at the output rate, delayed by the filter's group delay.
    const skip = Math.ceil(r.delay) + 2 * Math.ceil((r.taps * to) / from);
    let sig = 0;
    let err = 0;
    for (let i = skip; i < y.length; i++) {
      const ideal = 16000 * Math.sin((2 * Math.PI * 1000 * (i - r.delay)) / to);
      sig += ideal * ideal;
      err += (y[i]! - ideal) ** 2;
    }
    const snr = 10 * Math.log10(sig / err);
    t.ok(snr > 60, `1 kHz tone SNR ${snr.toFixed(1)} dB > 60 (delay ${r.delay.toFixed(2)} samples)`);
    t.ok(Math.abs(measureFrequency(y.subarray(skip), to) - 1000) < 0.5, "frequency kept");

    const oneShot = new Resampler(from, to).process(x);
    t.same(Array.from(oneShot), Array.from(y), "20 ms frames give exactly the one-shot output");

    const fmin = Math.min(from, to);
    const edge = fmin === 8000 ? 3000 : 6000;
    for (const f of [300, 1000, edge]) {
      const tone = generateTone(f, { sampleRate: from, samples: from, amplitude: 10000 });
      const out = new Resampler(from, to).process(tone).subarray(skip);
      const gain = toneLevelDb(out, to, f) - toneLevelDb(tone, from, f);
      t.ok(Math.abs(gain) < 0.5, `gain at ${f} Hz ${gain.toFixed(3)} dB within ±0.5`);
    }

    const dc = new Resampler(from, to).process(new Int16Array(from).fill(10000)).subarray(skip);
    t.ok(
      dc.every((v) => Math.abs(v - 10000) <= 1),
      `DC gain 1 (${Math.min(...dc)}..${Math.max(...dc)})`,
    );
    t.end();
  });
}

t.test("stopband: out-of-band tones are ≥ 50 dB down after downsampling", (t) => {
  for (const [from, to, f] of [
    [16000, 8000, 6000],
    [16000, 8000, 4500],
    [48000, 8000, 6000],
    [48000, 8000, 12000],
    [48000, 16000, 9000],
    [48000, 16000, 20000],
  ] as const) {
    // Float path, so the attenuation is measured below the Int16 quantisation floor too.
    const tone = Float32Array.from(
      generateTone(f, { sampleRate: from, samples: from, amplitude: 30000 }),
      (v) => v / 32768,
    );
    const y = new Resampler(from, to).processFloat(tone).subarray(to / 10);
    const atten = rmsDbfs(tone) - rmsDbfs(y);
    t.ok(atten >= 50, `${f} Hz, ${from} → ${to}: ${atten.toFixed(1)} dB down`);
    if (f === 6000 && from === 16000) {
      t.ok(atten >= 70, "the 6 kHz case even clears 70 dB");
      const y16 = new Resampler(from, to).process(
        generateTone(f, { sampleRate: from, samples: from, amplitude: 30000 }),
      );
      t.ok(rmsDbfs(y16.subarray(800)) < -80, "and in Int16 it is within a bit or two of silence");
    }
  }
  t.end();
});

t.test("upsampling leaves no images above the source band", (t) => {
  const tone = generateTone(1000, { sampleRate: 8000, samples: 8000, amplitude: 30000 });
  const y = new Resampler(8000, 48000).process(tone).subarray(4800);
  for (const image of [7000, 9000, 15000, 17000]) {
    const lvl = toneLevelDb(y, 48000, image) - toneLevelDb(y, 48000, 1000);
    t.ok(lvl < -60, `image at ${image} Hz is ${lvl.toFixed(1)} dB`);
  }
  t.end();
});

t.test("odd chunk sizes, Float32 path, reset and bad options", (t) => {
  const x = generateTone(700, { sampleRate: 16000, samples: 16000 });
  const ref = new Resampler(16000, 48000).process(x);
  const r = new Resampler(16000, 48000);
  const parts: number[] = [];
  for (let o = 0, k = 1; o < x.length; o += k, k = (k * 7 + 3) % 500) {
    parts.push(...r.process(x.subarray(o, o + k)));
  }
  t.same(parts, Array.from(ref), "irregular chunks give the same samples");
  const rf = new Resampler(48000, 8000);
  const f = rf.processFloat(
    Float32Array.from(generateTone(440, { sampleRate: 48000, samples: 4800 }), (v) => v / 32768),
  );
  t.equal(f.length, 800);
  t.ok(
    f.every((v) => Math.abs(v) <= 1.01),
    "Float32 keeps its scale",
  );
  rf.reset();
  t.equal(rf.process(new Int16Array(480)).length, 80, "after reset it starts over");
  t.equal(new Resampler(44100, 48000).process(new Int16Array(441)).length, 480, "other rational ratios work");
  t.throws(() => new Resampler(8000, 7), CodecError);
  t.throws(() => new Resampler(8000.5, 16000), CodecError);
  t.throws(() => new Resampler(8000, 16000, { tapsPerPhase: 2 }), CodecError);
  t.throws(() => new Resampler(8000, 384000 - 1), CodecError, "factors too large");
  t.end();
});
