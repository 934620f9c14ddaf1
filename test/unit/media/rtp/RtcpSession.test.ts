/**
 * RtcpSession, as WebRtcTransport drives it (reduced-size feedback from reporter SSRC 1, no report when idle; the
 * {@link Session} adapter below makes the send statistics per SSRC as the transport does per kind): what it sends
 * is the plain compound packet handed to the transport callback, parsed back here with parseRtcp (Rtcp.test.ts
 * checks that codec against rtp.js and werift); NACK FCIs (RFC 4585 §6.2.1) are decoded by hand. Report blocks are
 * checked against the RFC 3550 statistics of RecvStreamStats fed with the same packets. The RtpEndpoint flavour
 * (compound feedback, idle reports, BYE) and the parsing of the peer's RTCP are at the end.
 *
 * RtcpSession reads `performance.now()` (loss ages, DLSR, RTP timestamp extrapolation) and `Date.now()` (NTP
 * timestamps, RTT). Each test runs synchronously with both replaced by a manual clock and restored before it
 * returns, so nothing depends on the machine's speed.
 */
import t from "tap";
import { RtcpPacketConverter } from "werift";
import {
  buildSenderReport,
  ntpFromMs,
  ntpMiddle,
  parseRtcp,
  type RtcpOther,
  type RtcpPacket,
  type RtcpReceiverReport,
  type RtcpSdes,
  type RtcpSenderReport,
} from "../../../../media/rtp/Rtcp.js";
import { RtcpSession } from "../../../../media/rtp/RtcpSession.js";
import { adoptEarlySenderReport, RecvStreamStats, SendStreamStats } from "../../../../media/rtp/RtpStreamStats.js";

const REPORTER = 0x0000_0001;
const CNAME = "korus-test-cname";

/** Manual clocks for performance.now() and Date.now(), installed only while `run` executes. */
class Clock {
  perf = 100_000;
  wall = Date.UTC(2026, 10, 23, 21, 0, 0, 250);
  advance(ms: number): void {
    this.perf += ms;
    this.wall += ms;
  }
  run(body: () => void): void {
    const perfNow = performance.now.bind(performance);
    const dateNow = Date.now.bind(Date);
    performance.now = () => this.perf;
    Date.now = () => this.wall;
    try {
      body();
    } finally {
      performance.now = perfNow;
      Date.now = dateNow;
    }
  }
}

interface Capture {
  /** Each sendRtcp call, serialised and concatenated as one compound datagram. */
  datagrams: Buffer[];
  resent: Buffer[];
  nackSent: number[];
  counters: Map<number, RecvStreamStats>;
  keyframeRequests: string[];
}

/**
 * The session under test, called the way the WebRTC transport calls it: `onSent` with the stream's SSRC, clock
 * rate and kind (the statistics object is made here on first use), `onSenderReport` with the 64-bit NTP time,
 * `onReportBlock` with the block's SSRC, LSR and DLSR.
 */
class Session {
  readonly rtcp: RtcpSession;
  readonly senders = new Map<number, SendStreamStats>();

  constructor(rtcp: (senders: () => Iterable<SendStreamStats>) => RtcpSession) {
    this.rtcp = rtcp(() => this.senders.values());
  }

  onSent(ssrc: number, clockRate: number, seq: number, ts: number, bytes: number, video: boolean, p: Buffer): void {
    let st = this.senders.get(ssrc);
    if (st === undefined) {
      st = new SendStreamStats(ssrc, video ? "VIDEO" : "AUDIO", clockRate);
      this.senders.set(ssrc, st);
    }
    st.clockRate = clockRate;
    this.rtcp.onSent(st, seq, ts, bytes, performance.now(), p);
  }

  onReceived(ssrc: number, seq: number, video: boolean): void {
    this.rtcp.onReceived(ssrc, seq, video);
  }

  onSenderReport(ssrc: number, ntp: bigint): void {
    this.rtcp.onSenderReport(ssrc, Number(ntp >> 32n), Number(ntp & 0xffff_ffffn));
  }

  onReportBlock(ssrc: number, lastSr: number, delaySinceLastSr: number): void {
    const rest = { fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 0, jitter: 0 };
    this.rtcp.onReportBlock({ ssrc, ...rest, lastSr, delaySinceLastSr });
  }

  onNack(ssrc: number, lost: readonly number[]): number {
    return this.rtcp.onNack(ssrc, lost);
  }

