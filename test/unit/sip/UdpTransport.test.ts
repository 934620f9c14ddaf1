/**
 * UDP transport (sip/transport/UdpTransport.ts) on 127.0.0.1 with ephemeral ports.
 */

import dgram from "node:dgram";
import t from "tap";
import {
  createResponse,
  parseMessage,
  SipRequest,
  UdpTransport,
  type InboundMessage,
  type SipParseError,
} from "../../../sip/index.js";
import { INVITE, torture } from "./helpers.js";

function next<T>(list: T[]): Promise<T> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      const item = list.shift();
      if (item !== undefined) {
        clearInterval(timer);
        resolve(item);
      }
    }, 2);
  });
}

t.test("a request crosses, gets received/rport stamped, and the response comes back", async (t) => {
  const inbox: InboundMessage[] = [];
  const server = await UdpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: (m) => inbox.push(m) });
  const clientInbox: InboundMessage[] = [];
  const client = await UdpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: (m) => clientInbox.push(m) });
  t.teardown(() => Promise.all([server.close(), client.close()]));
  t.equal(server.reliable, false);

  await client.send(parseMessage(INVITE), { host: "127.0.0.1", port: server.address.port, transport: "UDP" });
  const got = await next(inbox);
  t.type(got.message, SipRequest);
  const req = got.message as SipRequest;
  t.equal(got.source.port, client.address.port);
  t.equal(req.topVia.received, "127.0.0.1", "received added: sent-by differs from the source");
  t.equal(req.topVia.rport, client.address.port, "rport filled in (RFC 3581)");

  await server.send(createResponse(req, 180, { toTag: "x" }), got.source);
  const back = await next(clientInbox);
  t.equal(back.message.cseq.method, "INVITE");
  t.equal(back.message.to.tag, "x");
});

t.test("a malformed request gets a stateless 400 naming the fault; a bad response is dropped", async (t) => {
  const errors: [SipParseError, boolean][] = [];
  const server = await UdpTransport.listen({
    host: "127.0.0.1",
    port: 0,
    onMessage: () => undefined,
    onParseError: (error, _source, answered) => errors.push([error, answered]),
  });
  const raw = dgram.createSocket("udp4");
  await new Promise<void>((resolve) => raw.bind(0, "127.0.0.1", resolve));
  t.teardown(async () => {
    await server.close();
    raw.close();
  });
  const replies: Buffer[] = [];
  raw.on("message", (m) => replies.push(m));

  raw.send(torture("insuf.dat"), server.address.port, "127.0.0.1");
  const reply = await next(replies);
  t.match(reply.toString(), /^SIP\/2\.0 400 Bad Request \(Missing Call-ID\)\r\n/);
  t.match(reply.toString(), /\r\nVia: SIP\/2\.0\/UDP 192\.0\.2\.95;branch=z9hG4bKkdj\.insuf\r\n/);

  raw.send(torture("bigcode.dat"), server.address.port, "127.0.0.1");
  raw.send(Buffer.from("\r\n"), server.address.port, "127.0.0.1");
  while (errors.length < 2) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  t.equal(errors[1]?.[0].reason, "Invalid Status-Code");
  t.equal(errors[1]?.[1], false, "a malformed response is not answered");
  t.equal(replies.length, 0, "nothing sent back for a response or a keep-alive");
  t.equal(errors.length, 2, "the CRLF keep-alive is ignored");
});

t.test("oversized messages are refused before sending; a closed transport rejects", async (t) => {
  const udp = await UdpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: () => undefined });
  const big = parseMessage(INVITE);
  big.bodyText = "x".repeat(70000);
  await t.rejects(udp.send(big, { host: "127.0.0.1", port: 9, transport: "UDP" }), RangeError);
  await udp.close();
  await udp.close();
  await t.rejects(udp.send(parseMessage(INVITE), { host: "127.0.0.1", port: 9, transport: "UDP" }));
});
