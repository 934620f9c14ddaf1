import t from "tap";
import { CodecError } from "../../../../media/codecs/errors.js";
import { g711Reframer, pcmReframer, ptimeSamples } from "../../../../media/codecs/reframer.js";

t.test("ptimeSamples", (t) => {
  t.equal(ptimeSamples(8000, 20), 160);
  t.equal(ptimeSamples(8000, 30), 240);
  t.equal(ptimeSamples(48000, 60), 2880);
  t.equal(ptimeSamples(16000, 40), 640);
  t.throws(() => ptimeSamples(8000, 25), CodecError);
  t.throws(() => ptimeSamples(11025, 10), CodecError, "not whole samples");
  t.end();
});

for (const [fromMs, toMs] of [
  [20, 30],
  [20, 40],
  [20, 60],
  [30, 20],
  [60, 20],
  [40, 30],
] as const) {
  t.test(`PCM ${fromMs} ms → ${toMs} ms keeps every sample in order`, (t) => {
    const inN = ptimeSamples(8000, fromMs);
    const r = pcmReframer(ptimeSamples(8000, toMs));
    const total = 8000 * 1.2;
    const out: number[] = [];
    const starts: number[] = [];
    for (let s = 0; s < total; s += inN) {
      const frame = Int16Array.from({ length: inN }, (_, i) => (s + i) % 32768);
      for (const f of r.push(frame)) {
        t.equal(f.length, r.frameSamples);
        starts.push(f[0]!);
        out.push(...f);
      }
    }
    t.same(
      out,
      Array.from({ length: out.length }, (_, i) => i),
      "samples in order, none lost or repeated",
    );
    t.equal(out.length + r.pending, total, "the rest waits");
    t.same(
      starts,
      starts.map((_, i) => i * r.frameSamples),
      "frame starts advance by the output ptime",
    );
    t.equal(r.position, out.length, "position = samples emitted (the next RTP timestamp offset)");
    t.end();
  });
}

t.test("G.711 bytes re-framed without decoding; flush pads with the silence code", (t) => {
  const r = g711Reframer(240);
  t.same(r.push(new Uint8Array(160).fill(1)), []);
  const [f] = r.push(new Uint8Array(160).fill(2));
  t.equal(f!.length, 240);
  t.same([f![0], f![159], f![160], f![239]], [1, 1, 2, 2]);
  t.equal(r.pending, 80);
  const last = r.flush(0xff)!;
  t.same([last[0], last[79], last[80], last[239]], [2, 2, 0xff, 0xff]);
  t.equal(r.flush(), null, "nothing pending");
  t.throws(() => pcmReframer(0), CodecError);
  t.end();
});
