/**
 * Whole calls between two UserAgents over the real UDP and TCP transports on 127.0.0.1 (ports picked by the OS),
 * on the system clock: the transport seam, response routing (§18.2.2 / RFC 3581) and Contact with transport=tcp.
 */

import t from "tap";
import {
  SessionState,
  TcpTransport,
  UdpTransport,
  UserAgent,
  type InboundMessage,
  type SipTransport,
  type TerminationInfo,
} from "../../../../sip/index.js";
import { TestMedia } from "./harness.js";

async function agent(kind: "UDP" | "TCP"): Promise<{ ua: UserAgent; port: number; close: () => Promise<void> }> {
  const holder: { ua?: UserAgent } = {};
  const onMessage = (m: InboundMessage): void => holder.ua?.receive(m);
  let transport: SipTransport & { close(): Promise<void> };
  let port: number;
  if (kind === "UDP") {
    const udp = await UdpTransport.listen({ host: "127.0.0.1", port: 0, onMessage });
    transport = udp;
    port = udp.address.port;
  } else {
    const tcp = await TcpTransport.listen({ host: "127.0.0.1", port: 0, onMessage });
    transport = tcp;
    port = tcp.address.port;
  }
  const ua = new UserAgent({
    transports: [transport],
    host: "127.0.0.1",
    port,
    timerBase: { T1: 50, T2: 400, T4: 500 },
    createMediaHandler: () => new TestMedia("127.0.0.1", 40000),
  });
  holder.ua = ua;
  return {
    ua,
    port,
    close: async () => {
      ua.close();
      await transport.close();
    },
  };
}

for (const kind of ["UDP", "TCP"] as const) {
  t.test(`a call over ${kind}: answer, BYE, tables drain`, { timeout: 20000 }, async (t) => {
    const a = await agent(kind);
    const b = await agent(kind);
    t.teardown(async () => {
      await a.close();
      await b.close();
    });
    b.ua.on("incomingCall", (session, call) => {
      t.equal(call.identity.source.transport, kind);
      void session.progress().then(() => session.answer());
    });
    const out = a.ua.call(`sip:callee@127.0.0.1:${b.port}${kind === "TCP" ? ";transport=tcp" : ""}`, {
      from: `sip:caller@127.0.0.1:${a.port}`,
      media: new TestMedia("127.0.0.1", 41000),
    });
    await new Promise<void>((resolve) => out.once("confirmed", resolve));
    t.equal(out.state, SessionState.Confirmed);
    if (kind === "TCP") {
      t.match(out.dialog?.remoteTarget.toString(), /transport=tcp/, "the callee's Contact names TCP");
    }
    const ended = new Promise<TerminationInfo>((resolve) => b.ua.once("terminated", (_s, info) => resolve(info)));
    out.hangup({ cause: 16 });
    const info = await ended;
    t.equal(info.by, "remote");
    t.equal(info.cause, 16);
    // 64·T1 = 3.2 s with this T1: wait for every transaction to run out.
    await new Promise((r) => setTimeout(r, 3600));
    t.same(a.ua.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
    t.same(b.ua.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
  });
}
