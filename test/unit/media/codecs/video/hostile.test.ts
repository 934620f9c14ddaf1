/**
 * The video codecs under hostile input and misuse: random bytes and truncated frames fail one decode() each and
 * leave the decoder working; a stream larger than maxPixels is refused; bad options and frames raise named
 * errors; a full queue drops the oldest frame (counted) and a full pool drops decoded frames; close() settles
 * everything.
 */
import { readdirSync, readFileSync } from "node:fs";
import v8 from "node:v8";
import vm from "node:vm";
import t from "tap";
import { movingI420, planeMean, rgbToYuv, solidI420 } from "../../../../../bench/lib/video.js";
import { CodecError } from "../../../../../media/codecs/errors.js";
import {
  VideoCodecClosedError,
  VideoCodecOpenError,
  VideoDecodeError,
  VideoDecoder,
  VideoEncoder,
  type VideoCodecName,
} from "../../../../../media/codecs/video/index.js";

const W = 320;
const H = 240;
const BLUE = rgbToYuv(20, 40, 210);

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

for (const codec of ["vp8", "vp9", "h264"] as const satisfies readonly VideoCodecName[]) {
  t.test(`${codec}: random bytes and truncated frames fail one decode each; the decoder goes on`, async (t) => {
    const enc = new VideoEncoder({ codec, width: W, height: H });
    const dec = new VideoDecoder({ codec });
    t.teardown(() => {
      enc.close();
      dec.close();
    });
    const good = [];
    for (let i = 0; i < 4; i++) {
      const e = await enc.encode({ data: movingI420(W, H, i), width: W, height: H }, i * 3000);
      if (e !== null) {
        good.push(e);
      }
    }
    const key = good[0];
    if (key === undefined) {
      throw new Error("no keyframe");
    }
    const r = rng(12345);
    let failed = 0;
    let survived = 0;
    const other: unknown[] = [];
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 150; i++) {
      const n = 1 + Math.floor(r() * 4000);
      inputs.push(Uint8Array.from({ length: n }, () => Math.floor(r() * 256)));
    }
    for (const g of good) {
      for (const cut of [1, 3, 9, g.data.length >> 2, g.data.length >> 1, g.data.length - 1]) {
        inputs.push(g.data.subarray(0, Math.max(1, cut)));
      }
      // a flipped byte in the middle of a real frame
      const flipped = Uint8Array.from(g.data);
      flipped[flipped.length >> 1] = (flipped[flipped.length >> 1] ?? 0) ^ 0xff;
      inputs.push(flipped);
    }
    for (const input of inputs) {
      try {
        const frames = (await dec.decode(input, 0)) ?? [];
        for (const f of frames) {
          f.release();
        }
        survived++;
      } catch (e) {
        if (e instanceof VideoDecodeError) {
          failed++;
        } else {
          other.push(e);
        }
      }
    }
    t.same(other, [], "every failure is a VideoDecodeError");
    t.ok(failed > 0, `garbage is refused (${failed} errors, ${survived} decoded or swallowed)`);
    t.equal(dec.stats().errors, failed, "stats count the refused access units");
    const blue = await enc.encode({ data: solidI420(W, H, BLUE), width: W, height: H }, 10 * 3000, true);
    const after = blue === null ? [] : ((await dec.decode(blue.data, 0)) ?? []);
    t.equal(after.length, 1, "a keyframe after the garbage decodes");
    const f = after[0];
    if (f !== undefined) {
      t.ok(Math.abs(planeMean(f.data, W, H, 2) - BLUE[2]) < 4, "with the right colour");
      f.release();
    }
  });
}

t.test("a stream larger than maxPixels is refused", async (t) => {
  const enc = new VideoEncoder({ codec: "h264", width: W, height: H });
  const dec = new VideoDecoder({ codec: "h264", maxPixels: 10_000 });
  t.teardown(() => {
    enc.close();
    dec.close();
  });
  const e = await enc.encode({ data: movingI420(W, H, 0), width: W, height: H }, 0);
  await t.rejects(dec.decode(e?.data ?? new Uint8Array(1), 0), VideoDecodeError);
});

t.test("bad options and frames raise named errors", async (t) => {
  t.throws(() => new VideoEncoder({ codec: "vp8", width: 321, height: H }), RangeError, "odd width");
  t.throws(() => new VideoEncoder({ codec: "vp8", width: W, height: 100_000 }), RangeError, "huge height");
  t.throws(() => new VideoEncoder({ codec: "h264", width: W, height: H, preset: "warp" }), VideoCodecOpenError);
  t.throws(() => new VideoEncoder({ codec: "av1" as VideoCodecName, width: W, height: H }), RangeError);
  t.throws(() => new VideoDecoder({ codec: "vp8", poolSize: 0 }), RangeError);
  const enc = new VideoEncoder({ codec: "vp8", width: W, height: H });
  const dec = new VideoDecoder({ codec: "vp8" });
  t.teardown(() => {
    enc.close();
    dec.close();
  });
  await t.rejects(enc.encode({ data: new Uint8Array(100), width: W, height: H }, 0), RangeError, "short frame");
  await t.rejects(dec.decode(new Uint8Array(0), 0), RangeError, "empty access unit");
  t.throws(() => enc.setBitrate(1), RangeError, "absurd bitrate");
  t.type(new VideoCodecOpenError("x"), CodecError, "the errors are CodecErrors");
});

