/**
 * Media types (sip/message/MediaType.ts), RFC 3261 §20.15.
 */

import t from "tap";
import { MediaType, parseMediaType, SipParseError } from "../../../sip/index.js";

t.test("type, subtype and parameters; case-insensitive type names", async (t) => {
  const m = parseMediaType('Multipart/Mixed ; boundary="unique-boundary-1";charset=utf-8');
  t.equal(m.essence, "multipart/mixed");
  t.equal(m.param("boundary"), "unique-boundary-1");
  t.equal(m.param("charset"), "utf-8");
  t.equal(m.param("none"), undefined);
  t.equal(m.toString(), 'multipart/mixed;boundary="unique-boundary-1";charset=utf-8');
  t.equal(new MediaType("application", "SDP").toString(), "application/sdp");
});

t.test("malformed media types throw SipParseError", async (t) => {
  for (const bad of ["application", "application/", "/sdp", "application/sdp x"]) {
    t.throws(() => parseMediaType(bad), SipParseError, bad);
  }
});
