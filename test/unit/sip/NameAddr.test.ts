/**
 * name-addr / addr-spec values (sip/message/NameAddr.ts).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-20.10
 */

import t from "tap";
import { NameAddr, parseNameAddr, parseNameAddrList, parseSipUri, SipParseError } from "../../../sip/index.js";

t.test("quoted display name with escapes, URI parameters inside <>, header parameters outside", async (t) => {
  const a = parseNameAddr('"Bob \\"B\\" Smith" <sip:bob@biloxi.com;transport=udp>;tag=a6c85cf;x="q v"', "To");
  t.equal(a.displayName, 'Bob "B" Smith');
  t.equal(a.tag, "a6c85cf");
  t.equal(a.params.get("x"), '"q v"', "quoted header parameter values keep their quotes");
  t.equal(a.toString(), '"Bob \\"B\\" Smith" <sip:bob@biloxi.com;transport=udp>;tag=a6c85cf;x="q v"');
});

t.test(
  "if the URI is not enclosed in angle brackets, parameters are header parameters (RFC 3261 §20.10)",
  async (t) => {
    const a = parseNameAddr("sip:alice@atlanta.com;tag=88", "From");
    t.equal(a.tag, "88");
    t.equal(a.uri.toString(), "sip:alice@atlanta.com");
  },
);

t.test("tag and expires setters", async (t) => {
  const a = new NameAddr(parseSipUri("sip:a@b"));
  a.tag = "t1";
  t.equal(a.toString(), "<sip:a@b>;tag=t1");
  a.tag = undefined;
  t.equal(a.toString(), "<sip:a@b>");
  const c = parseNameAddr("<sip:a@b>;expires=99999999999;q=0.5", "Contact");
  t.equal(c.expires, 3600, "overlarge expires reads as the 3600 default (RFC 4475 §3.1.2.4)");
  t.equal(c.q, 0.5);
  t.equal(parseNameAddr("<sip:a@b>;q=2", "Contact").q, undefined, "invalid q ignored");
});

t.test("lists split on commas outside quotes and brackets", async (t) => {
  const out: NameAddr[] = [];
  parseNameAddrList('<sip:p1.example.com;lr>, "x,y" <sip:p2.example.com;lr>,<sip:p3;lr>', "Route", out);
  t.same(
    out.map((r) => r.uri.toString()),
    ["sip:p1.example.com;lr", "sip:p2.example.com;lr", "sip:p3;lr"],
  );
  t.throws(() => parseNameAddrList("<sip:a@b>,,<sip:c@d>", "Route", []), SipParseError, "empty element");
  t.throws(() => parseNameAddrList("<sip:a@b>, ", "Route", []), SipParseError, "trailing comma");
});

t.test("malformed values throw SipParseError", async (t) => {
  for (const bad of [
    '"unterminated <sip:a@b>',
    "Bell, Alexander <sip:a@b>",
    "< sip:a@b>",
    "<sip:a@b",
    "sip:a@b?x=y",
    '"x" sip:a@b',
    "<sip:a@b>;;",
    "<sip:a@b> junk",
    "Name",
  ]) {
    t.throws(() => parseNameAddr(bad, "From"), SipParseError, bad);
  }
});