t.test("a full encoder queue drops the oldest frames, counted; memory stays bounded", async (t) => {
  const w = 1280;
  const h = 720;
  const enc = new VideoEncoder({ codec: "vp9", width: w, height: h, queueSize: 2, cpuUsed: 5 });
  t.teardown(() => enc.close());
  const frames = Array.from({ length: 6 }, (_, i) => movingI420(w, h, i));
  const results = await Promise.all(
    Array.from({ length: 24 }, (_, i) =>
      enc.encode({ data: frames[i % 6] ?? new Uint8Array(), width: w, height: h }, i * 3000),
    ),
  );
  const dropped = results.filter((r) => r === null).length;
  t.ok(dropped > 0, `frames were dropped (${dropped} of 24)`);
  t.equal(enc.stats().dropped, dropped, "stats.dropped counts them");
  t.not(results[23], null, "the newest frame is kept (oldest first)");
  t.ok(24 - dropped >= 2, "the queue's frames (and the one running) are encoded");
});

t.test("a full frame pool drops decoded frames until JS releases one", async (t) => {
  const enc = new VideoEncoder({ codec: "vp8", width: W, height: H });
  const dec = new VideoDecoder({ codec: "vp8", poolSize: 2 });
  t.teardown(() => {
    enc.close();
    dec.close();
  });
  const held = [];
  for (let i = 0; i < 3; i++) {
    const e = await enc.encode({ data: movingI420(W, H, i), width: W, height: H }, i * 3000);
    held.push(...((await dec.decode(e?.data ?? new Uint8Array(1), i)) ?? []));
  }
  t.equal(held.length, 2, "two frames out, the third had no buffer");
  t.equal(dec.stats().poolDrops, 1, "counted in poolDrops");
  held[0]?.release();
  held[0]?.release(); // idempotent
  const e = await enc.encode({ data: movingI420(W, H, 3), width: W, height: H }, 3 * 3000);
  const next = (await dec.decode(e?.data ?? new Uint8Array(1), 3)) ?? [];
  t.equal(next.length, 1, "a released buffer is used again");
  t.ok(held[1]?.data.byteLength === next[0]?.data.byteLength, "same frame size");
  for (const f of [...held, ...next]) {
    f.release();
  }
});

t.test("close() rejects queued work and later calls with VideoCodecClosedError", async (t) => {
  const w = 1280;
  const h = 720;
  const enc = new VideoEncoder({ codec: "vp8", width: w, height: h, queueSize: 8 });
  const f = movingI420(w, h, 0);
  const pending = Array.from({ length: 6 }, (_, i) => enc.encode({ data: f, width: w, height: h }, i * 3000));
  enc.close();
  enc.close();
  const settled = await Promise.allSettled(pending);
  t.ok(
    settled.every((s) => s.status === "fulfilled" || s.reason instanceof VideoCodecClosedError),
    "every queued encode settles (done or closed)",
  );
  t.ok(
    settled.some((s) => s.status === "rejected"),
    "queued ones are rejected",
  );
  await t.rejects(enc.encode({ data: f, width: w, height: h }, 0), VideoCodecClosedError);
  t.throws(() => enc.forceKeyframe(), VideoCodecClosedError);
  const dec = new VideoDecoder({ codec: "h264" });
  dec.close();
  await t.rejects(dec.decode(new Uint8Array(10), 0), VideoCodecClosedError);
});

t.test("a codec dropped without close() is collected, and its video thread ends", async (t) => {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc") as () => void;
  const threads = (): number =>
    readdirSync("/proc/self/task").filter((tid) => {
      try {
        return readFileSync(`/proc/self/task/${tid}/comm`, "utf8").startsWith("korus-v");
      } catch {
        return false; // a thread that ended meanwhile
      }
    }).length;
  const settle = async (): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (threads() > 0 && Date.now() < deadline) {
      gc();
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await settle(); // the threads of the codecs above end too (closed, or collected)
  t.equal(threads(), 0, "no video thread to begin with");
  await (async () => {
    for (const codec of ["vp8", "h264"] as const) {
      const enc = new VideoEncoder({ codec, width: W, height: H });
      const dec = new VideoDecoder({ codec });
      const e = await enc.encode({ data: movingI420(W, H, 0), width: W, height: H }, 0);
      for (const f of (await dec.decode(e?.data ?? new Uint8Array(1), 0)) ?? []) {
        f.release();
      }
    }
  })();
  t.equal(threads(), 4, "four video threads (korus-vdec, korus-venc) ran");
  await settle();
  t.equal(threads(), 0, "their threads are gone");
});
