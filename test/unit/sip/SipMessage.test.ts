/**
 * SipMessage / SipRequest / SipResponse (sip/message/SipMessage.ts): lazy structured access, live values, header
 * mutation and serialisation.
 */

import t from "tap";
import {
  CSeq,
  NameAddr,
  parseMessage,
  parseSipUri,
  SipParseError,
  SipRequest,
  SipResponse,
  Via,
} from "../../../sip/index.js";
import { INVITE, request } from "./helpers.js";

t.test("a request built in code serialises with a computed Content-Length", async (t) => {
  const req = new SipRequest("OPTIONS", parseSipUri("sip:sbc.carrier.example"), [
    ["Via", new Via({ transport: "UDP", host: "192.0.2.1", port: 5060, branch: "z9hG4bKabc" })],
    ["Max-Forwards", "70"],
    ["From", "<sip:korus@192.0.2.1>;tag=1"],
    ["To", "<sip:sbc.carrier.example>"],
    ["Call-ID", "opt-1"],
    ["CSeq", new CSeq(1, "OPTIONS")],
  ]);
  t.equal(
    req.toString(),
    "OPTIONS sip:sbc.carrier.example SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKabc\r\n" +
      "Max-Forwards: 70\r\nFrom: <sip:korus@192.0.2.1>;tag=1\r\nTo: <sip:sbc.carrier.example>\r\nCall-ID: opt-1\r\n" +
      "CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
  );
  const back = parseMessage(req.toBuffer());
  t.equal(back.cseq.method, "OPTIONS");
});

t.test("edits of parsed structured values are serialised (live objects)", async (t) => {
  const req = request(INVITE);
  req.topVia.received = "203.0.113.10";
  req.topVia.rport = 5060;
  req.to.tag = "korus-1";
  req.cseq.seq = 103;
  req.maxForwards = 68;
  const text = req.toString();
  t.match(
    text,
    /\r\nVia: SIP\/2\.0\/UDP 203\.0\.113\.10:5060;branch=z9hG4bK-524287-1---a1b2c3d4;rport=5060;received=203\.0\.113\.10\r\n/,
  );
  t.match(text, /\r\nTo: <sip:\+4930123456@korus\.example\.com;user=phone>;tag=korus-1\r\n/);
  t.match(text, /\r\nCSeq: 103 INVITE\r\n/);
  t.match(text, /\r\nMax-Forwards: 68\r\n/);
  t.equal(req.getHeader("To"), "<sip:+4930123456@korus.example.com;user=phone>;tag=korus-1", "getHeader sees it");
});

t.test("a proxy adds Via and Record-Route on top (RFC 3261 §16.6) without losing live edits", async (t) => {
  const req = request(INVITE);
  req.topVia.received = "203.0.113.99";
  req.addHeader("Via", "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKproxy", "top");
  req.addHeader("Record-Route", "<sip:192.0.2.1;lr>", "top");
  t.same(
    req.via.map((v) => v.host),
    ["192.0.2.1", "203.0.113.10"],
  );
  t.equal(req.via[1]?.received, "203.0.113.99");
  t.equal(req.recordRoutes.length, 2);
});

t.test("pushing onto an empty list header serialises it", async (t) => {
  const req = request(INVITE);
  t.equal(req.routes.length, 0);
  req.routes.push(new NameAddr(parseSipUri("sip:edge.example;lr")));
  t.match(req.toString(), /\r\nRoute: <sip:edge\.example;lr>\r\n/);
});

t.test("setHeader replaces in place, removeHeader deletes, compact and long names are one header", async (t) => {
  const req = request(INVITE);
  req.setHeader("Supported", ["timer", "path"]);
  t.same(req.getHeaders("k"), ["timer", "path"]);
  t.equal(req.removeHeader("k"), true);
  t.equal(req.removeHeader("Supported"), false);
  t.equal(req.hasHeader("Supported"), false);
  req.setHeader("X-Trunk", "carrier-a");
  t.equal(req.getHeader("x-trunk"), "carrier-a");
  t.equal([...req.headers()].at(-1)?.[0], "X-Trunk");
});

t.test("Content-Length always reflects the body", async (t) => {
  const req = request(INVITE);
  req.bodyText = "";
  t.match(req.toString(), /\r\nContent-Length: 0\r\n\r\n$/);
  req.removeHeader("Content-Type");
  t.equal(req.contentLength, 0);
});

t.test("optional headers: Expires, Date, auth, Accept", async (t) => {
  const req = request(
    "REGISTER sip:reg.example SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@reg.example>;tag=1\r\n" +
      "To: <sip:a@reg.example>\r\nCall-ID: r1\r\nCSeq: 2 REGISTER\r\nExpires: 600\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\n" +
      'Authorization: Digest username="a", realm="reg.example", nonce="n1", uri="sip:reg.example", response="abc", qop=auth, nc=00000001, cnonce="c1"\r\n' +
      "Accept: application/sdp;level=1, application/pidf+xml\r\nContact: *\r\nContent-Length: 0\r\n\r\n",
  );
  t.equal(req.expires, 600);
  t.equal(req.date?.toISOString(), "2010-11-13T23:29:00.000Z");
  t.equal(req.contactWildcard, true);
  t.same(req.contacts, []);
  t.match(req.toString(), /\r\nContact: \*\r\n/, "Contact: * survives serialisation");
  const auth = req.authHeaders("Authorization")[0];
  t.equal(auth?.get("username"), "a");
  t.same(auth?.qop, ["auth"]);
  t.same(
    req.accept.map((a) => a.essence),
    ["application/sdp", "application/pidf+xml"],
  );
  t.equal(new SipResponse(200, "OK").expires, undefined);
});

t.test("single-value headers that repeat are rejected on access", async (t) => {
  const res = new SipResponse(200, "OK", [
    ["To", "<sip:a@b>"],
    ["To", "<sip:c@d>"],
  ]);
  t.throws(() => res.to, SipParseError);
  t.throws(() => res.from, SipParseError, "missing From");
  t.throws(() => res.topVia, SipParseError, "missing Via");
  t.throws(() => new SipResponse(200, "OK", [["Max-Forwards", "256"]]).maxForwards, SipParseError);
  t.throws(() => new SipResponse(200, "OK", [["Call-ID", "a b"]]).callId, SipParseError);
});

t.test("binary bodies survive toBuffer", async (t) => {
  const body = Uint8Array.from([0, 13, 10, 255]);
  const res = new SipResponse(200, "OK", [["Content-Type", "application/octet-stream"]], body);
  const wire = res.toBuffer();
  t.same(wire.subarray(wire.length - 4), Buffer.from(body));
  t.equal(res.startLine, "SIP/2.0 200 OK");
});
