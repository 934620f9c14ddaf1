/**
 * RtcpSession, the other half: what the peer's RTCP does to it (`receive` with plain compound packets as the
 * transports hand them over: SR, RR, NACK, PLI, FIR, REMB, BYE, malformed), and the RtpEndpoint flavour of what it
 * sends (an RR and SDES even when idle, feedback behind an empty RR, BYE). The peer's packets are built with
 * Korus's codec, which Rtcp.test.ts and rtcpFeedback.test.ts check against rtp.js and werift.
 *
 * `performance.now()` and `Date.now()` are replaced by a manual clock while each test body runs.
 */
import t from "tap";
import {
  RtcpParseError,
  buildBye,
  buildReceiverReport,
  buildSdes,
  buildSenderReport,
  cnameChunk,
  ntpFromMs,
  ntpMiddle,
  parseRtcp,
  type ReportBlock,
  type RtcpPacket,
} from "../../../../media/rtp/Rtcp.js";
import { RtcpSession } from "../../../../media/rtp/RtcpSession.js";
import { RecvStreamStats, SendStreamStats } from "../../../../media/rtp/RtpStreamStats.js";
import { buildFir, buildNack, buildPli, firTargets, nackLost } from "../../../../media/rtp/rtcpFeedback.js";

const OURS = 0x0a0a_0a0a;
const VIDEO = 0x0b0b_0b0b;
const PEER = 0x0c0c_0c0c;

function withClock(body: (clock: { perf: number; wall: number }) => void): void {
  const clock = { perf: 50_000, wall: Date.UTC(2026, 11, 7, 17, 0, 0, 125) };
  const perfNow = performance.now.bind(performance);
  const dateNow = Date.now.bind(Date);
  performance.now = () => clock.perf;
  Date.now = () => clock.wall;
  try {
    body(clock);
  } finally {
    performance.now = perfNow;
    Date.now = dateNow;
  }
}

interface Peer {
  rtcp: RtcpSession;
  sent: RtcpPacket[][];
  resent: Buffer[];
  keyframes: string[];
  audio: SendStreamStats;
  video: SendStreamStats;
  receivers: Map<number, RecvStreamStats>;
}

/** A session as RtpEndpoint makes it (compound feedback, idle reports), sending audio and video. */
function session(reducedSize = false): Peer {
  const p: Peer = {
    sent: [],
    resent: [],
    keyframes: [],
    audio: new SendStreamStats(OURS, "AUDIO", 8000),
    video: new SendStreamStats(VIDEO, "VIDEO", 90_000),
    receivers: new Map(),
    rtcp: new RtcpSession(
      {
        send: (b) => p.sent.push(parseRtcp(b)),
        cname: () => "me",
        receivers: () => p.receivers,
        senders: () => [p.audio, p.video],
        keyframeRequested: (kind) => p.keyframes.push(kind),
        resend: (b) => p.resent.push(b),
      },
      { reporterSsrc: OURS, reducedSize, reportWhenIdle: !reducedSize },
    ),
  };
  return p;
}

const block = (ssrc: number, extra: Partial<ReportBlock> = {}): ReportBlock => ({
  ssrc,
  fractionLost: 0,
  cumulativeLost: 0,
  extendedHighestSeq: 0,
  jitter: 0,
  lastSr: 0,
  delaySinceLastSr: 0,
  ...extra,
});

t.test("our SR, the peer's RR 600 ms later having held it 500 ms: RTT 100 ms; loss and jitter kept", (t) => {
  withClock((clock) => {
    const p = session();
    p.rtcp.onSent(p.audio, 1, 160, 160, clock.perf, undefined);
    p.rtcp.report();
    const sr = p.sent[0]?.[0];
    t.equal(sr?.type, "sr", "we sent, so an SR");
    if (sr?.type !== "sr") {
      return;
    }
    clock.perf += 600;
    clock.wall += 600;
    const lsr = ntpMiddle(sr.ntpSeconds, sr.ntpFraction);
    const rr = buildReceiverReport({
      ssrc: PEER,
      reports: [block(OURS, { lastSr: lsr, delaySinceLastSr: 0.5 * 65536, fractionLost: 64, cumulativeLost: 7 })],
    });
    p.rtcp.receive(Buffer.concat([rr, buildSdes([cnameChunk(PEER, "peer")])]));
    const rtt = p.rtcp.roundTripTime(OURS) ?? -1;
    t.ok(Math.abs(rtt - 0.1) < 2 / 65536, `RTT ${rtt} ≈ 0.1 s`);
    t.equal(p.audio.remoteFractionLost, 0.25);
    t.equal(p.audio.remoteCumulativeLost, 7);
    t.equal(p.rtcp.roundTripTime(VIDEO), undefined, "the block was about the audio stream only");
  });
  t.end();
});

t.test("the peer's SR sets LSR/DLSR of our next block; an SR of an unknown source is ignored", (t) => {
  withClock((clock) => {
    const p = session();
    const rx = new RecvStreamStats(PEER, "AUDIO", 8000);
    rx.update(100, 0, 160, clock.perf);
    p.receivers.set(PEER, rx);
    const [sec, frac] = ntpFromMs(clock.wall - 3000);
    const sr = { ntpSeconds: sec, ntpFraction: frac, rtpTimestamp: 0, packetCount: 1, octetCount: 160, reports: [] };
    p.rtcp.receive(buildSenderReport({ ssrc: PEER, ...sr }));
    p.rtcp.receive(buildSenderReport({ ssrc: 0x1234, ...sr, ntpSeconds: sec + 5 }));
    clock.perf += 250;
    p.rtcp.report();
    const rr = p.sent[0]?.[0];
    t.equal(rr?.type, "rr", "nothing sent yet: an RR");
    if (rr?.type === "rr") {
      t.equal(rr.ssrc, OURS, "from the reporter SSRC");
      t.equal(rr.reports[0]?.lastSr, ntpMiddle(sec, frac), "LSR of the peer's SR");
      t.equal(rr.reports[0]?.delaySinceLastSr, 0.25 * 65536, "DLSR 250 ms");
    }
  });
  t.end();
});

