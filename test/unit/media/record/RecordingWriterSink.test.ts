/**
 * The recorder's file sink (media/record/fileSink.ts): mediabunny's small per-packet chunks become one write per
 * FLUSH_MS batch (or per MAX_BATCH bytes), the idle timer flushes a sink whose input stopped, rewrites inside the
 * batch land in place, and a write error (ENOSPC on /dev/full) is thrown once and reported by the timer.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { FileSink, FLUSH_MS, MAX_BATCH } from "../../../../media/record/fileSink.js";
import { RecordingWriter } from "../../../../media/record/RecordingWriter.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-sink-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const delay = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 0xff);

t.test("contiguous chunks: one write per batch, the file byte for byte", (t) => {
  const file = path.join(dir, "a.bin");
  const sink = new FileSink(file, () => t.fail("no error"));
  const parts: Uint8Array[] = [];
  let pos = 0;
  for (let i = 0; i < 200; i++) {
    const b = bytes(60 + (i % 40), i);
    sink.write(b, pos);
    parts.push(b);
    pos += b.length;
  }
  t.equal(sink.writes, 0, "200 packets' chunks wait in the batch");
  t.equal(sink.size, pos, "all handed over");
  t.equal(sink.written, 0, "nothing written yet");
  sink.flushIfDue(performance.now() + FLUSH_MS);
  t.equal(sink.writes, 1, "one write for the batch");
  t.equal(sink.written, pos);
  sink.close();
  t.same(readFileSync(file), Buffer.concat(parts), "the file holds the chunks in order");
  t.end();
});

t.test("a batch never exceeds MAX_BATCH; a rewrite lands in place; a jump flushes first", (t) => {
  const file = path.join(dir, "b.bin");
  const sink = new FileSink(file, () => t.fail("no error"));
  const expect = Buffer.alloc(3 * MAX_BATCH);
  for (let pos = 0; pos < 2 * MAX_BATCH; pos += 1000) {
    const b = bytes(1000, pos);
    sink.write(b, pos);
    expect.set(b, pos);
  }
  t.ok(sink.writes >= 1 && sink.writes <= 3, `${sink.writes} writes for 2 × MAX_BATCH bytes`);
  const end = 2 * MAX_BATCH - ((2 * MAX_BATCH) % 1000) + 1000;
  const fix = Uint8Array.of(1, 2, 3, 4);
  sink.write(fix, end - 10); // inside what still waits
  expect.set(fix, end - 10);
  const far = bytes(100, 9);
  const before = sink.writes;
  sink.write(far, end + 500); // not contiguous: what waits is written first
  expect.set(far, end + 500);
  t.equal(sink.writes, before + 1, "the jump flushed the batch");
  sink.close();
  t.same(readFileSync(file), expect.subarray(0, end + 600), "rewrite and jump land where they belong");
  t.end();
});

t.test("the idle timer flushes a sink whose input stopped", async (t) => {
  const file = path.join(dir, "c.bin");
  const sink = new FileSink(file, () => t.fail("no error"));
  sink.write(bytes(300, 1), 0);
  t.equal(readFileSync(file).length, 0, "waits at first");
  await delay(FLUSH_MS * 2 + 200);
  t.equal(readFileSync(file).length, 300, "written by the timer");
  sink.close();
});

t.test("a write error is reported once by the timer and thrown to the next write", async (t) => {
  const errors: string[] = [];
  const sink = new FileSink("/dev/full", (e) => errors.push((e as NodeJS.ErrnoException).code ?? e.message));
  sink.write(bytes(100, 2), 0);
  await delay(FLUSH_MS * 2 + 200);
  t.same(errors, ["ENOSPC"], "the timer's flush reported ENOSPC");
  t.throws(() => sink.write(bytes(10, 3), 100), { code: "ENOSPC" }, "the next write throws it");
  sink.close();
  sink.close();
  t.same(errors, ["ENOSPC"], "once");
});

t.test("the writer batches: 10 s of Opus-sized packets make one write per 0.5 s, not one per packet", async (t) => {
  const file = path.join(dir, "w.webm");
  const w = new RecordingWriter(file, "webm", { audio: true, video: false }, () => t.fail("no error"));
  const started = performance.now();
  // 500 packets of 80 bytes stamped 20 ms apart, fed over ~2.5 s of real time.
  for (let n = 0; n < 500; n++) {
    w.audio(bytes(80, n), n * 0.02);
    if (n % 10 === 9) {
      await delay(50);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const s = await w.finish();
  t.ok(w.writes <= Math.ceil(seconds / (FLUSH_MS / 1000)) + 3, `${w.writes} writes over ${seconds.toFixed(1)} s`);
  t.ok(s.bytes > 500 * 80, `${s.bytes} bytes written`);
  t.ok(existsSync(file), "the file exists");
});
