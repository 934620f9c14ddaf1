/**
 * Codec work stays off the event loop: while 720p frames are encoded at 30 fps, each encode() call returns at once
 * (a small fraction of the codec time per frame that the video thread reports) and a 5 ms timer keeps its
 * schedule about as well as it does with no video at all. The machine is shared and loaded, so the timer is
 * compared with itself in the same run, and the bounds are set far from what a blocking encoder would show
 * (every tick during an encode late by the whole encode).
 */
import t from "tap";
import { movingI420 } from "../../../../../bench/lib/video.js";
import { VideoEncoder } from "../../../../../media/codecs/video/index.js";

const W = 1280;
const H = 720;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? 0;
}

/** Timer lateness of a 5 ms interval while `during` runs. */
async function timerLag(during: () => Promise<void>): Promise<number[]> {
  const lags: number[] = [];
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    lags.push(Math.max(0, now - last - 5));
    last = now;
  }, 5);
  try {
    await during();
  } finally {
    clearInterval(timer);
  }
  return lags;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("720p encoding does not stall the event loop", async (t) => {
  const frames = Array.from({ length: 30 }, (_, i) => movingI420(W, H, i));
  const enc = new VideoEncoder({ codec: "vp8", width: W, height: H, bitrate: 2_000_000 });
  t.teardown(() => enc.close());

  const idle = await timerLag(() => sleep(1000));
  const callMs: number[] = [];
  let encoded = 0;
  const busy = await timerLag(async () => {
    const work: Promise<void>[] = [];
    for (let i = 0; i < 60; i++) {
      const f = frames[i % frames.length] ?? new Uint8Array();
      const t0 = performance.now();
      const done = enc.encode({ data: f, width: W, height: H }, i * 3000);
      callMs.push(performance.now() - t0);
      work.push(done.then((e) => void (e !== null && encoded++)));
      await sleep(33);
    }
    await Promise.all(work);
  });

  const busyPerFrameMs = enc.stats().busyUs / 1000 / Math.max(1, enc.stats().processed);
  // On a starved machine the encoder falls behind 30 fps and drops the oldest frames: that is the design.
  t.ok(encoded >= 5, `frames were encoded (${encoded} of 60)`);
  t.equal(encoded + enc.stats().dropped, 60, "and the others were dropped, counted");
  t.ok(busyPerFrameMs > 2, `the encoder worked ${busyPerFrameMs.toFixed(1)} ms per 720p frame`);
  t.ok(
    pct(callMs, 0.5) < busyPerFrameMs / 10,
    `encode() returns at once: median ${pct(callMs, 0.5).toFixed(2)} ms against ${busyPerFrameMs.toFixed(1)} ms of codec work`,
  );
  t.ok(
    pct(busy, 0.9) < pct(idle, 0.9) + busyPerFrameMs / 2,
    `the timer keeps time: p90 lag ${pct(busy, 0.9).toFixed(1)} ms while encoding, ${pct(idle, 0.9).toFixed(1)} ms idle ` +
      `(p99 ${pct(busy, 0.99).toFixed(1)} / ${pct(idle, 0.99).toFixed(1)} ms)`,
  );
});
