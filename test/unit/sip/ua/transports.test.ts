/**
 * Whole calls between two UserAgents opened with UserAgent.listen (UDP and TCP on one OS-picked port on 127.0.0.1),
 * on the system clock: the transport seam, response routing (§18.2.2 / RFC 3581), Contact with transport=tcp, and
 * close() releasing the sockets.
 */

import t from "tap";
import { SessionState, UserAgent, type TerminationInfo } from "../../../../sip/index.js";
import { TestMedia } from "./harness.js";

/** A user agent on 127.0.0.1 with its own sockets; TCP-only agents keep UDP too (UserAgent.listen opens both). */
async function agent(): Promise<{ ua: UserAgent; port: number; close: () => Promise<void> }> {
  const ua = await UserAgent.listen({
    bindHost: "127.0.0.1",
    port: 0,
    timerBase: { T1: 50, T2: 400, T4: 500 },
    createMediaHandler: () => new TestMedia("127.0.0.1", 40000),
  });
  return { ua, port: ua.port, close: () => ua.close() };
}

for (const kind of ["UDP", "TCP"] as const) {
  t.test(`a call over ${kind}: answer, BYE, tables drain`, { timeout: 20000 }, async (t) => {
    const a = await agent();
    const b = await agent();
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
