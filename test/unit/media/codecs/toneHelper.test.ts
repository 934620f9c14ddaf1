import t from "tap";
import {
  generateSpeechLike,
  generateTone,
  measureFrequency,
  rmsDbfs,
  snrDb,
  snrDbExact,
  toneLevelDb,
} from "../../../helpers/tone.js";

t.test("measureFrequency finds tones to a fraction of a bin", (t) => {
  for (const [fs, f] of [
    [8000, 1000],
    [8000, 440],
    [16000, 3170.5],
    [48000, 997],
    [48000, 12000],
  ] as const) {
    const x = generateTone(f, { sampleRate: fs, samples: fs });
    const m = measureFrequency(x, fs);
    t.ok(Math.abs(m - f) < 0.5, `${f} Hz at ${fs} Hz measured as ${m.toFixed(2)}`);
  }
  t.equal(measureFrequency(new Int16Array(1024), 8000), 0, "silence measures 0");
  t.throws(() => measureFrequency(new Int16Array(10), 8000), RangeError);
  t.end();
});

t.test("toneLevelDb and rmsDbfs", (t) => {
  const x = generateTone(1000, { sampleRate: 8000, samples: 8000, amplitude: 32767 });
  t.ok(Math.abs(toneLevelDb(x, 8000, 1000)) < 0.1, "full-scale sine is 0 dB at its frequency");
  t.ok(toneLevelDb(x, 8000, 2500) < -60, "and far down elsewhere");
  t.ok(Math.abs(rmsDbfs(x) + 3.01) < 0.05, "full-scale sine RMS is -3 dBFS");
  const f = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    f[i] = x[i]! / 32767;
  }
  t.ok(Math.abs(toneLevelDb(f, 8000, 1000)) < 0.1, "Float32 full scale is 1.0");
  t.end();
});

t.test("snrDb finds lag and gain; snrDbExact does not", (t) => {
  const ref = generateSpeechLike({ sampleRate: 8000, samples: 8000 });
  const delayed = new Int16Array(ref.length + 40);
  for (let i = 0; i < ref.length; i++) {
    delayed[i + 40] = Math.round(ref[i]! * 0.5);
  }
  t.ok(snrDb(ref, delayed, { maxLag: 100 }) > 40, "delayed, half-gain copy is found");
  t.ok(snrDb(ref, delayed, { maxLag: 10 }) < 3, "outside the lag window it is not");
  t.ok(snrDbExact(ref, ref) > 100);
  t.ok(snrDbExact(ref, delayed) < 3);
  t.end();
});

t.test("generateSpeechLike is deterministic, speech-band and not silent", (t) => {
  const a = generateSpeechLike({ sampleRate: 16000, samples: 16000, seed: 7 });
  const b = generateSpeechLike({ sampleRate: 16000, samples: 16000, seed: 7 });
  t.same(a, b);
  const lvl = rmsDbfs(a);
  t.ok(lvl > -30 && lvl < -6, `level ${lvl.toFixed(1)} dBFS`);
  const f = measureFrequency(a, 16000);
  t.ok(f > 100 && f < 1000, `dominant component ${f.toFixed(0)} Hz is a low harmonic`);
  t.end();
});
