/**
 * A SIP user agent of Korus's own stack (sip/) in the test process, on UDP `host`:`port` (default 127.0.0.1), for tests that need a
 * carrier or caller whose messages they control. It takes no calls unless `createMediaHandler` is given.
 */
import {
  UdpTransport,
  UserAgent,
  type InviteSession,
  type TerminationInfo,
  type UserAgentOptions,
} from "../../sip/index.js";

export async function localUa(
  port: number,
  createMediaHandler: UserAgentOptions["createMediaHandler"] = () => {
    throw new Error("this test UA takes no calls");
  },
  host = "127.0.0.1",
): Promise<{ ua: UserAgent; close: () => Promise<void> }> {
  const holder: { ua?: UserAgent } = {};
  const udp = await UdpTransport.listen({ host, port, onMessage: (m) => holder.ua?.receive(m) });
  const ua = new UserAgent({
    transports: [udp],
    host,
    port,
    sessionTimer: { enabled: false },
    createMediaHandler,
  });
  holder.ua = ua;
  return {
    ua,
    close: async () => {
      await ua.close();
      await udp.close();
    },
  };
}

/** The session's termination: at once if it already ended, else when it does. */
export function ended(session: InviteSession): Promise<TerminationInfo> {
  return session.termination !== undefined
    ? Promise.resolve(session.termination)
    : new Promise((resolve) => session.on("terminated", resolve));
}
