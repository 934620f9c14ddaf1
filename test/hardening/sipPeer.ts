/**
 * Shared pieces of the SIP hardening tests (issue 9 §3, §6, §9): a UA of Korus's own stack bound to any loopback
 * address (the tests run in a loopback-only namespace, where all of 127.0.0.0/8 is on `lo`), an echo call whose
 * media is checked by content, and raw SIP request text.
 */
import dgram from "node:dgram";
import type { InviteSession, MediaHandler, UserAgent } from "../../sip/index.js";
import { ended, localUa } from "../helpers/sipUa.js";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A UA on UDP `host:port` (our stack), for calls from a trunk address. */
export const uaAt = (host: string, port: number): ReturnType<typeof localUa> => localUa(port, undefined, host);

/** A raw SIP request (CRLF line ends, Content-Length filled in unless given in `headers`). */
export function rawRequest(method: string, uri: string, headers: string[], body = ""): string {
  const withLength = headers.some((h) => /^(content-length|l)\s*:/i.test(h))
    ? headers
    : [...headers, `Content-Length: ${Buffer.byteLength(body)}`];
  return `${method} ${uri} SIP/2.0\r\n${withLength.join("\r\n")}\r\n\r\n${body}`;
}

/**
 * Calls `sip:echo@127.0.0.1:<korusPort>` from `ua` with PCMA on an RTP socket at `host:rtpPort`, sends 25 packets
 * whose payloads carry a counter, and resolves with how many came back byte for byte (the echo extension returns the
 * caller's audio), then hangs up.
 */
export async function echoCall(
  ua: UserAgent,
  host: string,
  korusPort: number,
  rtpPort: number,
): Promise<{ answered: boolean; echoed: number; status: number | undefined }> {
  const rtp = dgram.createSocket("udp4");
  await new Promise<void>((r) => rtp.bind(rtpPort, host, () => r()));
  const offer =
    `v=0\r\no=t 1 1 IN IP4 ${host}\r\ns=-\r\nc=IN IP4 ${host}\r\nt=0 0\r\n` +
    `m=audio ${rtpPort} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=sendrecv\r\n`;
  let answer = "";
  const media: MediaHandler = {
    getOffer: () => offer,
    setAnswer: (sdp) => {
      answer = sdp;
    },
    processOffer: () => offer,
    close: () => undefined,
  };
  const sent = new Set<string>();
  let echoed = 0;
  rtp.on("message", (m) => {
    if (m.length > 12 && sent.has(m.subarray(12).toString("hex"))) {
      echoed++;
    }
  });
  let session: InviteSession | undefined;
  try {
    session = ua.call(`sip:echo@127.0.0.1:${korusPort}`, { from: `sip:tester@${host}`, media });
    const s = session;
    const answered = await new Promise<boolean>((resolve) => {
      s.on("answered", () => resolve(true));
      s.on("terminated", () => resolve(false));
    });
    if (!answered) {
      return { answered, echoed, status: s.termination?.status };
    }
    const port = Number(/m=audio (\d+)/.exec(answer)?.[1]);
    const addr = /c=IN IP4 ([\d.]+)/.exec(answer)?.[1] ?? "127.0.0.1";
    for (let i = 0; i < 25 && echoed < 5; i++) {
      const payload = Buffer.alloc(160, 0xd5);
      payload.writeUInt32BE(0x4b4f5200 + i, 0);
      sent.add(payload.toString("hex"));
      const header = Buffer.from([0x80, 8, 0, i, 0, 0, i, 0x40, 0x12, 0x34, 0x56, 0x78]);
      rtp.send(Buffer.concat([header, payload]), port, addr);
      await sleep(20);
    }
    await sleep(300);
    return { answered, echoed, status: 200 };
  } finally {
    if (session !== undefined && session.termination === undefined) {
      session.hangup();
      await Promise.race([ended(session), sleep(3000)]);
    }
    rtp.close();
  }
}
