/**
 * SipStreamFramer (sip/message/SipStreamFramer.ts): Content-Length framing on TCP/TLS (RFC 3261 §18.3) with limits.
 */

import t from "tap";
import { parseMessage, SipStreamFramer } from "../../../sip/index.js";
import { INVITE } from "./helpers.js";

t.test("several messages in one chunk and one message across chunks", async (t) => {
  const framer = new SipStreamFramer();
  const two = Buffer.from(INVITE + INVITE);
  const cut = 700;
  const first = framer.push(two.subarray(0, cut));
  t.equal(first.frames.length, 0);
  const second = framer.push(two.subarray(cut));
  t.equal(second.frames.length, 2);
  t.equal(second.frames[1]?.toString(), INVITE);
  t.equal(parseMessage(second.frames[0]!, { framing: "stream" }).callId, "3c26700e6f4a5c2e@203.0.113.10");
  t.equal(framer.buffered, 0);
});

t.test("RFC 5626 keep-alives: a double-CRLF ping is reported, CRLFs are skipped", async (t) => {
  let pings = 0;
  const framer = new SipStreamFramer({ onKeepAlive: () => pings++ });
  t.same(framer.push(Buffer.from("\r\n\r\n")).frames, []);
  const result = framer.push(Buffer.from(`\r\n${INVITE}`));
  t.equal(pings, 1);
  t.equal(result.frames.length, 1);
});

t.test("limits: message size and header count; the framer then refuses input", async (t) => {
  const big = new SipStreamFramer({ maxMessageSize: 500 });
  const r = big.push(Buffer.from(INVITE));
  t.equal(r.error?.reason, "Message too large");
  t.equal(r.error?.fatal, true);
  t.equal(big.error?.reason, "Message too large");
  t.equal(big.push(Buffer.from(INVITE)).frames.length, 0, "no more frames after an error");

  const endless = new SipStreamFramer({ maxMessageSize: 100 });
  t.equal(endless.push(Buffer.alloc(200, 0x41)).error?.reason, "Header section too large");

  const many = new SipStreamFramer({ maxHeaderCount: 5 });
  t.equal(many.push(Buffer.from(INVITE)).error?.reason, "Too many header fields");
});
