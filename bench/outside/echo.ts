/**
 * The bare Node UDP baselines of bench/outside, as a process of their own (loopback only):
 *
 * - `node echo.js one`: one socket; every datagram goes back to its sender.
 * - `node echo.js per-flow N`: N sockets, each echoing what it receives (one socket per flow, as an RtpEndpoint has).
 * - `node echo.js fanout P1,P2,…`: one socket; every datagram is sent on to each 127.0.0.1 port listed (a bare relay,
 *   the floor of a 1 → N fan-out).
 *
 * Prints `{"ports":[…]}` once bound; runs until killed.
 */
import dgram from "node:dgram";

async function open(onMessage: (s: dgram.Socket, m: Buffer, r: dgram.RemoteInfo) => void): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: "udp4", recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
  s.on("message", (m, r) => onMessage(s, m, r));
  s.on("error", () => undefined);
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return s;
}

const [mode = "one", arg = ""] = process.argv.slice(2);
const echo = (s: dgram.Socket, m: Buffer, r: dgram.RemoteInfo): void => s.send(m, r.port, r.address);
const sockets: dgram.Socket[] = [];
if (mode === "fanout") {
  const sinks = arg.split(",").map(Number);
  sockets.push(
    await open((s, m) => {
      for (const p of sinks) {
        s.send(m, p, "127.0.0.1");
      }
    }),
  );
} else {
  const n = mode === "per-flow" ? Number(arg) : 1;
  for (let i = 0; i < n; i++) {
    sockets.push(await open(echo));
  }
}
process.stdout.write(`${JSON.stringify({ ports: sockets.map((s) => s.address().port) })}\n`);
