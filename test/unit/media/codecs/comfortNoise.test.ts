import t from "tap";
import {
  analyzeComfortNoise,
  ComfortNoiseGenerator,
  dbovToRms,
  encodeComfortNoise,
  measureDbov,
  parseComfortNoise,
} from "../../../../media/codecs/comfortNoise.js";
import { ComfortNoiseError } from "../../../../media/codecs/errors.js";
import { magnitudeSpectrum, rmsDbfs, seededRandom } from "../../../helpers/tone.js";

t.test("parse and build CN payloads (RFC 3389 §3)", (t) => {
  t.same(parseComfortNoise(Uint8Array.of(40)), { levelDbov: 40, reflection: [] }, "level only");
  const p = parseComfortNoise(Uint8Array.of(64, 127, 255, 0, 191));
  t.equal(p.levelDbov, 64);
  t.same(p.reflection, [0, 1, -127 / 128, 0.5], "k = (N − 127) / 128");
  t.same(Array.from(encodeComfortNoise(p)), [64, 127, 255, 0, 191], "and back");
  t.same(
    Array.from(encodeComfortNoise({ levelDbov: 70.4, reflection: [-0.25, 2] })),
    [70, 95, 255],
    "rounded, clamped",
  );
  t.throws(() => parseComfortNoise(new Uint8Array(0)), ComfortNoiseError, "empty");
  t.throws(() => parseComfortNoise(Uint8Array.of(0x80)), ComfortNoiseError, "reserved bit set");
  t.throws(() => parseComfortNoise(new Uint8Array(40)), ComfortNoiseError, "absurd model order");
  t.throws(() => encodeComfortNoise({ levelDbov: 128, reflection: [] }), ComfortNoiseError);
  t.throws(() => encodeComfortNoise({ levelDbov: Number.NaN, reflection: [] }), ComfortNoiseError);
  t.end();
});

t.test("dBov scale: 0 dBov is a full-scale square wave", (t) => {
  t.equal(measureDbov(new Int16Array(160).fill(32767)), 0);
  t.equal(measureDbov(new Int16Array(160)), 127, "digital silence");
  t.equal(measureDbov(new Int16Array(160).fill(328)), 40, "1 % of full scale is −40 dBov");
  t.ok(Math.abs(dbovToRms(20) - 3276.7) < 0.01);
  t.end();
});

t.test("generated noise has the level of the CN payload, white or shaped", (t) => {
  for (const level of [30, 50, 70]) {
    const g = new ComfortNoiseGenerator(160);
    g.update(parseComfortNoise(Uint8Array.of(level)));
    const frames = Array.from({ length: 50 }, () => g.generate());
    const all = new Int16Array(8000);
    frames.forEach((f, i) => all.set(f, i * 160));
    t.ok(Math.abs(measureDbov(all) - level) <= 1, `white noise at −${level} dBov measures −${measureDbov(all)}`);
  }
  // Shaped: low-pass noise (strong positive correlation) keeps its level and is louder at low frequencies.
  const src = new Int16Array(16000);
  const rnd = seededRandom(2);
  let y = 0;
  for (let i = 0; i < src.length; i++) {
    y = 0.9 * y + (rnd() - 0.5) * 2000;
    src[i] = Math.round(y);
  }
  const params = analyzeComfortNoise(src, 4);
  t.ok(
    params.reflection[0]! < -0.5,
    `first reflection coefficient ${params.reflection[0]!.toFixed(2)} shows the low-pass shape`,
  );
  const payload = encodeComfortNoise(params);
  t.equal(payload.length, 5, "level + 4 coefficients");
  const g = new ComfortNoiseGenerator(160, 99);
  g.update(parseComfortNoise(payload));
  const out = new Int16Array(16000);
  for (let i = 0; i < 100; i++) {
    out.set(g.generate(), i * 160);
  }
  t.ok(
    Math.abs(measureDbov(out) - params.levelDbov) <= 1.5,
    `shaped noise level −${measureDbov(out)} vs −${params.levelDbov} dBov`,
  );
  const { mags } = magnitudeSpectrum(out);
  const band = (lo: number, hi: number): number => {
    let s = 0;
    for (let k = Math.floor(lo * mags.length); k < hi * mags.length; k++) {
      s += mags[k]! ** 2;
    }
    return s;
  };
  const tilt = 10 * Math.log10(band(0, 0.1) / band(0.5, 0.6));
  t.ok(tilt > 15, `generated spectrum is low-pass like the source (${tilt.toFixed(1)} dB tilt)`);
  const fresh = new ComfortNoiseGenerator(80);
  t.equal(rmsDbfs(fresh.generate()), rmsDbfs(new Int16Array(80)), "silence before the first CN payload");
  fresh.update({ levelDbov: 127, reflection: [] });
  t.ok(
    fresh.generate().every((v) => v === 0),
    "−127 dBov is silence",
  );
  t.throws(() => new ComfortNoiseGenerator(0), ComfortNoiseError);
  t.throws(() => analyzeComfortNoise(src, 40), ComfortNoiseError);
  t.end();
});