  roundTripTime(ssrc: number): number | undefined {
    return this.rtcp.roundTripTime(ssrc);
  }

  report(bye = false): void {
    this.rtcp.report(bye);
  }
}

function makeSession(rtpEndpoint = false): { s: Session; cap: Capture } {
  const cap: Capture = { datagrams: [], resent: [], nackSent: [], counters: new Map(), keyframeRequests: [] };
  const s = new Session(
    (senders) =>
      new RtcpSession(
        {
          send: (p) => cap.datagrams.push(p),
          cname: () => CNAME,
          receivers: () => cap.counters,
          senders,
          keyframeRequested: (kind) => cap.keyframeRequests.push(kind),
          resend: (p) => cap.resent.push(p),
          nackSent: (ssrc) => cap.nackSent.push(ssrc),
        },
        { reporterSsrc: REPORTER, reducedSize: !rtpEndpoint, reportWhenIdle: rtpEndpoint },
      ),
  );
  return { s, cap };
}

/** Every datagram sent since `from`, parsed. */
const parsed = (cap: Capture, from = 0): RtcpPacket[][] => cap.datagrams.slice(from).map((d) => parseRtcp(d));

/** The generic NACKs (RTPFB FMT 1) in `cap` since `from`: media SSRC, sender SSRC and the lost sequence numbers. */
function nacks(cap: Capture, from = 0): { media: number; sender: number; lost: number[] }[] {
  const out: { media: number; sender: number; lost: number[] }[] = [];
  for (const compound of parsed(cap, from)) {
    for (const p of compound) {
      if (p.type === "other" && p.packetType === 205 && p.count === 1) {
        out.push({ media: p.mediaSsrc, sender: p.ssrc, lost: decodeNackFci(p) });
      }
    }
  }
  return out;
}

/** RFC 4585 §6.2.1: each FCI is PID (16 bits) and BLP, bit i meaning PID + i + 1 is lost too. */
function decodeNackFci(p: RtcpOther): number[] {
  const b = Buffer.from(p.bytes);
  const lost: number[] = [];
  for (let o = 12; o + 4 <= b.length; o += 4) {
    const pid = b.readUInt16BE(o);
    const blp = b.readUInt16BE(o + 2);
    lost.push(pid);
    for (let i = 0; i < 16; i++) {
      if ((blp >> i) & 1) {
        lost.push((pid + i + 1) & 0xffff);
      }
    }
  }
  return lost;
}

const isSr = (p: RtcpPacket | undefined): p is RtcpSenderReport => p?.type === "sr";
const isRr = (p: RtcpPacket | undefined): p is RtcpReceiverReport => p?.type === "rr";
const isSdes = (p: RtcpPacket | undefined): p is RtcpSdes => p?.type === "sdes";

/** Feeds one received packet to both the counters (as the transport's handler would) and the session. */
function receive(
  clock: Clock,
  cap: Capture,
  s: Session,
  ssrc: number,
  seq: number,
  ts: number,
  video: boolean,
  clockRate: number,
): void {
  let c = cap.counters.get(ssrc);
  if (c === undefined) {
    c = new RecvStreamStats(ssrc, video ? "VIDEO" : "AUDIO", clockRate);
    cap.counters.set(ssrc, c);
  }
  c.update(seq & 0xffff, ts >>> 0, 100, clock.perf);
  s.onReceived(ssrc, seq & 0xffff, video);
}

// ------------------------------------------------------------------------------------------- sender reports

