import t from "tap";
import { SdpParseError, formatRtcpFb, parseRtcpFb, rtcpFbKey } from "../../../sdp/index.js";

t.test("parseRtcpFb() reads payload type, type and subtype (RFC 4585 §4.2)", async (t) => {
  t.same(parseRtcpFb("96 nack pli"), { payloadType: 96, type: "nack", subtype: "pli" });
  t.same(parseRtcpFb("96 goog-remb"), { payloadType: 96, type: "goog-remb" });
  t.same(parseRtcpFb("* ccm fir"), { payloadType: "*", type: "ccm", subtype: "fir" });
  t.equal(rtcpFbKey(parseRtcpFb("96 nack pli")), "nack pli");
  t.equal(rtcpFbKey(parseRtcpFb("96 nack")), "nack");
});

t.test("formatRtcpFb() round-trips", async (t) => {
  for (const v of ["96 nack pli", "* trr-int 100", "111 transport-cc"]) {
    t.equal(formatRtcpFb(parseRtcpFb(v)), v);
  }
});

t.test("parseRtcpFb() of a malformed value throws SdpParseError", async (t) => {
  t.throws(() => parseRtcpFb("96", 5), { name: "SdpParseError", line: 5 });
  t.throws(() => parseRtcpFb("abc nack"), SdpParseError);
});
