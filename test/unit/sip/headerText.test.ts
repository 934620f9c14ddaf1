/**
 * Issue 9, defect 5: the serializer's last-line defence against header injection (sip/message/headerText.ts). A header
 * value with CR, LF or NUL, a header name that is not a token, or a start line with CR/LF is never rendered, whatever
 * path put it into the message; well-formed messages render as before.
 */
import t from "tap";
import {
  hasControlChar,
  isStackOwnedHeader,
  NameAddr,
  parseUri,
  SipHeaderTextError,
  SipRequest,
  SipResponse,
} from "../../../sip/index.js";

function invite(): SipRequest {
  const r = new SipRequest("INVITE", parseUri("sip:bob@127.0.0.1"));
  r.setHeader("Via", "SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKx");
  r.setHeader("From", "<sip:a@127.0.0.1>;tag=1");
  r.setHeader("To", "<sip:bob@127.0.0.1>");
  r.setHeader("Call-ID", "c@127.0.0.1");
  r.setHeader("CSeq", "1 INVITE");
  return r;
}

t.test("a header value with CR, LF or NUL is refused", (t) => {
  for (const value of ["v\r\nVia: evil", "v\nX: y", "v\rX: y", "a\u0000b", "v\r\n\r\nBYE sip:x@y SIP/2.0"]) {
    const r = invite();
    r.addHeader("X-A", value);
    t.throws(() => r.toBuffer(), SipHeaderTextError, JSON.stringify(value));
    t.throws(() => r.toString(), SipHeaderTextError);
  }
  t.end();
});

t.test("a header name that is not a token is refused", (t) => {
  for (const name of ["X A", "Via: evil", "X\r\nY", "", "X:"]) {
    const r = invite();
    r.addHeader(name, "v");
    t.throws(() => r.toBuffer(), SipHeaderTextError, JSON.stringify(name));
  }
  t.end();
});

t.test("a live display name with CRLF cannot break From", (t) => {
  const r = invite();
  const from = new NameAddr(parseUri("sip:a@127.0.0.1"), "Alice\u0000");
  r.setHeader("From", from.toString());
  t.throws(() => r.toBuffer(), SipHeaderTextError, "NUL in a quoted display name");
  const ok = invite();
  ok.setHeader("From", new NameAddr(parseUri("sip:a@127.0.0.1"), "Alice\r\nVia: x").toString());
  t.notMatch(ok.toString(), /\r\nVia: x/, "quote() drops CR/LF from display names");
  t.end();
});

t.test("a reason phrase with CRLF is refused", (t) => {
  const r = new SipResponse(486, "Busy\r\nX-Evil: 1");
  r.setHeader("Call-ID", "c@127.0.0.1");
  t.throws(() => r.toBuffer(), SipHeaderTextError);
  t.end();
});

t.test("well-formed messages are unchanged", (t) => {
  const r = invite();
  r.addHeader("X-Account", "42\tx");
  r.addHeader("P-Asserted-Identity", '"Ünïcode" <sip:a@127.0.0.1>');
  const text = r.toString();
  t.match(text, /\r\nX-Account: 42\tx\r\n/);
  t.match(text, /\r\nContent-Length: 0\r\n\r\n$/);
  t.end();
});

t.test("helpers", (t) => {
  t.ok(hasControlChar("a\rb"));
  t.ok(hasControlChar("a\u007fb"));
  t.notOk(hasControlChar("a\tb é"));
  t.ok(isStackOwnedHeader("Call-ID"));
  t.ok(isStackOwnedHeader("i"), "compact forms count");
  t.ok(isStackOwnedHeader("via"));
  t.notOk(isStackOwnedHeader("P-Asserted-Identity"));
  t.end();
});