t.test("SR: packet and octet counts, RTP timestamp extrapolated (across 2^32), NTP time, SDES CNAME", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    s.report();
    t.equal(cap.datagrams.length, 0, "nothing sent, nothing received: no report");
    const ts0 = 0xffff_f000;
    let lastTs = 0;
    for (let i = 0; i < 50; i++) {
      lastTs = (ts0 + i * 960) >>> 0;
      s.onSent(0x1111_2222, 48_000, (65_500 + i) & 0xffff, lastTs, 160, false, Buffer.from([i]));
      clock.advance(20);
    }
    clock.advance(80); // 100 ms after the last packet (20 + 80)
    s.report();
    t.equal(cap.datagrams.length, 1);
    const compound = parsed(cap)[0]!;
    t.equal(compound.length, 2, "SR + SDES");
    const sr = compound[0];
    t.ok(isSr(sr), "compound starts with the SR (RFC 3550 §6.1)");
    if (!isSr(sr)) {
      return;
    }
    t.equal(sr.ssrc, 0x1111_2222);
    t.equal(sr.packetCount, 50);
    t.equal(sr.octetCount, 50 * 160, "payload octets");
    t.equal(sr.rtpTimestamp, (lastTs + 100 * 48) >>> 0, "last timestamp + 100 ms at 48 kHz, modulo 2^32");
    t.ok(lastTs < ts0, "the timestamps wrapped during the test");
    const [sec, frac] = ntpFromMs(clock.wall);
    t.equal(sr.ntpSeconds, sec, "NTP seconds of the wall clock");
    t.ok(Math.abs(sr.ntpFraction - frac) <= 1, "NTP fraction of the wall clock");
    t.same(sr.reports, [], "no report blocks: nothing received");
    const sdes = compound[1];
    t.ok(isSdes(sdes));
    if (isSdes(sdes)) {
      t.same(sdes.chunks, [{ ssrc: 0x1111_2222, items: [{ type: 1, text: CNAME }] }], "CNAME chunk for the SR's SSRC");
    }
    // Octet count follows further packets; a second stream gets its own SR without report blocks.
    s.onSent(0x1111_2222, 48_000, 14, (lastTs + 960) >>> 0, 40, false, Buffer.alloc(1));
    s.onSent(0x3333_4444, 90_000, 7, 123_456, 1000, true, Buffer.alloc(1));
    clock.advance(10);
    s.report();
    const c2 = parsed(cap, 1)[0]!;
    t.same(
      c2.map((p) => p.type),
      ["sr", "sr", "sdes"],
    );
    const [a, v] = [c2[0], c2[1]];
    if (isSr(a) && isSr(v)) {
      t.equal(a.packetCount, 51);
      t.equal(a.octetCount, 8040);
      t.equal(v.ssrc, 0x3333_4444);
      t.equal(v.packetCount, 1);
      t.equal(v.octetCount, 1000);
      t.equal(v.rtpTimestamp, 123_456 + 10 * 90, "10 ms at 90 kHz");
    }
  });
  t.end();
});

// ------------------------------------------------------------------------------------------- receiver reports

