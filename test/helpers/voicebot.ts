/**
 * The two ends of a voice-bot call for the WebSocketEndpoint tests (test/interop/voicebot*.test.ts):
 *
 * - {@link TestBot}: a bot written from the protocol documents (docs/voicebots.md), a `ws` WebSocketServer on
 *   127.0.0.1. Each connection ({@link BotConn}) records the JSON it gets and the caller's audio as PCM with its
 *   arrival time, and can send a tone back, marks, `clear`/`killAudio`, or anything raw (hostile input).
 * - {@link RtpCaller}: a UDP socket that plays the caller through an RtpEndpoint: it sends a PCMU tone and RFC 4733
 *   digits, and records the RTP it receives (decoded PCMU with arrival times).
 */
import { createSocket, type Socket } from "node:dgram";
import type { IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { G711Decoder, G711Encoder } from "../../media/codecs/index.js";
import { generateTone } from "./tone.js";

export type Protocol = "twilio" | "jambonz";
export type Json = Record<string, unknown>;

/** A chunk of audio with the time it arrived (performance.now()). */
export interface TimedPcm {
  readonly at: number;
  readonly pcm: Int16Array;
}

export class BotConn {
  readonly ws: WebSocket;
  readonly protocol: Protocol;
  readonly headers: IncomingHttpHeaders;
  readonly subprotocol: string;
  /** JSON text frames received, with their arrival time. */
  readonly json: { at: number; msg: Json }[] = [];
  readonly audio: TimedPcm[] = [];
  readonly closed: Promise<void>;
  readonly #dec = new G711Decoder("PCMU");
  readonly #enc = new G711Encoder("PCMU");
  /** Channels of the jambonz stream (from its metadata). */
  channels = 1;
  sampleRate = 8000;
  streamSid = "";

  constructor(ws: WebSocket, protocol: Protocol, headers: IncomingHttpHeaders) {
    this.ws = ws;
    this.protocol = protocol;
    this.headers = headers;
    this.subprotocol = ws.protocol;
    this.closed = new Promise((resolve) => ws.once("close", () => resolve()));
    ws.on("message", (data: Buffer, isBinary: boolean) => {
      const at = performance.now();
      if (isBinary) {
        const pcm = new Int16Array(data.length >> 1);
        for (let i = 0; i < pcm.length; i++) {
          pcm[i] = data.readInt16LE(2 * i);
        }
        this.audio.push({ at, pcm });
        return;
      }
      const msg = JSON.parse(data.toString("utf8")) as Json;
      this.json.push({ at, msg });
      if (protocol === "jambonz" && this.json.length === 1) {
        this.channels = msg["mixType"] === "stereo" ? 2 : 1;
        this.sampleRate = Number(msg["sampleRate"]);
      }
      if (msg["event"] === "start") {
        this.streamSid = String(msg["streamSid"]);
      }
      if (msg["event"] === "media") {
        const media = msg["media"] as { payload: string };
        this.audio.push({ at, pcm: this.#dec.decode(Buffer.from(media.payload, "base64")) });
      }
    });
  }

  /** The caller's audio received so far (one channel of a stereo stream: 0 left, 1 right). */
  pcm(channel = 0, since = 0): Int16Array {
    const parts = this.audio.filter((a) => a.at >= since).map((a) => a.pcm);
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    if (this.channels === 1) {
      return all;
    }
    const out = new Int16Array(all.length >> 1);
    for (let i = 0; i < out.length; i++) {
      out[i] = all[2 * i + channel] ?? 0;
    }
    return out;
  }

  /** Messages of one kind (Twilio `event`, jambonz `event`/`type`). */
  messages(kind: string): { at: number; msg: Json }[] {
    return this.json.filter((j) => j.msg["event"] === kind || j.msg["type"] === kind);
  }

  /** Sends `seconds` of a tone at once (queued for playout), in chunks of `chunkMs`. */
  sendTone(frequency: number, seconds: number, chunkMs = 100, amplitude = 8000): void {
    const rate = this.protocol === "twilio" ? 8000 : this.sampleRate;
    const pcm = generateTone(frequency, { sampleRate: rate, samples: Math.round(rate * seconds), amplitude });
    const step = (rate * chunkMs) / 1000;
    for (let off = 0; off < pcm.length; off += step) {
      const part = pcm.subarray(off, Math.min(pcm.length, off + step));
      if (this.protocol === "twilio") {
        const payload = Buffer.from(this.#enc.encode(part)).toString("base64");
        this.ws.send(JSON.stringify({ event: "media", streamSid: this.streamSid, media: { payload } }));
      } else {
        const buf = Buffer.alloc(part.length * 2);
        part.forEach((v, i) => buf.writeInt16LE(v, 2 * i));
        this.ws.send(buf);
      }
    }
  }

  mark(name: string): void {
    this.ws.send(
      JSON.stringify(
        this.protocol === "twilio"
          ? { event: "mark", streamSid: this.streamSid, mark: { name } }
          : { type: "mark", data: { name } },
      ),
    );
  }

  /** Barge-in: Twilio `clear`, jambonz `killAudio`. */
  clear(): void {
    this.ws.send(
      JSON.stringify(
        this.protocol === "twilio" ? { event: "clear", streamSid: this.streamSid } : { type: "killAudio" },
      ),
    );
  }
}

export class TestBot {
  readonly server: WebSocketServer;
  readonly conns: BotConn[] = [];

  private constructor(server: WebSocketServer, protocol: Protocol) {
    this.server = server;
    server.on("connection", (ws, req) => {
      const c = new BotConn(ws, protocol, req.headers);
      this.conns.push(c);
    });
  }

  static async start(protocol: Protocol): Promise<TestBot> {
    const server = new WebSocketServer({
      host: "127.0.0.1",
      port: 0,
      handleProtocols: (protocols) => (protocols.has("audio.jambonz.org") ? "audio.jambonz.org" : false),
    });
    await new Promise<void>((resolve) => server.once("listening", () => resolve()));
    return new TestBot(server, protocol);
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The `n`-th connection (0-based), waiting for it up to `ms`. */
  async connection(n = 0, ms = 10_000): Promise<BotConn> {
    const deadline = performance.now() + ms;
    for (;;) {
      const have = this.conns[n];
      if (have !== undefined) {
        return have;
      }
      if (performance.now() > deadline) {
        throw new Error(`no bot connection #${n} within ${ms} ms`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Drops every connection abruptly (no close frame) and stops listening: the bot is down. */
  async crash(): Promise<void> {
    for (const c of this.conns) {
      c.ws.terminate();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async close(): Promise<void> {
    for (const c of this.conns) {
      c.ws.terminate();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The caller: PCMU and telephone-event over UDP to an RtpEndpoint, and what comes back. */
export class RtpCaller {
  readonly sock: Socket;
  readonly received: TimedPcm[] = [];
  readonly #dec = new G711Decoder("PCMU");
  readonly #enc = new G711Encoder("PCMU");
  #seq = 1;
  #ts = 0;
  readonly #ssrc = 0x1ca11e2;
  #target = 0;

  private constructor(sock: Socket) {
    this.sock = sock;
    sock.on("message", (msg) => {
      if (msg.length <= 12 || (msg[1]! & 0x7f) !== 0) {
        return;
      }
      const cc = msg[0]! & 0x0f;
      this.received.push({ at: performance.now(), pcm: this.#dec.decode(msg.subarray(12 + 4 * cc)) });
    });
  }

  static async open(): Promise<RtpCaller> {
    const sock = createSocket("udp4");
    await new Promise<void>((resolve) => sock.bind(0, "127.0.0.1", () => resolve()));
    return new RtpCaller(sock);
  }

  get port(): number {
    return this.sock.address().port;
  }

  /** A sendrecv PCMU offer with telephone-event/8000 on payload type 101, for this socket. */
  offer(): string {
    return [
      "v=0",
      "o=- 1 1 IN IP4 127.0.0.1",
      "s=-",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      `m=audio ${this.port} RTP/AVP 0 101`,
      "a=rtpmap:0 PCMU/8000",
      "a=rtpmap:101 telephone-event/8000",
      "a=fmtp:101 0-15",
      "a=sendrecv",
      "",
    ].join("\r\n");
  }

  connectTo(port: number): void {
    this.#target = port;
  }

  #send(pt: number, marker: boolean, ts: number, payload: Uint8Array): void {
    const pkt = Buffer.alloc(12 + payload.length);
    pkt[0] = 0x80;
    pkt[1] = (marker ? 0x80 : 0) | pt;
    pkt.writeUInt16BE(this.#seq++ & 0xffff, 2);
    pkt.writeUInt32BE(ts >>> 0, 4);
    pkt.writeUInt32BE(this.#ssrc, 8);
    pkt.set(payload, 12);
    this.sock.send(pkt, this.#target, "127.0.0.1");
  }

  /** Sends `seconds` of a PCMU tone paced at 20 ms. */
  async sendTone(frequency: number, seconds: number, amplitude = 8000): Promise<void> {
    const pcm = generateTone(frequency, { sampleRate: 8000, samples: 8000 * seconds, amplitude });
    const start = performance.now();
    for (let off = 0, i = 0; off + 160 <= pcm.length; off += 160, i++) {
      this.#send(0, false, this.#ts, this.#enc.encode(pcm.subarray(off, off + 160)));
      this.#ts += 160;
      const wait = start + (i + 1) * 20 - performance.now();
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    }
  }

  /** One RFC 4733 key press (`event` 0-15) of `ms`: updates every 20 ms, the end packet three times. */
  async sendDigit(event: number, ms = 120): Promise<void> {
    const ts = this.#ts;
    const steps = Math.max(1, Math.round(ms / 20));
    for (let i = 1; i <= steps; i++) {
      const end = i === steps;
      const payload = Buffer.from([event, end ? 0x8a : 0x0a, 0, 0]);
      payload.writeUInt16BE(i * 160, 2);
      for (let k = 0; k < (end ? 3 : 1); k++) {
        this.#send(101, i === 1 && k === 0, ts, payload);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    this.#ts += steps * 160;
  }

  /** The audio received since `since` (performance.now()), as one PCM array. */
  pcm(since = 0, until = Number.POSITIVE_INFINITY): Int16Array {
    const parts = this.received.filter((r) => r.at >= since && r.at < until).map((r) => r.pcm);
    const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
    let off = 0;
    for (const p of parts) {
      all.set(p, off);
      off += p.length;
    }
    return all;
  }

  close(): void {
    this.sock.close();
  }
}
