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
} from "../../../../media/rtp/Rtcp.js";

const block: ReportBlock = {
  ssrc: 0xaabbccdd,
  fractionLost: 64,
  cumulativeLost: -3,
  extendedHighestSeq: 0x1_0005,
  jitter: 123,
  lastSr: 0x12345678,
  delaySinceLastSr: 65536,
};

t.test("compound SR + SDES + BYE round trip", (t) => {
  const sr = buildSenderReport({
    ssrc: 1,
    ntpSeconds: 0xe0000000,
    ntpFraction: 0x80000000,
    rtpTimestamp: 160,
    packetCount: 50,
    octetCount: 8000,
    reports: [block],
  });
  t.equal(sr.length, 52);
  const compound = Buffer.concat([sr, buildSdes([cnameChunk(1, "korus@test")]), buildBye([1, 2], "bye now")]);
  const parts = parseRtcp(compound);
  t.equal(parts.length, 3);
  const [p0, p1, p2] = parts;
  t.same(p0, {
    type: "sr",
    ssrc: 1,
    ntpSeconds: 0xe0000000,
    ntpFraction: 0x80000000,
    rtpTimestamp: 160,
    packetCount: 50,
    octetCount: 8000,
    reports: [block],
  });
  t.same(p1, { type: "sdes", chunks: [{ ssrc: 1, items: [{ type: 1, text: "korus@test" }] }] });
  t.same(p2, { type: "bye", ssrcs: [1, 2], reason: "bye now" });
  t.end();
});

t.test("RR, empty RR, SDES with several chunks and lengths that are multiples of 4", (t) => {
  const rr = buildReceiverReport({ ssrc: 7, reports: [block, { ...block, ssrc: 9, cumulativeLost: 100 }] });
  const empty = buildReceiverReport({ ssrc: 7, reports: [] });
  const sdes = buildSdes([cnameChunk(7, "a"), cnameChunk(8, "bbbb"), { ssrc: 9, items: [] }]);
  for (const b of [rr, empty, sdes, buildBye([5]), buildBye([5], "x")]) {
    t.equal(b.length % 4, 0);
  }
  const parts = parseRtcp(Buffer.concat([rr, empty, sdes]));
  t.equal(parts[0]?.type, "rr");
  t.same(parts[0]?.type === "rr" ? parts[0].reports.map((r) => r.cumulativeLost) : [], [-3, 100]);
  t.same(parts[1], { type: "rr", ssrc: 7, reports: [] });
  t.same(parts[2], {
    type: "sdes",
    chunks: [
      { ssrc: 7, items: [{ type: 1, text: "a" }] },
      { ssrc: 8, items: [{ type: 1, text: "bbbb" }] },
      { ssrc: 9, items: [] },
    ],
  });
  t.end();
});

t.test("feedback packets come back as 'other' with their SSRCs", (t) => {
  const pli = Buffer.from([0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
  const [p] = parseRtcp(pli);
  t.equal(p?.type, "other");
  if (p?.type === "other") {
    t.equal(p.packetType, 206);
    t.equal(p.count, 1);
    t.equal(p.ssrc, 1);
    t.equal(p.mediaSsrc, 2);
  }
  t.end();
});

t.test("malformed RTCP throws RtcpParseError, never anything else", (t) => {
  const sr = buildSenderReport({
    ssrc: 1,
    ntpSeconds: 1,
    ntpFraction: 2,
    rtpTimestamp: 3,
    packetCount: 4,
    octetCount: 5,
    reports: [block],
  });
  t.throws(() => parseRtcp(Buffer.alloc(2)), RtcpParseError);
  t.throws(() => parseRtcp(sr.subarray(0, 40)), RtcpParseError, "truncated");
  t.throws(() => parseRtcp(Buffer.from([0x40, 201, 0, 1, 0, 0, 0, 1])), RtcpParseError, "version 1");
  t.throws(() => parseRtcp(Buffer.from([0x81, 201, 0, 1, 0, 0, 0, 1])), RtcpParseError, "RR claims a block");
  t.throws(() => parseRtcp(Buffer.from([0x81, 202, 0, 1, 0, 0, 0, 1])), RtcpParseError, "SDES without END");
  t.throws(() => parseRtcp(Buffer.concat([sr, Buffer.from([1, 2])])), RtcpParseError, "trailing bytes");
  let other = 0;
  for (let i = 0; i < 3000; i++) {
    const b = Buffer.from(sr);
    b[i % b.length] = (i * 7) & 0xff;
    try {
      parseRtcp(b.subarray(0, 4 + (i % (b.length - 4))));
    } catch (err) {
      if (!(err instanceof RtcpParseError)) {
        other++;
      }
    }
  }
  t.equal(other, 0, "mutated packets only ever raise RtcpParseError");
  t.end();
});

t.test("NTP helpers", (t) => {
  const [s, f] = ntpFromMs(1_000_500);
  t.equal(s, 2_208_988_800 + 1000);
  t.equal(f, 0x80000000);
  t.equal(ntpMiddle(0x12345678, 0x9abcdef0), 0x56789abc);
  t.end();
});