t.test("RR: fraction lost per interval, cumulative loss, highest sequence, jitter from RecvStreamStats", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const ssrc = 0xbeef_0001;
    // Interval 1: 1000..1099 with 1010..1019 lost; arrival jitter of ±6 ms around 30 fps.
    for (let seq = 1000; seq < 1100; seq++) {
      clock.advance(seq % 2 === 0 ? 27 : 39);
      if (seq < 1010 || seq >= 1020) {
        receive(clock, cap, s, ssrc, seq, seq * 3000, true, 90_000);
      }
    }
    const firstNacks = cap.datagrams.length;
    s.report();
    const rr1 = parsed(cap, firstNacks)[0]!;
    t.same(
      rr1.map((p) => p.type),
      ["rr", "sdes"],
      "RR + SDES when we send nothing",
    );
    const rr = rr1[0];
    const c = cap.counters.get(ssrc)!;
    if (isRr(rr)) {
      t.equal(rr.ssrc, REPORTER, "reporter SSRC");
      t.equal(rr.reports.length, 1);
      const b = rr.reports[0]!;
      t.equal(b.ssrc, ssrc);
      t.equal(b.fractionLost, Math.floor((10 * 256) / 100), "10 of 100 lost → 25/256");
      t.equal(b.cumulativeLost, 10);
      t.equal(b.extendedHighestSeq, 1099);
      t.ok(b.jitter > 0, `jitter ${b.jitter} > 0 with uneven arrival`);
      t.equal(b.jitter, c.jitterTimestampUnits, "jitter in timestamp units, as RecvStreamStats computes it");
      t.equal(b.lastSr, 0, "no SR from the peer yet");
      t.equal(b.delaySinceLastSr, 0);
    } else {
      t.fail("no RR");
    }
    const sdes = rr1[1];
    if (isSdes(sdes)) {
      t.same(sdes.chunks, [{ ssrc: REPORTER, items: [{ type: 1, text: CNAME }] }], "CNAME chunk for the reporter");
    }

    // Interval 2: 1100..1149, nothing lost.
    for (let seq = 1100; seq < 1150; seq++) {
      clock.advance(33);
      receive(clock, cap, s, ssrc, seq, seq * 3000, true, 90_000);
    }
    // The peer's SR about this stream, then 1.5 s until our report.
    const ntp = (0xe123_4567n << 32n) | 0x89ab_cdefn;
    s.onSenderReport(ssrc, ntp);
    clock.advance(1500);
    let from = cap.datagrams.length;
    s.report();
    const b2 = parsed(cap, from)[0]!.find(isRr)?.reports[0];
    t.equal(b2?.fractionLost, 0, "interval 2: nothing lost");
    t.equal(b2?.cumulativeLost, 10, "cumulative loss kept");
    t.equal(b2?.extendedHighestSeq, 1149);
    t.equal(b2?.lastSr, 0x4567_89ab, "LSR = middle 32 bits of the peer's NTP timestamp");
    t.equal(b2?.delaySinceLastSr, 1.5 * 65536, "DLSR = 1.5 s in 1/65536 s");

    // Interval 3: 1150..1199, the odd ones from 1160 lost.
    for (let seq = 1150; seq < 1200; seq++) {
      clock.advance(33);
      if (seq < 1160 || seq % 2 === 0) {
        receive(clock, cap, s, ssrc, seq, seq * 3000, true, 90_000);
      }
    }
    from = cap.datagrams.length;
    s.report();
    const b3 = parsed(cap, from)[0]!.find(isRr)?.reports[0];
    // Highest received is 1198 (1199 lost): 49 expected, 19 lost (1161, 1163, …, 1197).
    t.equal(b3?.fractionLost, Math.floor((19 * 256) / 49), "19 of 49 → 99/256");
    t.equal(b3?.cumulativeLost, 29);
    t.equal(b3?.extendedHighestSeq, 1198);

    // Interval 4: only duplicates (more packets than expected): fraction 0, cumulative loss reduced, not negative.
    for (let i = 0; i < 40; i++) {
      receive(clock, cap, s, ssrc, 1198, 1198 * 3000, true, 90_000);
    }
    from = cap.datagrams.length;
    s.report();
    const b4 = parsed(cap, from)[0]!.find(isRr)?.reports[0];
    t.equal(b4?.fractionLost, 0, "duplicates: fraction 0");
    t.equal(b4?.cumulativeLost, 0, "cumulative loss clamped at 0 (RFC 3550 allows negative; 0 is what we send)");
  });
  t.end();
});

t.test("RR: sequence wrap counts cycles; audio gets a block too; peer SR for an unknown SSRC is ignored", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    s.onSenderReport(0x77, 0x1234_5678_9abc_def0n); // before any RTP of that SSRC
    for (let i = 0; i < 100; i++) {
      clock.advance(20);
      receive(clock, cap, s, 0x77, 65_486 + i, i * 960, false, 48_000);
    }
    s.report();
    const rr = parsed(cap)[0]!.find(isRr);
    const b = rr?.reports[0];
    t.equal(cap.datagrams.length, 1, "no NACK for audio");
    t.equal(b?.ssrc, 0x77);
    t.equal(b?.extendedHighestSeq, 0x1_0000 + ((65_486 + 99) & 0xffff), "one cycle");
    t.equal(b?.cumulativeLost, 0);
    t.equal(b?.lastSr, 0, "the SR came before the stream was known");
  });
  t.end();
});

t.test("SR carries the report blocks of every received stream (first SR only), up to 31", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    for (let k = 0; k < 35; k++) {
      receive(clock, cap, s, 0x1000 + k, 10, 0, false, 8000);
      receive(clock, cap, s, 0x1000 + k, 12, 320, false, 8000);
    }
    s.onSent(0xaaaa, 48_000, 1, 0, 10, false, Buffer.alloc(1));
    s.onSent(0xbbbb, 90_000, 1, 0, 10, true, Buffer.alloc(1));
    s.report();
    const c = parsed(cap)[0]!;
    t.same(
      c.map((p) => p.type),
      ["sr", "sr", "sdes"],
    );
    const [a, v] = [c[0], c[1]];
    if (isSr(a) && isSr(v)) {
      t.equal(a.reports.length, 31, "at most 31 blocks (5-bit count)");
      t.equal(v.reports.length, 0);
      t.equal(a.reports[0]!.cumulativeLost, 1);
      t.equal(a.reports[0]!.fractionLost, Math.floor(256 / 3));
    }
  });
  t.end();
});

