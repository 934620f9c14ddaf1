import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import t from "tap";
import { addonCandidates, nativeCodecs, type NativeHandle } from "../../../../media/codecs/native.js";

// The addon's own argument checks, below the TypeScript wrappers: nothing a caller passes may crash the process.
t.test("addon refuses wrong handles, kinds, types and sizes with JS errors", (t) => {
  const lib = nativeCodecs();
  const enc = lib.amrnbEncoderCreate(false);
  const dec = lib.amrnbDecoderCreate();
  const fake = {} as NativeHandle;
  const pcm = new Int16Array(160);
  const out = new Uint8Array(64);
  const cases: [string, () => unknown][] = [
    ["no arguments", () => (lib.amrnbEncode as unknown as () => number)()],
    ["plain object as handle", () => lib.amrnbEncode(fake, 7, pcm, out)],
    ["decoder handle to encoder", () => lib.amrnbEncode(dec, 7, pcm, out)],
    ["mode out of range", () => lib.amrnbEncode(enc, 8, pcm, out)],
    ["mode not a number", () => lib.amrnbEncode(enc, "7" as unknown as number, pcm, out)],
    ["Float32Array pcm", () => lib.amrnbEncode(enc, 7, new Float32Array(160) as unknown as Int16Array, out)],
    ["short pcm", () => lib.amrnbEncode(enc, 7, new Int16Array(100), out)],
    ["small out", () => lib.amrnbEncode(enc, 7, pcm, new Uint8Array(10))],
    ["Int16Array out", () => lib.amrnbEncode(enc, 7, pcm, new Int16Array(64) as unknown as Uint8Array)],
    ["empty frame", () => lib.amrnbDecode(dec, new Uint8Array(0), pcm)],
    ["reserved FT", () => lib.amrnbDecode(dec, Uint8Array.of(12 << 3), pcm)],
    ["truncated frame", () => lib.amrnbDecode(dec, Uint8Array.of(7 << 3, 0, 0), pcm)],
    [
      "WB frame on WB decoder with NB size",
      () => lib.amrwbDecode(lib.amrwbDecoderCreate(), new Uint8Array(32).fill(0x44), new Int16Array(320)),
    ],
    ["Opus rate", () => lib.opusEncoderCreate(44100, 1, 0)],
    ["Opus channels", () => lib.opusEncoderCreate(48000, 3, 0)],
    ["Opus frame of 7 ms", () => lib.opusEncode(lib.opusEncoderCreate(8000, 1, 0), new Int16Array(56), out)],
    ["Opus unknown ctl", () => lib.opusEncoderSet(lib.opusEncoderCreate(8000, 1, 0), 99, 1)],
    ["Opus FEC without packet", () => lib.opusDecode(lib.opusDecoderCreate(8000, 1), null, new Int16Array(160), true)],
    [
      "Opus out of 0 samples",
      () => lib.opusDecode(lib.opusDecoderCreate(8000, 1), Uint8Array.of(0), new Int16Array(0), false),
    ],
    ["Opus packet samples of garbage", () => lib.opusPacketSamples(Uint8Array.of(0xff), 48000)],
    ["close of a non-handle", () => lib.close(fake)],
  ];
  for (const [what, fn] of cases) {
    t.throws(fn, Error, what);
  }
  lib.close(enc);
  lib.close(enc);
  t.throws(() => lib.amrnbEncode(enc, 7, pcm, out), { message: "codec is closed" }, "closed handle");
  t.end();
});

t.test("finalizers free codec state that was never closed (child process with --expose-gc)", (t) => {
  const path = addonCandidates().find((p) => existsSync(p));
  t.ok(path, "addon built");
  // 40,000 encoders × (Opus ~18 KB + AMR-WB + AMR-NB) would be well over 1 GB if leaked.
  const script = `
    const lib = require(${JSON.stringify(path)});
    const rss = () => process.memoryUsage().rss;
    (async () => {
      const start = rss();
      for (let round = 0; round < 40; round++) {
        for (let i = 0; i < 1000; i++) {
          lib.opusEncoderCreate(48000, 1, 0);
          lib.amrwbEncoderCreate();
          lib.amrnbDecoderCreate();
        }
        global.gc();
        await new Promise((r) => setImmediate(r));
      }
      global.gc();
      await new Promise((r) => setTimeout(r, 50));
      console.log(JSON.stringify({ grownMb: (rss() - start) / 1048576 }));
    })();`;
  const r = spawnSync(process.execPath, ["--expose-gc", "-e", script], {
    timeout: 60_000,
    killSignal: "SIGKILL",
    encoding: "utf8",
  });
  t.equal(r.status, 0, `child exited cleanly ${r.stderr}`);
  const { grownMb } = JSON.parse(r.stdout.trim()) as { grownMb: number };
  t.ok(grownMb < 150, `RSS grew ${grownMb.toFixed(1)} MB for 120,000 unclosed codecs`);
  t.end();
});

t.test("the addon loads and works in worker threads (media runs in workers), two at once", async (t) => {
  const path = addonCandidates().find((p) => existsSync(p))!;
  const { Worker } = await import("node:worker_threads");
  const code = `
    const { parentPort, workerData } = require("node:worker_threads");
    const lib = require(workerData.path);
    const enc = lib.opusEncoderCreate(16000, 1, 0);
    const dec = lib.opusDecoderCreate(16000, 1);
    const wb = lib.amrwbEncoderCreate();
    const pcm = new Int16Array(320);
    for (let i = 0; i < 320; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const out = new Uint8Array(4000);
    let total = 0;
    for (let k = 0; k < 200; k++) {
      const n = lib.opusEncode(enc, pcm, out);
      total += lib.opusDecode(dec, out.subarray(0, n), new Int16Array(320), false);
      total += lib.amrwbEncode(wb, 8, pcm, new Uint8Array(64), false) === 61 ? 0 : 1e9;
    }
    lib.close(enc);
    parentPort.postMessage(total);`;
  const run = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { path } });
      const timer = setTimeout(() => {
        void w.terminate();
        reject(new Error("worker timed out"));
      }, 30_000);
      w.once("message", (m: number) => {
        clearTimeout(timer);
        void w.terminate();
        resolve(m);
      });
      w.once("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
  const [a, b] = await Promise.all([run(), run()]);
  t.equal(a, 200 * 320, "worker 1 decoded 200 frames");
  t.equal(b, 200 * 320, "worker 2 decoded 200 frames");
});
