/**
 * parseMessage (sip/message/parser.ts): framing, header splitting and unfolding, start lines, stateless-answer info.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-7
 */

import t from "tap";
import { parseMessage, SipParseError, SipRequest, SipResponse, SipUri } from "../../../sip/index.js";
import { INVITE, parseFailure, SDP } from "./helpers.js";

t.test("a carrier INVITE parses with every core field", async (t) => {
  const m = parseMessage(INVITE);
  t.type(m, SipRequest);
  const req = m as SipRequest;
  t.equal(req.method, "INVITE");
  t.equal((req.uri as SipUri).user, "+4930123456");
  t.equal((req.uri as SipUri).params.get("user"), "phone");
  t.equal(req.topVia.branch, "z9hG4bK-524287-1---a1b2c3d4");
  t.equal(req.topVia.rport, null, "rport requested without value (RFC 3581)");
  t.equal(req.from.tag, "as6f7e8d");
  t.equal(req.from.displayName, "+441632960001");
  t.equal(req.to.tag, undefined);
  t.equal(req.callId, "3c26700e6f4a5c2e@203.0.113.10");
  t.equal(req.cseq.toString(), "102 INVITE");
  t.equal(req.maxForwards, 69);
  t.equal(req.nameAddrs("P-Asserted-Identity")[0]?.uri.toString(), "tel:+441632960001");
  t.same(req.tokens("Supported"), ["100rel", "timer"]);
  t.equal(req.bodyText, SDP);
});

t.test("serialising a parsed canonical message gives back the same bytes", async (t) => {
  const m = parseMessage(INVITE);
  void m.via;
  void m.contacts;
  t.equal(m.toString(), INVITE, "after structured access too");
  t.same(m.toBuffer(), Buffer.from(INVITE));
});

t.test("compact header forms and any header-name case are accepted (RFC 3261 §7.3.3)", async (t) => {
  const m = parseMessage(
    "OPTIONS sip:a@b.example SIP/2.0\r\nv: SIP/2.0/TCP h.example;branch=z9hG4bK1\r\nf: <sip:x@y>;tag=1\r\n" +
      "T: sip:a@b.example\r\ni: abc\r\ncSeQ: 1 OPTIONS\r\nk: path\r\nL: 0\r\n\r\n",
  );
  t.equal(m.callId, "abc");
  t.equal(m.getHeader("Call-ID"), "abc");
  t.equal(m.getHeader("i"), "abc");
  t.same(m.tokens("Supported"), ["path"]);
  t.equal(m.topVia.transport, "TCP");
});

t.test("comma-separated and multi-line list headers are equivalent (RFC 3261 §7.3.1)", async (t) => {
  const m = parseMessage(
    "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a.example;branch=z9hG4bK1, SIP/2.0/UDP [2001:db8::1]:5062;branch=z9hG4bK2\r\n" +
      "Via: SIP/2.0/UDP c.example;branch=z9hG4bK3;received=2001:db8::9\r\n" +
      'From: <sip:x@y>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: "A, B" <sip:a@h1>, <sip:b@h2;transport=tcp>;expires=60\r\nContent-Length: 0\r\n\r\n',
  );
  t.type(m, SipResponse);
  t.same(
    m.via.map((v) => v.sentBy),
    ["a.example", "[2001:db8::1]:5062", "c.example"],
  );
  t.equal(m.via[2]?.received, "2001:db8::9", "IPv6 received value");
  t.equal(m.contacts.length, 2, "a comma in a quoted display name does not split");
  t.equal(m.contacts[0]?.displayName, "A, B");
  t.equal(m.contacts[1]?.expires, 60);
  t.same(m.getHeaderValues("Contact"), ['"A, B" <sip:a@h1>', "<sip:b@h2;transport=tcp>;expires=60"]);
});

t.test("bare LF line ends and leading CRLFs are tolerated (RFC 3261 §7.5)", async (t) => {
  const m = parseMessage(
    "\r\n\r\nOPTIONS sip:a@b SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nFrom: <sip:x@y>;tag=1\nTo: <sip:a@b>\n" +
      "Call-ID: c\nCSeq: 2 OPTIONS\nContent-Length: 2\n\nhi",
  );
  t.equal(m.cseq.seq, 2);
  t.equal(m.bodyText, "hi");
});

t.test("missing mandatory headers are named in the error (400 Bad Request (Missing X))", async (t) => {
  const base = [
    "Via: SIP/2.0/UDP h;branch=z9hG4bK1",
    "From: <sip:x@y>;tag=1",
    "To: <sip:a@b>",
    "Call-ID: c",
    "CSeq: 1 OPTIONS",
  ];
  const names = ["Via", "From", "To", "Call-ID", "CSeq"];
  for (const [i, name] of names.entries()) {
    const lines = base.filter((_, j) => j !== i);
    const error = parseFailure(() =>
      parseMessage(`OPTIONS sip:a@b SIP/2.0\r\n${lines.join("\r\n")}\r\nContent-Length: 0\r\n\r\n`),
    );
    t.equal(error.reason, `Missing ${name}`, name);
    t.equal(error.status, 400);
  }
});

t.test("the stream framing requires Content-Length (RFC 3261 §18.3 MUST)", async (t) => {
  const text = "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\nFrom: <sip:x@y>;tag=1\r\n\r\n";
  const error = parseFailure(() => parseMessage(text, { framing: "stream" }));
  t.equal(error.reason, "Missing Content-Length");
  t.equal(error.fatal, true);
});

t.test("header count is limited", async (t) => {
  const many = Array.from({ length: 20 }, (_, i) => `X-H${i}: v`).join("\r\n");
  t.throws(() => parseMessage(`${INVITE.replace("\r\n", `\r\n${many}\r\n`)}`, { maxHeaderCount: 10 }), SipParseError);
});

t.test("lazy mode skips eager validation until a header is read", async (t) => {
  const text =
    "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: <sip:a@b>\r\nContent-Length: 0\r\n\r\n";
  const m = parseMessage(text, { lazy: true });
  t.equal(m.topVia.branch, "z9hG4bK1");
  t.throws(() => m.callId, SipParseError);
});

t.test("malformed start lines and header lines are rejected", async (t) => {
  const rest = "Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n";
  t.equal(parseFailure(() => parseMessage(`OPTIONS sip:a@b\r\n${rest}`)).reason, "Malformed Request-Line");
  t.equal(parseFailure(() => parseMessage(`OPTIONS sip:a@b HTTP/1.1\r\n${rest}`)).reason, "Malformed Request-Line");
  t.equal(
    parseFailure(() => parseMessage(`OPTIONS sip:a@b SIP/2.0\r\nBad Header\r\n${rest}`)).reason,
    "Malformed header line",
  );
  t.equal(parseFailure(() => parseMessage(`OPTIONS sip:a@b SIP/2.0\r\n folded\r\n${rest}`)).status, 400);
  t.equal(parseFailure(() => parseMessage(`SIP/3.0 200 OK\r\n${rest}`)).status, undefined);
  t.equal(parseFailure(() => parseMessage("\r\n\r\n")).reason, "Empty message");
});