// ------------------------------------------------------------------------------------------- NACK generation

t.test("NACK: a video gap is asked for once per retry interval, at most 3 times; audio never", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const v = 0x5151;
    for (const seq of [100, 101]) {
      s.onReceived(v, seq, true);
    }
    t.equal(cap.datagrams.length, 0, "no gap, no NACK");
    s.onReceived(v, 105, true);
    t.same(nacks(cap), [{ media: v, sender: REPORTER, lost: [102, 103, 104] }], "first NACK lists the gap");
    t.same(cap.nackSent, [v], "nackSent once");
    clock.advance(10);
    s.onReceived(v, 106, true);
    t.equal(nacks(cap).length, 1, "10 ms later: no retry yet (interval 30 ms without RTT)");
    clock.advance(25);
    s.onReceived(v, 107, true);
    t.equal(nacks(cap).length, 2, "35 ms after the first: retry");
    t.same(nacks(cap)[1]?.lost, [102, 103, 104]);
    clock.advance(40);
    s.onReceived(v, 108, true);
    t.equal(nacks(cap).length, 3, "third try");
    for (let seq = 109; seq < 120; seq++) {
      clock.advance(40);
      s.onReceived(v, seq, true);
    }
    t.equal(nacks(cap).length, 3, "no fourth try");
    t.same(cap.nackSent, [v, v, v]);

    // Audio: a gap never produces a NACK.
    const a = 0x5252;
    s.onReceived(a, 10, false);
    s.onReceived(a, 20, false);
    clock.advance(100);
    s.onReceived(a, 21, false);
    t.equal(nacks(cap).length, 3, "audio: no NACK");
  });
  t.end();
});

t.test("NACK: a packet that arrives (late or retransmitted) is not asked for again", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const v = 0x6161;
    s.onReceived(v, 500, true);
    s.onReceived(v, 504, true);
    t.same(nacks(cap)[0]?.lost, [501, 502, 503]);
    clock.advance(5);
    s.onReceived(v, 502, true); // retransmission
    clock.advance(40);
    s.onReceived(v, 505, true);
    t.same(nacks(cap)[1]?.lost, [501, 503], "retry without the packet that came");
    s.onReceived(v, 501, true);
    s.onReceived(v, 503, true);
    for (let seq = 506; seq < 520; seq++) {
      clock.advance(40);
      s.onReceived(v, seq, true);
    }
    t.equal(nacks(cap).length, 2, "all arrived: no more NACKs");
  });
  t.end();
});

t.test("NACK: nothing after 1 s, across the 16-bit wrap, long gaps in several FCIs, bursts over 256 ignored", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const v = 0x7171;
    s.onReceived(v, 10, true);
    s.onReceived(v, 12, true);
    t.equal(nacks(cap).length, 1);
    clock.advance(1001);
    s.onReceived(v, 13, true);
    t.equal(nacks(cap).length, 1, "older than 1 s: dropped, not asked again");

    const w = 0x7272;
    s.onReceived(w, 65_533, true);
    s.onReceived(w, 2, true);
    t.same(nacks(cap, 1)[0]?.lost, [65_534, 65_535, 0, 1], "across the wrap");

    const x = 0x7373;
    s.onReceived(x, 1000, true);
    s.onReceived(x, 1041, true);
    const lost = nacks(cap, 2)[0]?.lost ?? [];
    t.same(
      lost,
      Array.from({ length: 40 }, (_, i) => 1001 + i),
      "40 lost in PID/BLP entries",
    );

    const y = 0x7474;
    s.onReceived(y, 1000, true);
    s.onReceived(y, 1300, true);
    t.equal(nacks(cap, 3).length, 0, "a jump of 300 is a new start, not 299 losses");
    s.onReceived(y, 1302, true);
    t.same(nacks(cap, 3)[0]?.lost, [1301], "and loss tracking continues from there");
  });
  t.end();
});

