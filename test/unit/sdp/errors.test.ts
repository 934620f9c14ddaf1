import t from "tap";
import { SdpNegotiationError, SdpParseError } from "../../../sdp/index.js";

t.test("SdpParseError carries the line number and the offending text", async (t) => {
  const e = new SdpParseError("bad m= line", 7, "m=audio x RTP/AVP 0");
  t.ok(e instanceof Error);
  t.ok(e instanceof SdpParseError);
  t.equal(e.name, "SdpParseError");
  t.equal(e.line, 7);
  t.equal(e.text, "m=audio x RTP/AVP 0");
  t.equal(e.message, "line 7: bad m= line");
});

t.test("SdpParseError without a line keeps the bare message", async (t) => {
  const e = new SdpParseError("empty", 0);
  t.equal(e.message, "empty");
  t.equal(e.text, undefined);
});

t.test("SdpNegotiationError carries a machine-readable reason", async (t) => {
  const e = new SdpNegotiationError("no-common-codec", "nothing in common");
  t.ok(e instanceof Error);
  t.ok(e instanceof SdpNegotiationError);
  t.equal(e.name, "SdpNegotiationError");
  t.equal(e.reason, "no-common-codec");
  t.equal(e.message, "nothing in common");
});
