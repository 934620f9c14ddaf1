/**
 * jambonz `listen` (https://docs.jambonz.org/verbs/verbs/listen), bidirectional with streaming audio: Korus plays
 * jambonz's part, the bot its WebSocket server (subprotocol `audio.jambonz.org`).
 *
 * To the bot: one text frame of JSON metadata when the socket opens (callSid, sampleRate, mixType "mono" or
 * "stereo", and the element's custom parameters merged in as jambonz merges `metadata`), then binary frames of
 * 16-bit little-endian PCM at the sample rate (stereo: interleaved, caller left); DTMF as a text frame
 * `{"event":"dtmf","dtmf":"5","duration":"200"}` (as with `passDtmf`); acknowledgements of marks
 * `{"type":"mark","data":{"name":…,"event":"playout"|"cleared"}}`.
 *
 * From the bot: binary frames of L16 mono at the sample rate (an even number of bytes), and JSON commands
 * `{"type":"killAudio"}` (flush playout), `{"type":"mark","data":{"name":…}}`, `{"type":"clearMarks"}`,
 * `{"type":"disconnect"}` (end the stream). Any other JSON is handed on as a BotMessage.
 */
import { markName, parseObject, type BotCommand, type BotProtocol, type StreamInfo } from "./protocol.js";

export class JambonzProtocol implements BotProtocol {
  readonly subprotocols: readonly string[] = ["audio.jambonz.org"];
  readonly frameBytes: number;
  readonly silenceByte = 0;
  readonly #info: StreamInfo;

  constructor(info: StreamInfo) {
    this.#info = info;
    this.frameBytes = (info.sampleRate / 50) * 2;
  }

  greeting(): string[] {
    const i = this.#info;
    return [
      JSON.stringify({
        ...i.parameters,
        callSid: i.id,
        sampleRate: i.sampleRate,
        mixType: i.channels === 2 ? "stereo" : "mono",
      }),
    ];
  }

  audio(payload: Uint8Array): Uint8Array {
    return payload;
  }

  dtmf(digit: string, durationMs: number): string {
    return JSON.stringify({ event: "dtmf", dtmf: digit, duration: String(durationMs) });
  }

  markPlayed(name: string): string {
    return JSON.stringify({ type: "mark", data: { name, event: "playout" } });
  }

  markCleared(name: string): string {
    return JSON.stringify({ type: "mark", data: { name, event: "cleared" } });
  }

  stop(): undefined {
    return undefined;
  }

  parse(data: Uint8Array, isBinary: boolean): BotCommand {
    if (isBinary) {
      return data.length % 2 === 0
        ? { kind: "audio", data }
        : { kind: "bad", reason: `binary frame of ${data.length} bytes is not whole 16-bit samples` };
    }
    const m = parseObject(data);
    if (m === undefined) {
      return { kind: "bad", reason: "malformed JSON" };
    }
    switch (m["type"]) {
      case "killAudio":
        return { kind: "clear" };
      case "clearMarks":
        return { kind: "clearMarks" };
      case "disconnect":
        return { kind: "disconnect" };
      case "mark": {
        const d = m["data"];
        const name = markName(typeof d === "object" && d !== null ? (d as Record<string, unknown>)["name"] : undefined);
        return name === undefined ? { kind: "bad", reason: "mark without a name" } : { kind: "mark", name };
      }
      default:
        return { kind: "other", message: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8") };
    }
  }
}