t.test("NACK retry interval follows the measured RTT (1.5 × RTT)", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    s.onSent(0x9999, 90_000, 1, 0, 100, true, Buffer.alloc(1));
    s.report();
    const sr = parsed(cap)[0]!.find(isSr)!;
    clock.advance(300);
    s.onReportBlock(0x9999, ntpMiddle(sr.ntpSeconds, sr.ntpFraction), Math.round(0.1 * 65536));
    const rtt = s.roundTripTime(0x9999) ?? 0;
    t.ok(Math.abs(rtt - 0.2) < 2 / 65536, `RTT ${rtt} ≈ 0.2 s`);
    const from = cap.datagrams.length;
    const v = 0x8181;
    s.onReceived(v, 1, true);
    s.onReceived(v, 3, true);
    t.equal(nacks(cap, from).length, 1);
    clock.advance(200);
    s.onReceived(v, 4, true);
    t.equal(nacks(cap, from).length, 1, "200 ms < 1.5 × 200 ms: no retry");
    clock.advance(110);
    s.onReceived(v, 5, true);
    t.equal(nacks(cap, from).length, 2, "310 ms: retry");
  });
  t.end();
});

// ------------------------------------------------------------------------------------------- NACK answers

t.test("onNack resends exactly the cached protected packets, not overwritten or unknown ones", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const v = 0x4242;
    const given = new Map<number, Buffer>();
    const pkt = (seq: number): Buffer => {
      const b = Buffer.from(`srtp-${seq}`);
      given.set(seq, b);
      return b;
    };
    for (let seq = 1000; seq < 1100; seq++) {
      s.onSent(v, 90_000, seq, seq * 3000, 200, true, pkt(seq));
    }
    t.equal(s.onNack(v, [1005, 1010, 999, 1100]), 2, "two of four are in the cache");
    t.same(
      cap.resent.map((b) => b.toString()),
      ["srtp-1005", "srtp-1010"],
      "the cached bytes, in NACK order",
    );
    t.equal(cap.resent[0], given.get(1005), "the very buffer handed to onSent (no copy)");
    // seq 2024 takes the slot of 1000 (1024 packets of cache).
    s.onSent(v, 90_000, 2024, 0, 200, true, pkt(2024));
    cap.resent.length = 0;
    t.equal(s.onNack(v, [1000]), 0, "overwritten: not resent");
    t.equal(s.onNack(v, [2024, 1001]), 2);
    t.same(
      cap.resent.map((b) => b.toString()),
      ["srtp-2024", "srtp-1001"],
    );
    // Audio is not cached; unknown SSRCs have nothing.
    s.onSent(0x4343, 48_000, 1, 0, 80, false, pkt(1));
    t.equal(s.onNack(0x4343, [1]), 0, "audio: no cache");
    t.equal(s.onNack(0x4444, [1000]), 0, "unknown SSRC");
    t.equal(cap.resent.length, 2);
  });
  t.end();
});

t.test("onNack across the wrap: cache slots of 65535 and 0", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const v = 0x4545;
    for (const seq of [65_534, 65_535, 0, 1]) {
      s.onSent(v, 90_000, seq, 0, 10, true, Buffer.from(`p${seq}`));
    }
    t.equal(s.onNack(v, [65_535, 0]), 2);
    t.same(
      cap.resent.map((b) => b.toString()),
      ["p65535", "p0"],
    );
  });
  t.end();
});

t.test("onNack with werift's parse of a NACK spanning the wrap (PID 65535, BLP bit 0) resends seq 0 too", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const v = 0x4646;
    for (const seq of [65_534, 65_535, 0, 1]) {
      s.onSent(v, 90_000, seq, 0, 10, true, Buffer.from(`p${seq}`));
    }
    // What a browser sends for lost 65535 and 0: one FCI, PID 65535, BLP 0x0001.
    const nack = Buffer.alloc(16);
    nack[0] = 0x81;
    nack[1] = 205;
    nack.writeUInt16BE(3, 2);
    nack.writeUInt32BE(0x1234, 4);
    nack.writeUInt32BE(v, 8);
    nack.writeUInt16BE(65_535, 12);
    nack.writeUInt16BE(0x0001, 14);
    const fb = RtcpPacketConverter.deSerialize(nack)[0] as unknown as { feedback?: { lost?: number[] } } | undefined;
    const lost = fb?.feedback?.lost ?? [];
    t.equal(lost.length, 2, "werift parsed two lost packets");
    t.equal(s.onNack(v, lost), 2, "both resent");
    t.same(
      cap.resent.map((b) => b.toString()),
      ["p65535", "p0"],
    );
  });
  t.end();
});

// ------------------------------------------------------------------------------------------- RTT

