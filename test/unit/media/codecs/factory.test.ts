import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import * as codecs from "../../../../media/codecs/index.js";
import { generateTone, measureFrequency } from "../../../helpers/tone.js";

t.test("createEncoder/createDecoder by SDP name: every codec round-trips a tone", (t) => {
  for (const [name, opts, rate] of [
    ["pcmu", {}, 8000],
    ["PCMA", { frameMs: 30 }, 8000],
    ["g722", {}, 16000],
    ["OPUS", { sampleRate: 16000 }, 16000],
    ["opus", {}, 48000],
    ["AMR", { modeSet: [0, 5] }, 8000],
    ["amr-wb", {}, 16000],
  ] as const) {
    const enc = codecs.createEncoder(name, opts);
    const dec = codecs.createDecoder(name, opts);
    t.equal(enc.sampleRate, rate, `${name}: ${rate} Hz`);
    t.equal(enc.frameSamples, dec.frameSamples);
    const tone = generateTone(1000, { sampleRate: rate, samples: enc.frameSamples * 25 });
    const out = new Int16Array(tone.length);
    for (let o = 0; o < tone.length; o += enc.frameSamples) {
      out.set(dec.decode(enc.encode(tone.subarray(o, o + enc.frameSamples))), o);
    }
    t.ok(Math.abs(measureFrequency(out.subarray(rate / 10), rate) - 1000) < 3, `${name}: 1 kHz out`);
    enc.close();
    dec.close();
  }
  const amr = codecs.createEncoder("AMR", { modeSet: [0, 5] });
  t.ok(amr instanceof codecs.AmrRtpEncoder && amr.mode === 5, "AMR starts at the top of its mode-set");
  t.equal(codecs.createEncoder("PCMA", { frameMs: 30 }).frameSamples, 240);
  t.equal(codecs.codecName("G729"), undefined);
  t.throws(() => codecs.createEncoder("G729"), codecs.CodecError);
  t.throws(() => codecs.createDecoder("telephone-event"), codecs.CodecError);
  t.end();
});

t.test("nothing outside media/codecs/ imports the native addon", (t) => {
  const root = fileURLToPath(new URL("../../../../", import.meta.url));
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir)) {
      const p = path.join(dir, e);
      const rel = path.relative(root, p);
      if (e === "node_modules" || e === "dist" || rel.startsWith(path.join("media", "codecs"))) {
        continue;
      }
      if (rel.startsWith(path.join("test", "unit", "media", "codecs"))) {
        continue;
      }
      if (statSync(p).isDirectory()) {
        walk(p);
      } else if (/\.(ts|js|mjs|cjs)$/.test(e)) {
        const src = readFileSync(p, "utf8");
        if (/codecs\/native(\.js|\/)|korus_codecs/.test(src)) {
          offenders.push(rel);
        }
      }
    }
  };
  for (const d of ["src", "media", "sip", "sdp", "bench", "test"]) {
    walk(path.join(root, d));
  }
  t.same(offenders, [], "only media/codecs/ (and its own tests) reach the addon");
  t.end();
});
