import t from "tap";
import {
  RtpHeaderReader,
  RtpParseError,
  buildRtp,
  isRtcp,
  parseRtpHeader,
  writeRtpHeader,
} from "../../../../media/rtp/RtpPacket.js";

t.test("build then parse round-trips every header field and the payload", (t) => {
  const payload = Buffer.from("hello rtp");
  const pkt = buildRtp(8, true, 0xfffe, 0xfedcba98, 0x12345678, payload);
  t.equal(pkt.length, 12 + payload.length);
  const h = parseRtpHeader(pkt);
  t.equal(h.payloadType, 8);
  t.equal(h.marker, true);
  t.equal(h.sequenceNumber, 0xfffe);
  t.equal(h.timestamp, 0xfedcba98);
  t.equal(h.ssrc, 0x12345678);
  t.equal(h.payloadOffset, 12);
  t.same(pkt.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength), payload);
  t.end();
});

t.test("CSRCs, header extension and padding are skipped", (t) => {
  // V=2 P=1 X=1 CC=2, PT 0, seq 7, ts 160, ssrc 1; 2 CSRCs; extension of 1 word; payload "ab"; 2 bytes padding.
  const pkt = Buffer.from([
    0xb2, 0x00, 0x00, 0x07, 0, 0, 0, 160, 0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 10, 0xbe, 0xde, 0x00, 0x01, 1, 2, 3, 4, 0x61,
    0x62, 0x00, 0x02,
  ]);
  const r = new RtpHeaderReader();
  t.equal(r.read(pkt), "ok");
  t.equal(r.csrcCount, 2);
  t.equal(r.payloadOffset, 28);
  t.equal(r.payloadLength, 2);
  t.equal(pkt.subarray(r.payloadOffset, r.payloadOffset + r.payloadLength).toString(), "ab");
  t.end();
});

t.test("malformed datagrams give a status, never an exception, and the throwing parser names it", (t) => {
  const r = new RtpHeaderReader();
  t.equal(r.read(Buffer.alloc(5)), "too-short");
  t.equal(r.read(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), "bad-version");
  t.equal(r.read(Buffer.from([0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2])), "bad-csrc");
  t.equal(r.read(Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9])), "bad-extension");
  t.equal(r.read(Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 40])), "bad-padding");
  t.equal(r.read(Buffer.from([0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0])), "bad-padding");
  t.throws(() => parseRtpHeader(Buffer.alloc(3)), RtpParseError);
  try {
    parseRtpHeader(Buffer.from([0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  } catch (err) {
    t.equal((err as RtpParseError).reason, "bad-version");
  }
  // Random garbage never throws from the reader.
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.alloc(i % 40);
    for (let k = 0; k < b.length; k++) {
      b[k] = (i * 31 + k * 17) & 0xff;
    }
    r.read(b);
  }
  t.pass("2000 garbage datagrams read without throwing");
  t.end();
});

t.test("writeRtpHeader writes at an offset; isRtcp follows RFC 5761", (t) => {
  const b = Buffer.alloc(20);
  t.equal(writeRtpHeader(b, 4, 111, false, 1, 2, 3), 12);
  t.equal(b[4], 0x80);
  t.equal(b[5], 111);
  t.equal(isRtcp(buildRtp(0, false, 1, 1, 1, Buffer.alloc(4))), false);
  t.equal(isRtcp(buildRtp(96, true, 1, 1, 1, Buffer.alloc(4))), false, "PT 96 + marker = 224 is RTP");
  t.equal(isRtcp(Buffer.from([0x80, 200, 0, 6])), true);
  t.equal(isRtcp(Buffer.from([0x81, 206, 0, 2])), true);
  t.end();
});
