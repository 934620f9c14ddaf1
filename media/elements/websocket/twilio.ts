/**
 * Twilio Media Streams (https://www.twilio.com/docs/voice/media-streams/websocket-messages), as a bidirectional
 * `<Connect><Stream>`: Korus plays Twilio's part, the bot its WebSocket server.
 *
 * To the bot (text frames, JSON): `connected`, `start` (streamSid, callSid, tracks, customParameters, mediaFormat
 * audio/x-mulaw 8000 Hz mono), `media` (track "inbound", chunk, timestamp in ms since the start, base64 µ-law
 * payload), `dtmf` (track "inbound_track", digit), `mark` (echoed when playout reaches it, or when `clear` drops it)
 * and `stop`. Every message but `connected` carries `sequenceNumber` (a string counting from "1") and `streamSid`.
 *
 * From the bot: `media` (base64 µ-law 8 kHz, any length), `mark` {name}, `clear`. Binary frames are not part of the
 * protocol (counted as bad); any other JSON event is handed on as a BotMessage.
 */
import { markName, parseObject, type BotCommand, type BotProtocol, type StreamInfo } from "./protocol.js";

export class TwilioProtocol implements BotProtocol {
  readonly subprotocols: readonly string[] = [];
  readonly frameBytes = 160;
  readonly silenceByte = 0xff;
  readonly streamSid: string;
  readonly #info: StreamInfo;
  #seq = 0;
  #chunk = 0;
  #startMs = 0;

  constructor(info: StreamInfo, streamSid: string) {
    this.#info = info;
    this.streamSid = streamSid;
  }

  greeting(): string[] {
    this.#startMs = performance.now();
    const start = {
      event: "start",
      sequenceNumber: this.#next(),
      start: {
        accountSid: "",
        streamSid: this.streamSid,
        callSid: this.#info.id,
        tracks: ["inbound"],
        customParameters: this.#info.parameters,
        mediaFormat: { encoding: "audio/x-mulaw", sampleRate: 8000, channels: 1 },
      },
      streamSid: this.streamSid,
    };
    return [JSON.stringify({ event: "connected", protocol: "Call", version: "1.0.0" }), JSON.stringify(start)];
  }

  audio(payload: Uint8Array): string {
    const ts = Math.round(performance.now() - this.#startMs);
    const b64 = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("base64");
    // Built as text: one string per 20 ms, no intermediate object.
    return (
      `{"event":"media","sequenceNumber":"${this.#next()}","media":{"track":"inbound","chunk":"${++this.#chunk}",` +
      `"timestamp":"${ts}","payload":"${b64}"},"streamSid":"${this.streamSid}"}`
    );
  }

  dtmf(digit: string, _durationMs: number): string {
    return JSON.stringify({
      event: "dtmf",
      streamSid: this.streamSid,
      sequenceNumber: this.#next(),
      dtmf: { track: "inbound_track", digit },
    });
  }

  markPlayed(name: string): string {
    return JSON.stringify({ event: "mark", sequenceNumber: this.#next(), streamSid: this.streamSid, mark: { name } });
  }

  /** Twilio answers the marks a `clear` dropped with the same `mark` message. */
  markCleared(name: string): string {
    return this.markPlayed(name);
  }

  stop(): string {
    return JSON.stringify({
      event: "stop",
      sequenceNumber: this.#next(),
      streamSid: this.streamSid,
      stop: { accountSid: "", callSid: this.#info.id },
    });
  }

  parse(data: Uint8Array, isBinary: boolean): BotCommand {
    if (isBinary) {
      return { kind: "bad", reason: "binary frame (Twilio Media Streams is JSON text only)" };
    }
    const m = parseObject(data);
    if (m === undefined) {
      return { kind: "bad", reason: "malformed JSON" };
    }
    switch (m["event"]) {
      case "media": {
        const media = m["media"];
        const payload =
          typeof media === "object" && media !== null ? (media as Record<string, unknown>)["payload"] : undefined;
        if (typeof payload !== "string" || payload.length % 4 !== 0) {
          return { kind: "bad", reason: "media without a base64 payload" };
        }
        // Node's decoder skips characters outside the alphabet: a shorter result than the length promises is bad
        // base64 (checked without a regular expression over every payload).
        const bytes = Buffer.from(payload, "base64");
        const pad = payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0;
        const eq = payload.indexOf("=");
        if (bytes.length !== (payload.length / 4) * 3 - pad || (eq !== -1 && eq < payload.length - pad)) {
          return { kind: "bad", reason: "media without a base64 payload" };
        }
        return { kind: "audio", data: bytes };
      }
      case "mark": {
        const mark = m["mark"];
        const name = markName(
          typeof mark === "object" && mark !== null ? (mark as Record<string, unknown>)["name"] : undefined,
        );
        return name === undefined ? { kind: "bad", reason: "mark without a name" } : { kind: "mark", name };
      }
      case "clear":
        return { kind: "clear" };
      default:
        return { kind: "other", message: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8") };
    }
  }

  #next(): string {
    return String(++this.#seq);
  }
}