t.test("feedback from the peer: NACK answered from the cache, PLI/FIR counted and passed on, REMB kept", (t) => {
  withClock((clock) => {
    const p = session();
    for (let seq = 10; seq < 20; seq++) {
      p.rtcp.onSent(p.video, seq, seq * 3000, 1000, clock.perf, Buffer.from(`v${seq}`));
    }
    p.rtcp.onSent(p.audio, 5, 800, 160, clock.perf, Buffer.from("a5"));
    p.rtcp.receive(buildNack(PEER, VIDEO, [12, 13, 30]));
    t.same(
      p.resent.map((b) => b.toString()),
      ["v12", "v13"],
      "the cached protected packets; 30 was never sent",
    );
    p.rtcp.receive(buildNack(PEER, OURS, [5]));
    t.equal(p.resent.length, 2, "audio is not cached");
    t.equal(p.video.feedback.nack, 1);
    t.equal(p.audio.feedback.nack, 1);
    p.rtcp.receive(Buffer.concat([buildReceiverReport({ ssrc: PEER, reports: [] }), buildPli(PEER, VIDEO)]));
    p.rtcp.receive(buildFir(PEER, VIDEO, 1));
    t.equal(p.video.feedback.pli, 1);
    t.equal(p.video.feedback.fir, 1);
    t.same(p.keyframes, ["VIDEO", "VIDEO"], "one keyframe request per PLI and per FIR");
    const remb = Buffer.alloc(24);
    remb[0] = 0x8f;
    remb[1] = 206;
    remb.writeUInt16BE(5, 2);
    remb.writeUInt32BE(PEER, 4);
    remb.write("REMB", 12, "latin1");
    remb[16] = 1;
    remb.writeUIntBE((2 << 18) | 125_000, 17, 3); // 125000 × 2^2 = 500 kbit/s
    remb.writeUInt32BE(VIDEO, 20);
    p.rtcp.receive(remb);
    t.equal(p.video.remb, 500_000);
    t.equal(p.audio.remb, 0);
    p.rtcp.receive(buildBye([PEER], "gone"));
    t.equal(p.rtcp.byeReceived, 1);
  });
  t.end();
});

t.test("malformed RTCP throws RtcpParseError and applies nothing of the datagram", (t) => {
  withClock(() => {
    const p = session();
    const pli = buildPli(PEER, VIDEO);
    const broken = Buffer.concat([pli, Buffer.from([0x81, 206, 0, 9])]);
    t.throws(() => p.rtcp.receive(broken), RtcpParseError);
    t.equal(p.video.feedback.pli, 0, "the PLI before the broken packet was not applied");
    t.same(p.keyframes, []);
  });
  t.end();
});

t.test("RtpEndpoint flavour: idle RR + SDES, BYE on request, feedback behind an empty RR", (t) => {
  withClock(() => {
    const p = session();
    p.rtcp.report();
    t.same(
      p.sent[0]?.map((x) => x.type),
      ["rr", "sdes"],
      "an idle report: RR without blocks and SDES",
    );
    p.rtcp.report(true);
    t.same(
      p.sent[1]?.map((x) => x.type),
      ["rr", "sdes", "bye"],
    );
    const bye = p.sent[1]?.[2];
    t.same(bye?.type === "bye" ? bye.ssrcs : [], [OURS], "BYE for the source we report as");
    p.rtcp.requestKeyframe(PEER, "pli");
    p.rtcp.requestKeyframe(PEER, "fir");
    p.rtcp.requestKeyframe(PEER, "fir");
    const [pli, fir1, fir2] = p.sent.slice(2);
    t.same(
      pli?.map((x) => x.type),
      ["rr", "other"],
      "compound: empty RR first (RFC 4585 §3.1)",
    );
    const fb = pli?.[1];
    t.ok(fb?.type === "other" && fb.count === 1 && fb.ssrc === OURS && fb.mediaSsrc === PEER, "PLI");
    const f1 = fir1?.[1];
    const f2 = fir2?.[1];
    t.same(f1?.type === "other" ? firTargets(f1) : [], [PEER], "FIR for the peer's stream");
    t.ok(f1?.type === "other" && f2?.type === "other" && f2.bytes[16] === ((f1.bytes[16] ?? 0) + 1) % 256, "FIR seq");
  });
  t.end();
});

t.test("WebRTC flavour: nothing when idle; feedback alone (reduced size); NACK from the reporter SSRC", (t) => {
  withClock((clock) => {
    const p = session(true);
    p.rtcp.report();
    t.equal(p.sent.length, 0, "nothing to report: nothing sent");
    p.rtcp.requestKeyframe(PEER, "pli");
    t.same(
      p.sent[0]?.map((x) => x.type),
      ["other"],
    );
    p.rtcp.onReceived(PEER, 1, true);
    clock.perf += 20;
    p.rtcp.onReceived(PEER, 4, true);
    const nack = p.sent[1]?.[0];
    t.ok(nack?.type === "other" && nack.ssrc === OURS && nack.mediaSsrc === PEER, "NACK alone, from the reporter");
    t.same(nack?.type === "other" ? nackLost(nack) : [], [2, 3]);
  });
  t.end();
});
