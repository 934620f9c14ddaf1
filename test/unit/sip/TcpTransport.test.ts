/**
 * TCP transport (sip/transport/TcpTransport.ts) on 127.0.0.1 with ephemeral ports.
 */

import net from "node:net";
import t from "tap";
import { createResponse, parseMessage, SipRequest, TcpTransport, type InboundMessage } from "../../../sip/index.js";
import { INVITE, torture } from "./helpers.js";

async function until(check: () => boolean): Promise<void> {
  while (!check()) {
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

t.test("requests and responses share one connection (RFC 3261 §18.2.2)", async (t) => {
  const serverInbox: InboundMessage[] = [];
  const clientInbox: InboundMessage[] = [];
  const server = await TcpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: (m) => serverInbox.push(m) });
  const client = await TcpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: (m) => clientInbox.push(m) });
  t.teardown(() => Promise.all([server.close(), client.close()]));
  t.equal(server.reliable, true);

  const dest = { host: "127.0.0.1", port: server.address.port, transport: "TCP" } as const;
  await client.send(parseMessage(INVITE), dest);
  await client.send(parseMessage(INVITE.replace("CSeq: 102", "CSeq: 103")), dest);
  await until(() => serverInbox.length === 2);
  t.same(
    serverInbox.map((m) => m.message.cseq.seq),
    [102, 103],
  );
  t.equal(client.connectionCount, 1, "the connection is reused");
  const req = serverInbox[0]!.message as SipRequest;
  t.type(req, SipRequest);
  await server.send(createResponse(req, 200, { toTag: "t" }), serverInbox[0]!.source);
  await until(() => clientInbox.length === 1);
  t.equal(clientInbox[0]?.message.to.tag, "t");
  t.equal(server.connectionCount, 1, "the response used the existing connection");
});

t.test("framing across segments, CRLF keep-alive pong, and close on a broken Content-Length", async (t) => {
  const inbox: InboundMessage[] = [];
  const server = await TcpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: (m) => inbox.push(m) });
  t.teardown(() => server.close());
  const socket = net.connect(server.address.port, "127.0.0.1");
  await new Promise((resolve) => socket.once("connect", resolve));
  const received: Buffer[] = [];
  socket.on("data", (d: Buffer) => received.push(d));
  let closed = false;
  socket.on("close", () => (closed = true));

  const data = Buffer.from(INVITE);
  socket.write(data.subarray(0, 100));
  await new Promise((resolve) => setTimeout(resolve, 10));
  socket.write(data.subarray(100));
  socket.write("\r\n\r\n");
  await until(() => inbox.length === 1 && received.length > 0);
  t.equal(inbox[0]?.message.callId, "3c26700e6f4a5c2e@203.0.113.10");
  t.equal(Buffer.concat(received).toString(), "\r\n", "RFC 5626 pong");

  socket.write(torture("ncl.dat"));
  await until(() => closed);
  t.equal(closed, true, "a negative Content-Length cannot be recovered from on a stream");
});

t.test("connecting to a closed port rejects the send", async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise((resolve) => probe.close(resolve));
  const tcp = await TcpTransport.listen({ host: "127.0.0.1", port: 0, onMessage: () => undefined });
  t.teardown(() => tcp.close());
  await t.rejects(tcp.send(parseMessage(INVITE), { host: "127.0.0.1", port, transport: "TCP" }));
});
