/**
 * RecvStreamStats and SendStreamStats, the one statistics model of RtpEndpoint and WebRtcEndpoint (RFC 3550
 * Appendix A). The round-trip time from LSR/DLSR is the RTCP session's job (RtcpSession.test.ts).
 */
import t from "tap";
import { ntpFromMs, ntpMiddle } from "../../../../media/rtp/Rtcp.js";
import { RecvStreamStats, SendStreamStats } from "../../../../media/rtp/RtpStreamStats.js";

t.test("loss, fraction lost and extended sequence across a wrap", (t) => {
  const s = new RecvStreamStats(1, "AUDIO", 8000);
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
  const even = new RecvStreamStats(1, "AUDIO", 8000);
  for (let i = 0; i < 200; i++) {
    even.update(i, 160 * i, 160, 20 * i);
  }
  t.equal(Math.round(even.jitter), 0);
  const wobbly = new RecvStreamStats(2, "AUDIO", 8000);
  for (let i = 0; i < 400; i++) {
    // Every other packet arrives 5 ms (40 ticks) late: |D| = 40 each step, so J → 40.
    wobbly.update(i, 160 * i, 160, 20 * i + (i % 2 === 0 ? 0 : 5));
  }
  t.ok(Math.abs(wobbly.jitter - 40) < 1, `jitter ${wobbly.jitter} ≈ 40 ticks`);
  t.ok(Math.abs(wobbly.jitterSeconds - 0.005) < 0.0002);
  t.end();
});

t.test("a big sequence jump is held until confirmed, then counted as a reset; duplicates are counted", (t) => {
  const s = new RecvStreamStats(1, "AUDIO", 8000);
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
  const s = new RecvStreamStats(1, "AUDIO", 8000);
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
  const w = new RecvStreamStats(2, "AUDIO", 8000);
  for (let i = 0; i < 10; i++) {
    w.update(i, (0xffff_ff00 + 160 * i) >>> 0, 160, 20 * i);
  }
  t.equal(w.timestampJumps, 0);
  t.ok(w.jitter < 1);
  t.end();
});

t.test("LSR/DLSR in our report blocks; what the sender keeps of the peer's block", (t) => {
  const rx = new RecvStreamStats(5, "AUDIO", 8000);
  rx.update(1, 0, 10, 0);
  const srWall = 1_700_000_000_000;
  const [s, f] = ntpFromMs(srWall);
  rx.onSenderReport(ntpMiddle(s, f), 1000);
  const rb = rx.reportBlock(1500); // report sent 500 ms after the SR arrived
  t.equal(rb.lastSr, ntpMiddle(s, f));
  t.equal(rb.delaySinceLastSr, 32768);
  const tx = new SendStreamStats(5, "AUDIO", 8000);
  t.equal(tx.remoteFractionLost, 0, "no report yet");
  tx.report = { ...rb, fractionLost: 64, cumulativeLost: -3, jitter: 12 };
  t.equal(tx.remoteFractionLost, 0.25);
  t.equal(tx.remoteCumulativeLost, -3, "signed, as the peer sent it");
  t.equal(tx.roundTripTime, undefined, "no RTT from the block alone");
  tx.report = rb;
  t.equal(tx.remoteFractionLost, 0);
  tx.sent(1000, 160, 0);
  t.equal(tx.rtpTimestampAt(20), 1160);
  t.equal(tx.packets, 1);
  t.equal(tx.bytes, 160);
  t.end();
});

t.test("report blocks send a negative cumulative loss (duplicates) as 0; getStats keeps it signed", (t) => {
  const s = new RecvStreamStats(9, "VIDEO", 90000);
  s.update(10, 0, 100, 0);
  s.update(11, 3000, 100, 33);
  s.update(11, 3000, 100, 34);
  s.update(11, 3000, 100, 35);
  t.equal(s.cumulativeLost, -2);
  t.equal(s.reportBlock(40).cumulativeLost, 0);
  t.equal(s.duplicates, 2);
  t.end();
});

t.test("getStats' fraction lost and the report blocks' keep separate intervals", (t) => {
  const s = new RecvStreamStats(3, "AUDIO", 8000);
  for (let seq = 0; seq < 10; seq++) {
    if (seq !== 4) {
      s.update(seq, seq * 160, 160, seq * 20);
    }
  }
  t.equal(s.takeFractionLost(), 0.1, "getStats: 1 of 10");
  t.equal(s.reportBlock(200).fractionLost, Math.floor(256 / 10), "the report interval is its own: 1 of 10 too");
  t.equal(s.fractionLost, Math.floor(256 / 10) / 256, "fractionLost is the last report's");
  for (let seq = 10; seq < 20; seq++) {
    s.update(seq, seq * 160, 160, seq * 20);
  }
  t.equal(s.reportBlock(400).fractionLost, 0, "report: nothing lost since");
  t.equal(s.takeFractionLost(), 0, "getStats: nothing lost since its last call");
  t.end();
});

t.test("RecvStreamStats: loss, wrap and jitter", (t) => {
  const c = new RecvStreamStats(42, "AUDIO", 8000);
  // 160-sample packets every 20 ms, seq wrapping, packet 65535 lost.
  const seqs = [65532, 65533, 65534, 0, 1];
  for (const [i, seq] of seqs.entries()) {
    const n = seq < 100 ? seq + 4 : seq - 65532;
    c.update(seq, n * 160, 172, n * 20 + (i === 2 ? 5 : 0));
  }
  t.equal(c.packets, 5);
  t.equal(c.bytes, 860);
  t.equal(c.expected, 6);
  t.equal(c.cumulativeLost, 1);
  t.equal(c.takeFractionLost(), 1 / 6);
  t.equal(c.takeFractionLost(), 1 / 6, "no new packets: last fraction kept");
  t.ok(c.jitterSeconds > 0 && c.jitterSeconds < 0.005, `jitter ${c.jitterSeconds}`);
  t.end();
});
