/**
 * The bot of the voice-bot benchmark (bench/outside/voicebot.ts), a process of its own: a `ws` server on 127.0.0.1
 * speaking Twilio Media Streams that echoes every `media` payload straight back to the same stream, as a bot that
 * answers at once would. Its CPU is not the server's.
 *
 * Caller → bot latency: the external generator's PCMU payloads carry a tail stamp (rtpgen.c: magic, flow, send time
 * in µs after the generator's start, CLOCK_MONOTONIC). Korus passes Twilio µ-law payloads through byte for byte, so
 * the bot reads the stamp and keeps `arrival − stamp` with its own CLOCK_MONOTONIC (process.hrtime, the same clock
 * on one machine); the bench subtracts the generator's start time once the run is over.
 *
 * stdout: `port P` once listening, then one JSON line per `report START_US FROM_US TO_US` read on stdin (latency
 * figures of the packets the generator sent between FROM_US and TO_US after its start); `reset` clears the samples.
 */
import { createInterface } from "node:readline";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";

const MAGIC = 0x52545047;
/** arrival − stamp (µs), and the stamp, of every stamped packet received. */
let arrivals = new Float64Array(1 << 16);
let stamps = new Float64Array(1 << 16);
let n = 0;
let streams = 0;

function keep(d: number, stamp: number): void {
  if (n === arrivals.length) {
    const a = new Float64Array(n * 2);
    a.set(arrivals);
    arrivals = a;
    const s = new Float64Array(n * 2);
    s.set(stamps);
    stamps = s;
  }
  arrivals[n] = d;
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
    ws.send(JSON.stringify({ event: "media", streamSid: sid, media: { payload } }));
    const b = Buffer.from(payload, "base64");
    if (b.length >= 12 && b.readUInt32BE(b.length - 12) === MAGIC) {
      const stamp = b.readUInt32BE(b.length - 4);
      keep(at - stamp, stamp);
    }
  });
}

function report(startUs: number, from: number, to: number): string {
  const lat: number[] = [];
  for (let i = 0; i < n; i++) {
    const s = stamps[i] ?? 0;
    if (s >= from && s < to) {
      lat.push((arrivals[i] ?? 0) - startUs);
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
  const r = /^report (\d+) (\d+) (\d+)$/.exec(l);
  if (r !== null) {
    process.stdout.write(`${report(Number(r[1]), Number(r[2]), Number(r[3]))}\n`);
  } else if (l === "reset") {
    n = 0;
    streams = 0;
  }
});
process.stdin.once("end", () => process.exit(0));
