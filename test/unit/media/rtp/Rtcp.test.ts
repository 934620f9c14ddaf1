import {
  ByePacket,
  CompoundPacket,
  ReceiverReportPacket,
  SdesChunk,
  SdesPacket,
  SenderReportPacket,
} from "rtp.js/packets";
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

t.test("an independent parser (rtp.js) reads what Korus builds: SR with blocks, RR, SDES, BYE", (t) => {
  const sr = buildSenderReport({
    ssrc: 0x0102_0304,
    ntpSeconds: 0xe123_4567,
    ntpFraction: 0x89ab_cdef,
    rtpTimestamp: 0xffff_fff0,
    packetCount: 70_000,
    octetCount: 11_200_000,
    reports: [block, { ...block, ssrc: 7, cumulativeLost: 4000 }],
  });
  const compound = Buffer.concat([
    sr,
    buildReceiverReport({ ssrc: 9, reports: [{ ...block, cumulativeLost: 0 }] }),
    // A second chunk whose SSRC starts with a zero octet would trip rtp.js 0.15.5: its SDES parser takes up to three
    // zero octets after an END as padding even when the chunk is already aligned (it cannot read its own output).
    buildSdes([cnameChunk(0x0102_0304, "korus-abc"), cnameChunk(0x9000_0009, "x")]),
    buildBye([0x0102_0304, 9], "done"),
  ]);
  const packets = new CompoundPacket(new DataView(compound.buffer, compound.byteOffset, compound.byteLength));
  const [a, b, c, d] = packets.getPackets();
  t.ok(a instanceof SenderReportPacket, "SR");
  if (a instanceof SenderReportPacket) {
    t.equal(a.getSsrc(), 0x0102_0304);
    t.equal(a.getNtpSeconds(), 0xe123_4567);
    t.equal(a.getNtpFraction(), 0x89ab_cdef);
    t.equal(a.getRtpTimestamp(), 0xffff_fff0);
    t.equal(a.getPacketCount(), 70_000);
    t.equal(a.getOctetCount(), 11_200_000);
    const [r0, r1] = a.getReports();
    t.equal(r0?.getSsrc(), block.ssrc);
    t.equal(r0?.getFractionLost(), 64);
    t.equal(r0?.getHighestSeqNumber(), 0x1_0005);
    t.equal(r0?.getJitter(), 123);
    t.equal(r0?.getLastSRTimestamp(), 0x1234_5678);
    t.equal(r0?.getDelaySinceLastSR(), 65536);
    // rtp.js 0.15.5 reads the 24-bit cumulative loss through a 12-bit mask, so check the raw field here.
    const raw = (v: DataView | undefined): number => (v === undefined ? -1 : v.getUint32(4) & 0xff_ffff);
    t.equal(raw(r0?.getView()), 0x100_0000 - 3, "-3 as a signed 24-bit field");
    t.equal(raw(r1?.getView()), 4000);
  }
  t.ok(b instanceof ReceiverReportPacket && b.getSsrc() === 9 && b.getReports().length === 1, "RR");
  t.ok(c instanceof SdesPacket, "SDES");
  if (c instanceof SdesPacket) {
    t.same(
      c.getChunks().map((k) => [k.getSsrc(), k.getItems()]),
      [
        [0x0102_0304, [{ type: 1, text: "korus-abc" }]],
        [0x9000_0009, [{ type: 1, text: "x" }]],
      ],
    );
  }
  t.ok(d instanceof ByePacket, "BYE");
  if (d instanceof ByePacket) {
    t.same(d.getSsrcs(), [0x0102_0304, 9]);
    t.equal(d.getReason(), "done");
  }
  t.end();
});

t.test("SDES with several chunks is byte for byte what rtp.js serialises", (t) => {
  const chunks: [number, string][] = [
    [0x0102_0304, "korus-abc"],
    [9, "x"],
    [1, "korus-0123456789ab"],
  ];
  const ours = buildSdes(chunks.map(([ssrc, text]) => cnameChunk(ssrc, text)));
  const theirs = new SdesPacket();
  for (const [ssrc, text] of chunks) {
    const c = new SdesChunk();
    c.setSsrc(ssrc);
    c.addItem(1, text);
    theirs.addChunk(c);
  }
  theirs.serialize();
  const v = theirs.getView();
  t.same(ours, Buffer.from(v.buffer, v.byteOffset, v.byteLength));
  t.same(
    parseRtcp(ours).flatMap((p) => (p.type === "sdes" ? p.chunks.map((c) => c.ssrc) : [])),
    [0x0102_0304, 9, 1],
    "and our parser reads the chunks back",
  );
  t.end();
});
