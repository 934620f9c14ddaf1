/**
 * Runs inside `unshare -n` (a private network namespace with only loopback): a Korus UserAgent on real UDP at
 * 127.0.0.1:5070 against SIPp on 127.0.0.1:5071. Not a test file: test/interop/sipp.test.ts starts it and reads the
 * JSON line it prints last.
 *
 * Modes:
 * - `uas N`: Korus answers (180, then 200 with PCMU SDP); `sipp -sn uac` places N calls and hangs up (BYE).
 * - `uac N`: Korus calls `sipp -sn uas` N times and hangs up after 200 ms.
 *
 * Usage: node --import=<ts loader> sippRunner.ts uas|uac N [rate]
 */

import { spawn } from "node:child_process";
import { UdpTransport, UserAgent, type MediaHandler, type TerminationInfo } from "../../../sip/index.js";

const mode = process.argv[2] === "uac" ? "uac" : "uas";
const calls = Number(process.argv[3] ?? "10");
/** SIPp call rate in uas mode (calls per second). */
const rate = Number(process.argv[4] ?? "10");
/** A short T1 so the 64·T1 timers run out quickly on loopback (RFC 3261 §17.1.1.1 lets T1 be tuned). */
const timerBase = { T1: 100, T2: 4000, T4: 5000 };

function media(port: number): MediaHandler {
  const sdp = (): string =>
    `v=0\r\no=korus 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n` +
    `m=audio ${port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n`;
  return {
    getOffer: sdp,
    setAnswer: () => undefined,
    processOffer: (offer) => {
      if (!/m=audio \d+ RTP\/AVP[ \d]* 0/.test(offer)) {
        throw new Error("no PCMU in the offer");
      }
      return sdp();
    },
    close: () => undefined,
  };
}

const ended: TerminationInfo[] = [];

function heapAfterGc(): number | undefined {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) {
    return undefined;
  }
  gc();
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}
const holder: { ua?: UserAgent } = {};
const transport = await UdpTransport.listen({
  host: "127.0.0.1",
  port: 5070,
  onMessage: (m) => holder.ua?.receive(m),
});
const ua = new UserAgent({
  transports: [transport],
  host: "127.0.0.1",
  port: 5070,
  timerBase,
  createMediaHandler: () => media(30000 + 2 * ended.length),
});
holder.ua = ua;
ua.on("terminated", (_s, info) => ended.push(info));
ua.on("incomingCall", (session) => {
  void session.progress();
  void session.answer();
});

/** SIPp's global timeout: the whole run at `rate` plus margin. */
const sippTimeout = Math.max(60, Math.ceil(calls / rate) + 30);
const sippArgs =
  mode === "uas"
    ? ["-sn", "uac", "127.0.0.1:5070", "-i", "127.0.0.1", "-p", "5071", "-m", String(calls), "-r", String(rate)]
    : ["-sn", "uas", "-i", "127.0.0.1", "-p", "5071", "-m", String(calls)];
const sipp = spawn("sipp", [...sippArgs, "-nostdin", "-timeout", `${sippTimeout}s`, "-timeout_error"], {
  stdio: ["ignore", "ignore", "pipe"],
});
let sippErr = "";
sipp.stderr.on("data", (d: Buffer) => (sippErr += d.toString()));
const killSipp = (): void => {
  if (sipp.exitCode === null) {
    sipp.kill("SIGKILL");
  }
};
process.on("exit", killSipp);
const sippDone = new Promise<number>((resolve) => sipp.on("exit", (code) => resolve(code ?? -1)));

if (mode === "uac") {
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < calls; i++) {
    const session = ua.call("sip:service@127.0.0.1:5071", {
      from: "sip:korus@127.0.0.1:5070",
      media: media(31000 + 2 * i),
    });
    session.on("confirmed", () => setTimeout(() => session.hangup({ cause: 16 }), 200));
    await new Promise((r) => setTimeout(r, 100));
  }
}

const sippCode = await Promise.race([
  sippDone,
  new Promise<number>((r) => setTimeout(() => r(-2), (sippTimeout + 5) * 1000)),
]);
// Let the transactions run out (64·T1 = 6.4 s) so the tables can be checked empty.
const deadline = Date.now() + 15000;
while (
  Date.now() < deadline &&
  (ua.stats.sessions + ua.stats.serverTransactions + ua.stats.clientTransactions > 0 || ended.length < calls)
) {
  await new Promise((r) => setTimeout(r, 200));
}
const result = {
  mode,
  sippCode,
  sippErr: sippErr.slice(0, 500),
  ended: ended.length,
  /** Endings counted by "status by ending cause", e.g. `"200 remote BYE 16": 10`. */
  endings: ended.reduce<Record<string, number>>((acc, e) => {
    const key = `${e.status} ${e.by} ${e.ending} ${e.cause}`;
    acc[key] = (acc[key] ?? 0) + 1;
    return acc;
  }, {}),
  stats: ua.stats,
  cpuMs: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1000),
  rssMb: Math.round(process.memoryUsage().rss / 1048576),
  /** Heap after a full GC (only when node runs with --expose-gc), to compare runs of different lengths. */
  heapAfterGcMb: heapAfterGc(),
};
await ua.close();
await transport.close();
killSipp();
process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(0));
