/**
 * The bot of the voice-bot benchmark (bench/outside/voicebot.ts), a process of its own: a `ws` server on 127.0.0.1
 * speaking Twilio Media Streams that echoes every `media` payload straight back to the same stream, as a bot that
 * answers at once would. Its CPU is not the server's.
 *
 * Latency without a shared epoch to guess: the external generator's PCMU payloads carry a tail stamp (rtpgen.c:
 * magic, flow, send time in µs after the generator's start, CLOCK_MONOTONIC), and the generator's start time reaches
 * the bot (`start T` on stdin) as soon as the generator prints it. Both processes read CLOCK_MONOTONIC (Node's
 * process.hrtime is libuv's uv_hrtime, clock_gettime(CLOCK_MONOTONIC)), one clock on one machine. Korus passes
 * Twilio µ-law payloads through byte for byte, both ways, so:
 * - caller → bot: the bot's arrival time − (T + the stamp), for every payload;
 * - bot → caller: the bot rewrites the echo's stamp to its own send time − T; the generator, receiving the echo in
 *   its stamp mode, measures from there (and counts echoes later than 20 ms).
 *
 * stdout: `port P` once listening, then one JSON line per `report FROM_US TO_US` read on stdin (caller → bot figures
 * of the packets the generator sent between FROM_US and TO_US after its start); `reset` clears the samples.
 */
import { createInterface } from "node:readline";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

const MAGIC = 0x52545047;
/** caller → bot delay (µs) and the stamp of every stamped packet received since the generator's start was known. */
let delays = new Float64Array(1 << 16);
let stamps = new Float64Array(1 << 16);
let n = 0;
let streams = 0;
/** The generator's start (CLOCK_MONOTONIC µs), 0 until known. */
let startUs = 0;

function keep(d: number, stamp: number): void {
  if (n === delays.length) {
    const a = new Float64Array(n * 2);
    a.set(delays);
    delays = a;
    const s = new Float64Array(n * 2);
    s.set(stamps);
    stamps = s;
  }
  delays[n] = d;
  stamps[n] = stamp;
  n++;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

function onConnection(ws: WebSocket): void {
  let sid = "";
  ws.on("message", (data: Buffer, isBinary: boolean) => {
    const at = nowUs();
    if (isBinary) {
      return;
    }
    let msg: { event?: string; streamSid?: string; media?: { payload?: string } };
    try {
      msg = JSON.parse(data.toString("utf8")) as typeof msg;
    } catch {
      return;
    }
    if (msg.event === "start") {
      sid = String(msg.streamSid ?? "");
      streams++;
      return;
    }
    const payload = msg.media?.payload;
    if (msg.event !== "media" || payload === undefined) {
      return;
    }
    const b = Buffer.from(payload, "base64");
    if (startUs > 0 && b.length >= 12 && b.readUInt32BE(b.length - 12) === MAGIC) {
      const stamp = b.readUInt32BE(b.length - 4);
      keep(at - startUs - stamp, stamp);
      b.writeUInt32BE((nowUs() - startUs) >>> 0, b.length - 4);
      ws.send(JSON.stringify({ event: "media", streamSid: sid, media: { payload: b.toString("base64") } }));
      return;
    }
    ws.send(JSON.stringify({ event: "media", streamSid: sid, media: { payload } }));
  });
}

function report(from: number, to: number): string {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = stamps[i] ?? 0;
    if (s >= from && s < to) {
      lat.push(delays[i] ?? 0);
    }
  }
  lat.sort((a, b) => a - b);
  const at = (p: number): number => lat[Math.min(lat.length - 1, Math.floor((lat.length * p) / 100))] ?? NaN;
  const late = lat.filter((x) => x > 20_000).length;
  return JSON.stringify({ n: lat.length, p50Us: at(50), p99Us: at(99), maxUs: at(100), late, streams });
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, maxPayload: 1 << 20 });
wss.on("connection", onConnection);
wss.on("listening", () => {
  process.stdout.write(`port ${(wss.address() as AddressInfo).port}\n`);
});
createInterface({ input: process.stdin }).on("line", (l) => {
  const r = /^report (\d+) (\d+)$/.exec(l);
  if (r !== null) {
    process.stdout.write(`${report(Number(r[1]), Number(r[2]))}\n`);
  } else if (l.startsWith("start ")) {
    startUs = Number(l.slice(6));
  } else if (l === "reset") {
    n = 0;
    streams = 0;
    startUs = 0;
  }
});
process.stdin.once("end", () => process.exit(0));
