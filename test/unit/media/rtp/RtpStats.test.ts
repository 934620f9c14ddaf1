import t from "tap";
import { ntpFromMs, ntpMiddle } from "../../../../media/rtp/Rtcp.js";
import { RtpReceiverStats, RtpSenderStats } from "../../../../media/rtp/RtpStats.js";

t.test("loss, fraction lost and extended sequence across a wrap", (t) => {
  const s = new RtpReceiverStats(1, 8000);
  let now = 0;
  // 20 packets from 65530 wrapping to 13; 65533 and 2 are lost.
  for (let i = 0; i < 20; i++) {
    const seq = (65530 + i) % 65536;
    now += 20;
    if (seq === 65533 || seq === 2) {
      continue;
    }
    t.equal(s.update(seq, 160 * i, 160, now), "ok");
  }
  t.equal(s.seqWraps, 1);
  t.equal(s.extendedHighestSeq, 65536 + 13);
  t.equal(s.expected, 20);
  t.equal(s.cumulativeLost, 2);
  const rb = s.reportBlock(now);
  t.equal(rb.fractionLost, Math.floor((2 * 256) / 20));
  t.equal(rb.extendedHighestSeq, 65536 + 13);
  t.equal(s.reportBlock(now).fractionLost, 0, "nothing new in the next interval");
  t.end();
});

t.test("jitter follows RFC 3550 A.8: zero for perfect pacing, about D for alternating delay D", (t) => {
  const even = new RtpReceiverStats(1, 8000);
  for (let i = 0; i < 200; i++) {
    even.update(i, 160 * i, 160, 20 * i);
  }
  t.equal(Math.round(even.jitter), 0);
  const wobbly = new RtpReceiverStats(2, 8000);
  for (let i = 0; i < 400; i++) {
    // Every other packet arrives 5 ms (40 ticks) late: |D| = 40 each step, so J → 40.
    wobbly.update(i, 160 * i, 160, 20 * i + (i % 2 === 0 ? 0 : 5));
  }
  t.ok(Math.abs(wobbly.jitter - 40) < 1, `jitter ${wobbly.jitter} ≈ 40 ticks`);
  t.ok(Math.abs(wobbly.jitterSeconds - 0.005) < 0.0002);
  t.end();
});

t.test("a big sequence jump is held until confirmed, then counted as a reset; duplicates are counted", (t) => {
  const s = new RtpReceiverStats(1, 8000);
  s.update(100, 0, 10, 0);
  s.update(101, 160, 10, 20);
  t.equal(s.update(101, 160, 10, 21), "duplicate");
  t.equal(s.duplicates, 1);
  t.equal(s.update(40000, 320, 10, 40), "jump-pending");
  t.equal(s.update(40001, 480, 10, 60), "reset");
  t.equal(s.seqResets, 1);
  t.equal(s.update(40002, 640, 10, 80), "ok");
  t.equal(s.extendedHighestSeq, 40002);
  t.equal(s.cumulativeLost, 0);
  t.end();
});

t.test("timestamp jumps are counted and do not poison the jitter", (t) => {
  const s = new RtpReceiverStats(1, 8000);
  for (let i = 0; i < 50; i++) {
    s.update(i, 160 * i, 160, 20 * i);
  }
  s.update(50, 160 * 50 + 8000 * 3600, 160, 1000); // one hour ahead
  for (let i = 51; i < 60; i++) {
    s.update(i, 160 * i + 8000 * 3600, 160, 20 * i);
  }
  t.equal(s.timestampJumps, 1);
  t.ok(s.jitter < 1, `jitter stays ~0 (${s.jitter})`);
  // Timestamp wrap is not a jump.
  const w = new RtpReceiverStats(2, 8000);
  for (let i = 0; i < 10; i++) {
    w.update(i, (0xffff_ff00 + 160 * i) >>> 0, 160, 20 * i);
  }
  t.equal(w.timestampJumps, 0);
  t.ok(w.jitter < 1);
  t.end();
});

t.test("LSR/DLSR in our report blocks and the RTT the sender derives from them", (t) => {
  const rx = new RtpReceiverStats(5, 8000);
  rx.update(1, 0, 10, 0);
  const srWall = 1_700_000_000_000;
  const [s, f] = ntpFromMs(srWall);
  rx.onSenderReport(s, f, 1000);
  const rb = rx.reportBlock(1500); // report sent 500 ms after the SR arrived
  t.equal(rb.lastSr, ntpMiddle(s, f));
  t.equal(rb.delaySinceLastSr, 32768);
  // The sender gets that block 50 ms of network delay each way later: RTT = total − DLSR = 100 ms.
  const tx = new RtpSenderStats(5, 8000);
  tx.onReportBlock(rb, srWall + 50 + 500 + 50);
  t.ok(Math.abs(tx.roundTripTime - 0.1) < 0.001, `rtt ${tx.roundTripTime}`);
  t.equal(tx.remoteFractionLost, 0);
  tx.sent(1000, 160, 0);
  t.equal(tx.rtpTimestampAt(20), 1160);
  t.end();
});
