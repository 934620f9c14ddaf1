/**
 * WWW-Authenticate / Authorization values (sip/message/AuthHeader.ts), RFC 3261 §22.4, §25.1.
 */

import t from "tap";
import { AuthHeader, parseAuthHeader, SipParseError } from "../../../sip/index.js";

t.test("a Digest challenge with quoted and token parameters", async (t) => {
  const value =
    'Digest realm="atlanta.com", domain="sip:ss1.carrier.com", qop="auth,auth-int", nonce="f84f1cec41e6cbe5aea9c8e88d359", opaque="", stale=FALSE, algorithm=MD5';
  const c = parseAuthHeader(value, "WWW-Authenticate");
  t.equal(c.isDigest, true);
  t.equal(c.realm, "atlanta.com");
  t.equal(c.nonce, "f84f1cec41e6cbe5aea9c8e88d359");
  t.same(c.qop, ["auth", "auth-int"]);
  t.equal(c.stale, false);
  t.equal(c.algorithm, "MD5");
  t.equal(c.get("opaque"), "");
  t.equal(c.toString(), value, "renders as received");
});

t.test("credentials built in code quote the parameters RFC 3261 quotes", async (t) => {
  const h = new AuthHeader("Digest")
    .set("username", "bob")
    .set("realm", "biloxi.com")
    .set("nonce", "n")
    .set("uri", "sip:bob@biloxi.com")
    .set("response", "r")
    .set("algorithm", "SHA-256")
    .set("qop", "auth", false)
    .set("nc", "00000001")
    .set("cnonce", "c");
  t.equal(
    h.toString(),
    'Digest username="bob", realm="biloxi.com", nonce="n", uri="sip:bob@biloxi.com", response="r", algorithm=SHA-256, qop=auth, nc=00000001, cnonce="c"',
  );
  h.set("nc", "00000002");
  t.equal(h.get("NC"), "00000002", "names are case-insensitive");
  t.equal(new AuthHeader("Digest").algorithm, "MD5", "MD5 is the default");
  t.equal(parseAuthHeader("Digest stale=true", "x").stale, true);
  t.equal(new AuthHeader("Basic").toString(), "Basic");
});

t.test("malformed auth values throw SipParseError", async (t) => {
  for (const bad of ["", "Digest realm", 'Digest realm="x" nonce="y"', "Digest realm=", 'Digest realm="x'] as const) {
    t.throws(() => parseAuthHeader(bad, "WWW-Authenticate"), SipParseError, JSON.stringify(bad));
  }
});
