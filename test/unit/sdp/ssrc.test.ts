import t from "tap";
import { SdpParseError, formatSsrc, formatSsrcGroup, parseSsrc, parseSsrcGroup } from "../../../sdp/index.js";

t.test("parseSsrc() reads SSRC, attribute and value (RFC 5576 §4.1)", async (t) => {
  t.same(parseSsrc("3570614608 cname:4TOk42mSjXCkVIa6"), {
    ssrc: 3570614608,
    attribute: "cname",
    value: "4TOk42mSjXCkVIa6",
  });
  t.same(parseSsrc("1 msid:stream track"), { ssrc: 1, attribute: "msid", value: "stream track" });
  t.same(parseSsrc("1 x-flag"), { ssrc: 1, attribute: "x-flag" });
  t.equal(formatSsrc(parseSsrc("1 msid:stream track")), "1 msid:stream track");
  t.equal(formatSsrc(parseSsrc("1 x-flag")), "1 x-flag");
});

t.test("parseSsrc() rejects SSRCs beyond 32 bits and missing attributes", async (t) => {
  t.throws(() => parseSsrc("4294967296 cname:x", 6), { name: "SdpParseError", line: 6 });
  t.throws(() => parseSsrc("12345"), SdpParseError);
});

t.test("parseSsrcGroup() reads semantics and SSRCs (RFC 5576 §4.2)", async (t) => {
  t.same(parseSsrcGroup("FID 2231627014 632943048"), { semantics: "FID", ssrcs: [2231627014, 632943048] });
  t.equal(formatSsrcGroup(parseSsrcGroup("SIM 1 2 3")), "SIM 1 2 3");
  t.throws(() => parseSsrcGroup("FID"), SdpParseError);
  t.throws(() => parseSsrcGroup("FID x"), SdpParseError);
});
