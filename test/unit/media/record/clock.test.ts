/**
 * The recording clock (media/record/clock.ts): RTP time anchored at arrival before any SR, mapped through the
 * sender's RTCP SR to one clock for all streams once there is one, re-anchored smoothly (never backwards), and
 * re-anchored at arrival on a new SSRC or a jump.
 */
import t, { type Test } from "tap";
import type { SenderClock } from "../../../../media/core/types.js";
import { RecordingClock, SLEW, StreamClock } from "../../../../media/record/clock.js";

const START = 1000;

function near(t: Test, actual: number, expected: number, what: string): void {
  t.ok(Math.abs(actual - expected) < 0.01, `${what} (${actual.toFixed(3)} ms, expected ${expected.toFixed(3)})`);
}

t.test("before any SR: RTP time anchored at arrival, wraps unwrapped, a new SSRC re-anchored", (t) => {
  const c = new StreamClock();
  const k = new RecordingClock();
  t.equal(c.map(1, 0xffff_fe20, 48000, 1000, undefined, START, k), 0);
  t.equal(c.map(1, 0x0000_01e0, 48000, 1020, undefined, START, k), 20, "across the 32-bit wrap");
  t.equal(c.map(1, 0x0000_01e0 + 48000, 48000, 1030, undefined, START, k), 1020, "RTP time, not arrival time");
  t.equal(c.map(2, 5, 48000, 2500, undefined, START, k), 1500, "a new SSRC starts at its arrival");
  t.equal(c.map(2, 5 + 48000 * 100, 48000, 2520, undefined, START, k), 1520, "a 100 s jump re-anchors");
  t.notOk(c.synced);
  t.end();
});

t.test("a new SSRC that arrives before what was written is slewed in, not written backwards", (t) => {
  const c = new StreamClock();
  const k = new RecordingClock();
  t.equal(c.map(1, 48000, 48000, 1000, undefined, START, k), 0);
  t.equal(c.map(1, 96000, 48000, 1030, undefined, START, k), 1000, "RTP time ran 1 s ahead of arrival");
  const first = c.map(2, 0, 48000, 1500, undefined, START, k);
  t.equal(first, 1000, "the new stream continues where the old one was");
  const next = c.map(2, 960, 48000, 1520, undefined, START, k);
  t.ok(next > first && next < first + 20, `then advances by less than its step while catching up (${next})`);
  let last = next;
  let slowest = Infinity;
  for (let i = 2; i < 400; i++) {
    const v = c.map(2, 960 * i, 48000, 1500 + 20 * i, undefined, START, k);
    slowest = Math.min(slowest, v - last);
    last = v;
  }
  t.ok(slowest >= 20 * (1 - SLEW) - 1e-9, `never faster than the slew (smallest step ${slowest} ms)`);
  t.equal(last, 500 + 20 * 399, "caught up with its own anchor");
  t.end();
});

/** A sender clock as an endpoint keeps it: NTP ms of the SR and its RTP timestamp. */
function sr(ntpMs: number, rtpTimestamp: number): SenderClock {
  return { reports: 1, ntpMs, rtpTimestamp };
}

t.test("two streams of one sender land on one clock through their SRs, whatever their network delay", (t) => {
  const k = new RecordingClock();
  const audio = new StreamClock();
  const video = new StreamClock();
  const NTP = 1.7e12; // sender wall clock at the SRs
  const a = sr(NTP, 1000); // audio RTP 1000 = NTP
  const v = sr(NTP, 50_000); // video RTP 50000 = NTP
  // Audio sampled at NTP+0 arrives at local 1000 (the recording's start); video sampled at the same instant arrives
  // 300 ms later (a slower path).
  t.equal(audio.map(7, 1000, 48000, 1000, a, START, k), 0);
  t.equal(video.map(8, 50_000, 90000, 1300, v, START, k), 0, "same sampling instant, same time in the file");
  t.equal(video.map(8, 50_000 + 90000, 90000, 2310, v, START, k), 1000, "then RTP time through the SR");
  t.equal(audio.map(7, 1000 + 48000 * 2, 48000, 3000, a, START, k), 2000);
  t.ok(audio.synced && video.synced);
  t.end();
});

t.test("an SR that arrives mid-stream re-anchors: forwards at once, backwards slewed", (t) => {
  const k = new RecordingClock();
  const NTP = 1.7e12;
  const audio = new StreamClock();
  const video = new StreamClock();
  const a = sr(NTP, 0);
  // Audio with an SR sets the shared offset: NTP ↔ local 1000.
  t.equal(audio.map(1, 0, 48000, 1000, a, START, k), 0);
  // Video has no SR yet; its first packet arrives at 1100 but was sampled at NTP+250 (it is 150 ms early).
  const vs: SenderClock = { reports: 0, ntpMs: 0, rtpTimestamp: 0 };
  t.equal(video.map(2, 9000, 90000, 1100, vs, START, k), 100, "arrival anchor before its SR");
  // Its SR: RTP 9000 was sampled at NTP+250 → the mapping is 150 ms ahead: taken at once.
  Object.assign(vs, { reports: 1, ntpMs: NTP + 250, rtpTimestamp: 9000 });
  near(t, video.map(2, 9000 + 3000, 90000, 1133, vs, START, k), 283.333, "forwards: at once");
  t.ok(video.synced);
  // A later SR puts the stream 150 ms earlier: no jump back, a slew.
  Object.assign(vs, { reports: 2, ntpMs: NTP + 233.333, rtpTimestamp: 21000 });
  const before = video.map(2, 15000, 90000, 1166, vs, START, k);
  near(t, before, 316.667, "continues where the previous mapping had it");
  const after = video.map(2, 18000, 90000, 1200, vs, START, k);
  near(t, after - before, 33.333 * (1 - SLEW), "then advances by 90 % of each step");
  let last = after;
  for (let ts = 21000; ts < 90000 * 10; ts += 3000) {
    last = video.map(2, ts, 90000, 1200 + (ts - 18000) / 90, vs, START, k);
  }
  near(t, last, 233.333 + (897_000 - 21000) / 90, "until on the SR's mapping");
  t.end();
});

t.test("an SR far from arrival time (another clock) is ignored until the next one", (t) => {
  const k = new RecordingClock();
  k.ntpToLocal = 0 - 1.7e12; // set by another stream
  const c = new StreamClock();
  const s = sr(1.7e12 + 60_000, 0); // a minute off
  t.equal(c.map(3, 0, 8000, 1000, s, START, k), 0, "arrival anchor kept");
  t.notOk(c.synced);
  t.equal(c.map(3, 8000, 8000, 2000, s, START, k), 1000);
  t.end();
});
