import t from "tap";
import {
  SdpParseError,
  STATIC_PAYLOAD_TYPES,
  formatRtpmap,
  isDynamicPayloadType,
  parsePayloadType,
  parseRtpmap,
  sameEncodingName,
} from "../../../sdp/index.js";

t.test("parseRtpmap() reads payload type, encoding name, clock rate and channels", async (t) => {
  t.same(parseRtpmap("111 opus/48000/2"), { payloadType: 111, encodingName: "opus", clockRate: 48000, channels: 2 });
  t.same(parseRtpmap("98 AMR-WB/16000"), { payloadType: 98, encodingName: "AMR-WB", clockRate: 16000 });
  t.same(parseRtpmap("101 telephone-event/8000/1").channels, 1);
});

t.test("formatRtpmap() is the inverse of parseRtpmap()", async (t) => {
  for (const v of ["111 opus/48000/2", "0 PCMU/8000", "96 VP8/90000"]) {
    t.equal(formatRtpmap(parseRtpmap(v)), v);
  }
});

t.test("parseRtpmap() of a malformed value throws SdpParseError with the line", async (t) => {
  t.throws(() => parseRtpmap("111 opus", 12), { name: "SdpParseError", line: 12, text: "a=rtpmap:111 opus" });
  t.throws(() => parseRtpmap("opus/48000", 12), SdpParseError);
  t.throws(() => parseRtpmap("128 X/8000", 12), SdpParseError);
});

t.test("parsePayloadType() accepts 0-127 only", async (t) => {
  t.equal(parsePayloadType("0"), 0);
  t.equal(parsePayloadType("127"), 127);
  t.throws(() => parsePayloadType("128"), SdpParseError);
  t.throws(() => parsePayloadType("x"), SdpParseError);
});

t.test("static and dynamic payload types follow RFC 3551 §6", async (t) => {
  t.same(STATIC_PAYLOAD_TYPES.get(9), { encodingName: "G722", clockRate: 8000, channels: 1 });
  t.equal(STATIC_PAYLOAD_TYPES.get(8)?.encodingName, "PCMA");
  t.ok(isDynamicPayloadType(96));
  t.notOk(isDynamicPayloadType(8));
  t.ok(sameEncodingName("OPUS", "opus"));
  t.notOk(sameEncodingName("AMR", "AMR-WB"));
});