t.test("RTT from a report block echoing one of our SRs; unknown or zero LSR ignored; last 8 SRs remembered", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    const a = 0x2222;
    s.onSent(a, 48_000, 1, 0, 100, false, Buffer.alloc(1));
    t.equal(s.roundTripTime(a), undefined, "no RTT before any echo");
    s.report();
    const sr = parsed(cap)[0]!.find(isSr)!;
    const lsr = ntpMiddle(sr.ntpSeconds, sr.ntpFraction);
    clock.advance(250);
    s.onReportBlock(a, 0, 0);
    t.equal(s.roundTripTime(a), undefined, "LSR 0: no RTT");
    s.onReportBlock(a, (lsr + 12_345) >>> 0, 0);
    t.equal(s.roundTripTime(a), undefined, "LSR not one of ours: no RTT");
    // The peer held our SR for 100 ms: RTT = 250 − 100 = 150 ms.
    s.onReportBlock(a, lsr, Math.round(0.1 * 65536));
    const rtt = s.roundTripTime(a) ?? -1;
    t.ok(Math.abs(rtt - 0.15) < 2 / 65536, `RTT ${rtt} ≈ 0.150 s`);
    t.equal(s.roundTripTime(0x3333), undefined, "per SSRC");
    // Eight more reports: the first SR is forgotten (bounded memory), the latest still counts.
    let last = lsr;
    for (let i = 0; i < 8; i++) {
      clock.advance(1000);
      const from = cap.datagrams.length;
      s.report();
      const r = parsed(cap, from)[0]!.find(isSr)!;
      last = ntpMiddle(r.ntpSeconds, r.ntpFraction);
    }
    clock.advance(40);
    s.onReportBlock(a, lsr, 0);
    t.ok(Math.abs((s.roundTripTime(a) ?? -1) - 0.15) < 2 / 65536, "echo of a forgotten SR: RTT unchanged");
    s.onReportBlock(a, last, Math.round(0.01 * 65536));
    t.ok(Math.abs((s.roundTripTime(a) ?? -1) - 0.03) < 2 / 65536, "echo of the latest SR: 40 − 10 = 30 ms");
  });
  t.end();
});

t.test("the peer's SR becomes its stream's sender clock (NTP ms ↔ RTP timestamp) for the sinks", (t) => {
  const clock = new Clock();
  clock.run(() => {
    const { s, cap } = makeSession();
    receive(clock, cap, s, 0x99, 1, 960, false, 48_000);
    const st = cap.counters.get(0x99);
    t.same(st?.sender, { reports: 0, ntpMs: 0, rtpTimestamp: 0 }, "no mapping before an SR");
    const wall = Date.UTC(2026, 11, 7, 12, 0, 0, 250);
    const [ntpSeconds, ntpFraction] = ntpFromMs(wall);
    const sr = { ssrc: 0x99, ntpSeconds, ntpFraction, rtpTimestamp: 0xffff_ff00, packetCount: 1, octetCount: 1 };
    s.rtcp.receive(buildSenderReport({ ...sr, reports: [] }));
    t.equal(st?.sender.reports, 1);
    t.equal(st?.sender.rtpTimestamp, 0xffff_ff00);
    t.ok(Math.abs((st?.sender.ntpMs ?? 0) - wall) < 0.001, "NTP time as ms since the Unix epoch");
    s.rtcp.receive(buildSenderReport({ ...sr, rtpTimestamp: 5, reports: [] }));
    t.equal(st?.sender.reports, 2, "a new SR updates the same object in place");
    t.equal(st?.sender.rtpTimestamp, 5);

    // A sender's first SR comes just before its first RTP packet: held, and adopted when the stream appears.
    const [sec2, frac2] = ntpFromMs(wall + 1000);
    s.rtcp.receive(buildSenderReport({ ...sr, ssrc: 0x55, ntpSeconds: sec2, ntpFraction: frac2, reports: [] }));
    t.notOk(cap.counters.has(0x55), "no statistics made for an SSRC that sent no RTP");
    const fresh = new RecvStreamStats(0x55, "VIDEO", 90_000);
    cap.counters.set(0x55, fresh);
    adoptEarlySenderReport(cap.counters, fresh);
    t.equal(fresh.sender.reports, 1, "the held SR is the new stream's sender clock");
    t.ok(Math.abs(fresh.sender.ntpMs - wall - 1000) < 0.001);
    adoptEarlySenderReport(cap.counters, fresh);
    t.equal(fresh.sender.reports, 1, "adopted once");
  });
  t.end();
});
