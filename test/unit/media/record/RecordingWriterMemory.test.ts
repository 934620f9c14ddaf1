/**
 * A long recording's writer does not grow (issue 11: < 1 MB per recording, steady): mediabunny's in-memory index
 * (Matroska Cues, fragmented-MP4 chunks with every sample's metadata) is trimmed as the file is written
 * (media/record/muxerIndex.ts). In a child Node (`--expose-gc`, nothing else in its heap; the built dist/), three
 * writers per container take 20 minutes of 20 ms Opus-sized packets each; the heap after a full GC must not grow
 * between minute 5 and minute 20 (untrimmed: ~56 KiB/min per WebM writer, ~430 KiB/min per MP4 writer, so ~840 KiB
 * and ~6.4 MiB), and the files must still re-mux to the full duration.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { RecordingWriter } from "../../../../media/record/RecordingWriter.js";
import { FINALIZE_CONCURRENCY, finalizeRecording, finalizing } from "../../../../media/record/finalize.js";
import { ROOT } from "../../../helpers/server.js";
import { ffprobe } from "../../../integration/recorderRig.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-writer-mem-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const script = path.join(dir, "child.mjs");
writeFileSync(
  script,
  `
const { RecordingWriter } = await import(${JSON.stringify(path.join(ROOT, "dist/media/record/RecordingWriter.js"))});
const [container, out] = process.argv.slice(2);
const errors = [];
const writers = [0, 1, 2].map((k) => new RecordingWriter(out + k + "." + container, container, { audio: true, video: false },
  (e) => errors.push(String(e))));
const packet = Uint8Array.from({ length: 80 }, (_, i) => i);
const heap = () => { gc(); gc(); return process.memoryUsage().heapUsed / 1024; };
let n = 0;
async function run(minutes) {
  for (const until = n + minutes * 60 * 50; n < until; n++) {
    for (const w of writers) w.audio(packet, n * 0.02);
    if (n % 10 === 0) await new Promise((r) => setImmediate(r));
  }
  await new Promise((r) => setTimeout(r, 20));
}
await run(5);
const h0 = heap();
await run(15);
const growthKiB = (heap() - h0) / writers.length;
for (const w of writers) await w.finish();
console.log(JSON.stringify({ growthKiB, errors }));
`,
);

for (const container of ["webm", "mp4"] as const) {
  t.test(`${container}: 20 minutes of audio, the writer's memory stays flat`, async (t) => {
    const out = path.join(dir, "m");
    const r = spawnSync(process.execPath, ["--expose-gc", script, container, out], { timeout: 120_000 });
    t.equal(r.status, 0, `the child ran (${r.stderr.toString().slice(0, 300)})`);
    const res = JSON.parse(r.stdout.toString().trim().split("\n").at(-1) ?? "{}") as {
      growthKiB: number;
      errors: string[];
    };
    t.same(res.errors, [], "no write error");
    t.ok(res.growthKiB < 150, `heap growth over 15 minutes: ${res.growthKiB.toFixed(0)} KiB per writer`);
    const file = `${out}0.${container}`;
    t.ok((await finalizeRecording(file, container)).ok, "the file re-muxes (finalize.ts)");
    const p = ffprobe(file);
    t.ok(Math.abs(p.durationSec - 1200) < 2, `the file lasts ${p.durationSec} s`);
  });
}

t.test(
  "releasing many recorders at once: at most FINALIZE_CONCURRENCY ffmpeg passes run, the rest queue",
  async (t) => {
    const files: string[] = [];
    for (let k = 0; k < 10; k++) {
      const file = path.join(dir, `q${k}.webm`);
      const w = new RecordingWriter(file, "webm", { audio: true, video: false }, () => t.fail("no write error"));
      for (let n = 0; n < 50; n++) {
        w.audio(Uint8Array.of(0xf8, 0xff, 0xfe), n * 0.02);
      }
      await w.finish();
      files.push(file);
    }
    let most = 0;
    const poll = setInterval(() => {
      most = Math.max(most, finalizing());
    }, 1);
    const results = await Promise.all(files.map((f) => finalizeRecording(f, "webm")));
    clearInterval(poll);
    t.ok(
      results.every((r) => r.ok),
      "every file was finalised",
    );
    t.ok(most >= 1 && most <= FINALIZE_CONCURRENCY, `at most ${most} at once (limit ${FINALIZE_CONCURRENCY})`);
    t.equal(finalizing(), 0, "none left running");
    t.ok(Math.abs(ffprobe(files[9] ?? "").durationSec - 1) < 0.1, "the last one queued lasts its 1 s");
  },
);
