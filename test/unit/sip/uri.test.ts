/**
 * URIs (sip/message/uri.ts): sip, sips, tel and opaque schemes.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-19.1
 */

import t from "tap";
import { GenericUri, hostToAddress, parseSipUri, parseUri, SipParseError, SipUri, TelUri } from "../../../sip/index.js";

t.test("sip: URI with user, password, port, parameters and headers", async (t) => {
  const uri = parseSipUri("sip:alice:secret@atlanta.com:5061;transport=TCP;lr?subject=project%20x&priority=urgent");
  t.equal(uri.scheme, "sip");
  t.equal(uri.user, "alice");
  t.equal(uri.password, "secret");
  t.equal(uri.host, "atlanta.com");
  t.equal(uri.port, 5061);
  t.equal(uri.transport, "tcp");
  t.equal(uri.lr, true);
  t.equal(uri.headers.get("subject"), "project x");
  t.equal(uri.toString(), "sip:alice:secret@atlanta.com:5061;transport=TCP;lr?subject=project%20x&priority=urgent");
});

t.test("sips: and the scheme is case-insensitive", async (t) => {
  const uri = parseSipUri("SIPS:bob@biloxi.example.com");
  t.equal(uri.scheme, "sips");
  t.equal(uri.toString(), "sips:bob@biloxi.example.com");
});

t.test("IPv6 references keep their brackets; hostToAddress strips them", async (t) => {
  const uri = parseSipUri("sip:[2001:db8::10]:5070;maddr=[2001:db8::1]");
  t.equal(uri.host, "[2001:db8::10]");
  t.equal(uri.port, 5070);
  t.equal(uri.params.get("maddr"), "[2001:db8::1]");
  t.equal(hostToAddress(uri.host), "2001:db8::10");
  t.throws(() => parseUri("sip:[2001:db8::10"), SipParseError, "unterminated IPv6 reference");
  t.throws(() => parseUri("sip:[zz]"), SipParseError, "bad IPv6 reference");
});

t.test("user=phone and escaped characters round-trip through escaping", async (t) => {
  const uri = parseSipUri("sip:+1-212-555-1212%3Bext=1@gw.example;user=phone");
  t.equal(uri.user, "+1-212-555-1212;ext=1");
  t.equal(uri.params.get("user"), "phone");
  const made = new SipUri({ user: "a b@c", host: "example.com" });
  t.equal(made.toString(), "sip:a%20b%40c@example.com");
  t.equal(parseSipUri(made.toString()).user, "a b@c");
});

t.test("tel: URIs (RFC 3966) with phone-context", async (t) => {
  const global = parseUri("tel:+1-201-555-0123");
  t.type(global, TelUri);
  t.equal((global as TelUri).isGlobal, true);
  t.equal((global as TelUri).digits, "+12015550123");
  const local = parseUri("tel:7042;phone-context=example.com") as TelUri;
  t.equal(local.isGlobal, false);
  t.equal(local.params.get("phone-context"), "example.com");
  t.equal(local.toString(), "tel:7042;phone-context=example.com");
  t.throws(() => parseUri("tel:not a number"), SipParseError);
});

t.test("other schemes are kept opaque", async (t) => {
  const uri = parseUri("urn:service:sos");
  t.type(uri, GenericUri);
  t.equal(uri.toString(), "urn:service:sos");
});

t.test("malformed URIs throw SipParseError", async (t) => {
  for (const bad of [
    "nocolon",
    "1abc:x",
    "sip:",
    "sip:user@",
    "sip:host:99999",
    "sip:host;",
    "sip:a b@h",
    "sip:%zz@h",
    "sip:h#x",
  ]) {
    t.throws(() => parseUri(bad), SipParseError, bad);
  }
  t.throws(() => parseSipUri("tel:+1"), SipParseError, "parseSipUri refuses tel:");
});

t.test("clone is deep", async (t) => {
  const uri = parseSipUri("sip:a@b;x=1");
  const copy = uri.clone();
  copy.params.set("x", "2");
  t.equal(uri.params.get("x"), "1");
});
