import t from "tap";
import { SdpParseError, formatGroup, parseGroup, parseRtcp } from "../../../sdp/index.js";

t.test("parseGroup() reads semantics and mids (RFC 5888 §5)", async (t) => {
  t.same(parseGroup("BUNDLE 0 1 2"), { semantics: "BUNDLE", mids: ["0", "1", "2"] });
  t.same(parseGroup("BUNDLE"), { semantics: "BUNDLE", mids: [] }, "an empty BUNDLE group is legal in answers");
  t.equal(formatGroup(parseGroup("LS audio video")), "LS audio video");
  t.throws(() => parseGroup(" ", 5), { name: "SdpParseError", line: 5 });
});

t.test("parseRtcp() reads the RTCP port and optional address (RFC 3605 §2.1)", async (t) => {
  t.same(parseRtcp("53020"), { port: 53020 });
  t.same(parseRtcp("9 IN IP4 0.0.0.0"), {
    port: 9,
    connection: { netType: "IN", addressType: "IP4", address: "0.0.0.0" },
  });
  t.throws(() => parseRtcp("x", 3), { name: "SdpParseError", line: 3 });
  t.throws(() => parseRtcp("9 IN IP4"), SdpParseError);
});
