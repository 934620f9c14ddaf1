/**
 * WebSocketEndpoint (module "korus", issue 14, docs/voicebots.md): puts a voice bot on a call over a WebSocket that
 * speaks Twilio Media Streams or jambonz `listen`.
 *
 * - ctor `{mediaPipeline, uri, protocol?="twilio", headers?, parameters?, sampleRate?=8000, channels?=1,
 *   direction?="both", retrySeconds?=10, maxQueueSeconds?=60, outageAudio?}` (params.ts checks them; the URL also against the
 *   http media policy: private and loopback addresses only where `httpMedia.allowNetworks` allows them).
 * - Into the bot: the audio its sources send. Twilio: the element's audio sink caps are PCMU/8000, so the source's
 *   transcoder delivers µ-law and its payloads go out as they are (base64, one `media` per packet). jambonz: any
 *   codec is decoded and resampled to `sampleRate` by the SDK's frame decoder (the AudioFilter's) and sent as L16
 *   in 20 ms frames; with `channels: 2` the source connected with sinkMediaDescription "right" is the right
 *   channel, any other the left (the caller).
 * - Out of the bot (direction "both"): its audio is queued (Playout.ts, at most `maxQueueSeconds`) and leaves the
 *   element on a playout clock (Pacer.ts, on the worker's one shared 20 ms tick): on arrival when its slot is open,
 *   else one frame per 20 ms (µ-law as PCMU; jambonz L16 encoded to PCMU at 8 kHz, G.722 at 16 kHz, Opus at
 *   24 kHz), silence when nothing is queued or the bot is away (or, while CONNECTING, the `outageAudio` file,
 *   looped): the carrier never sees dead air. Sinks that need another codec get it from the usual transcoding.
 * - Barge-in (`clear`/`killAudio`) flushes the queue at once; marks are acknowledged when playout reaches them.
 * - RFC 4733 DTMF reaching the element goes to the bot and is raised as DtmfReceived.
 * - Events StreamStateChanged {state, reason}, BotMessage {message}; a bot message the protocol cannot use is
 *   counted (`getBotErrors`), logged at a bounded rate and dropped.
 */
import { randomBytes } from "node:crypto";
import type { Operation } from "../../core/MediaObject.js";
import { MediaOperationError } from "../../errors.js";
import { MediaFileNotFoundError } from "../../files/confine.js";
import { CompiledHttpPolicy, HttpMediaRefusedError } from "../../files/httpMedia.js";
import { decodable, FrameDecoder, FrameEncoder } from "../../sdk/AudioFrameStream.js";
import { Element, type Connection, type ElementContext, type JsonObject, type MediaPacket } from "../../sdk/index.js";
import type { SinkAudioCaps } from "../../transcode/format.js";
import { BotSocket, type StreamState } from "./BotSocket.js";
import { JambonzProtocol } from "./jambonz.js";
import { loadOutageAudio, OutageLoop } from "./outage.js";
import { Pacer, startPacing, stopPacing, type Paced } from "./Pacer.js";
import { Playout } from "./Playout.js";
import type { BotCommand, BotProtocol } from "./protocol.js";
import { streamParams, type StreamParams } from "./params.js";
import { TwilioProtocol } from "./twilio.js";
import { StereoFrames } from "./StereoFrames.js";

type Events = {
  StreamStateChanged: { state: StreamState; reason: string };
  BotMessage: { message: string };
  DtmfReceived: { digit: string; durationMs: number };
};

/** Largest frame from the bot the element takes (bytes); larger ones are counted and dropped. */
export const MAX_BOT_FRAME = 256 * 1024;
/** Pending marks at most. */
const MAX_MARKS = 1000;
/** BotMessage events per second at most; more are counted and dropped. */
const BOT_MESSAGES_PER_S = 20;
const FRAME_MS = 20;

const PCMU_CAPS: SinkAudioCaps = {
  formats: [{ codec: "pcmu", clockRate: 8000, channels: 1 }],
  telephoneEvents: [8000],
  ptimeMs: 20,
  continuous: false,
};
const ULAW_SILENCE = new Uint8Array(160).fill(0xff);
const DTMF_DIGITS = "0123456789*#ABCD";

/** The format the jambonz bot's L16 leaves the element in, by sample rate. */
function outputTemplate(rate: number): MediaPacket {
  const [codec, clockRate, payloadType] =
    rate === 8000 ? ["pcmu", 8000, 0] : rate === 16000 ? ["g722", 8000, 9] : ["opus", 48000, 111];
  const r = randomBytes(8);
  return {
    kind: "AUDIO",
    codec,
    clockRate,
    payloadType,
    ssrc: r.readUInt32BE(0),
    sequenceNumber: r.readUInt16BE(4),
    timestamp: r.readUInt32BE(4),
    marker: false,
    payload: new Uint8Array(0),
    keyframe: false,
    arrivalMs: 0,
  };
}

export class WebSocketEndpoint extends Element<Events> implements Paced {
  readonly #p: StreamParams;
  readonly #proto: BotProtocol;
  readonly #socket: BotSocket;
  readonly #playout: Playout | undefined;
  readonly #pacer: Pacer | undefined;
  readonly #template: MediaPacket;
  readonly #encoder: FrameEncoder | undefined;
  readonly #stereo: StereoFrames | undefined;
  readonly #silenceL16: Uint8Array;
  readonly #reached = (name: string): void => void this.#socket.send(this.#proto.markPlayed(name));
  /** The outage audio once decoded (param `outageAudio`), played instead of silence while CONNECTING. */
  #outage: OutageLoop | undefined;
  #left: FrameDecoder | undefined;
  #right: FrameDecoder | undefined;
  #seq: number;
  #ts: number;
  #lastDtmfTs = -1;
  #streamingSince = 0;
  #streamedMs = 0;
  #botMsgWindow = 0;
  #botMsgCount = 0;
  /** Bot messages refused (malformed, wrong format, oversized, over a limit). */
  botErrors = 0;

  constructor(ctx: ElementContext, params: JsonObject) {
    super(ctx, params);
    const p = streamParams(params);
    this.#p = p;
    const access = ctx.settings.mediaAccess;
    const policy = new CompiledHttpPolicy({
      allowHosts: access?.httpAllowHosts ?? [],
      allowNetworks: access?.httpAllowNetworks ?? [],
    });
    try {
      policy.check(new URL(p.url.href.replace(/^ws/, "http")));
    } catch (err) {
      if (err instanceof HttpMediaRefusedError) {
        throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `WebSocketEndpoint: uri ${err.message}`);
      }
      throw err;
    }
    const info = { id: ctx.id, sampleRate: p.sampleRate, channels: p.channels, parameters: p.parameters };
    this.#proto =
      p.protocol === "twilio"
        ? new TwilioProtocol(info, `MZ${randomBytes(16).toString("hex")}`)
        : new JambonzProtocol(info);
    this.#template = outputTemplate(p.protocol === "twilio" ? 8000 : p.sampleRate);
    this.#seq = this.#template.sequenceNumber;
    this.#ts = this.#template.timestamp;
    this.#stereo = p.channels === 2 ? new StereoFrames(p.sampleRate / 50) : undefined;
    this.#silenceL16 = new Uint8Array(this.#proto.frameBytes);
    if (p.direction === "both") {
      this.#playout = new Playout(this.#proto.frameBytes, p.maxQueueFrames, MAX_MARKS, this.#proto.silenceByte);
      this.#encoder = p.protocol === "jambonz" ? new FrameEncoder(this.#template, p.sampleRate) : undefined;
      const out = {
        play: (f: Uint8Array | undefined, now: number) => this.#sendFrame(f, now),
        skip: (n: number) => this.#skip(n),
      };
      this.#pacer = new Pacer(this.#playout, out, this.#reached, performance.now());
      startPacing(this);
      if (p.outageAudio !== undefined) {
        this.#loadOutage(p.outageAudio, access?.mediaRoots ?? []);
      }
    } else {
      this.#pacer = undefined;
    }
    this.#socket = new BotSocket(
      {
        url: p.url.href,
        subprotocols: this.#proto.subprotocols,
        headers: p.headers,
        lookup: policy.lookup,
        retryMs: p.retryMs,
        maxPayload: 4 * MAX_BOT_FRAME,
        maxBufferedBytes: 1024 * 1024,
      },
      {
        open: () => {
          for (const m of this.#proto.greeting()) {
            this.#socket.send(m);
          }
        },
        message: (data, isBinary) => this.#onBot(data, isBinary),
        state: (state, reason) => this.#onState(state, reason),
      },
      this.context.timers,
    );
  }

  /** Decodes the outage audio in the background; a failure is logged and the outage stays silent. */
  #loadOutage(uri: string, roots: readonly string[]): void {
    const twilio = this.#p.protocol === "twilio";
    const bytes = this.#proto.frameBytes;
    loadOutageAudio(uri, roots, twilio ? "mulaw" : "s16le", twilio ? 8000 : this.#p.sampleRate, bytes).then(
      (pcm) => {
        if (!this.released) {
          this.#outage = new OutageLoop(pcm, bytes);
        }
      },
      (err: unknown) => {
        const reason = err instanceof MediaFileNotFoundError ? err.reason : String(err);
        this.context.logger.warn("outageAudio not played: the outage stays silent", { uri, reason });
      },
    );
  }

  /** Twilio takes µ-law only: the source's transcoder converts; jambonz decodes any codec itself. */
  override audioSinkCaps(): SinkAudioCaps | undefined {
    return this.#p.protocol === "twilio" ? PCMU_CAPS : undefined;
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      getStreamState: () => this.#socket.state ?? "CONNECTING",
      getBotErrors: () => this.botErrors,
      getDroppedFrames: () => this.#playout?.droppedFrames ?? 0,
      getQueuedMs: () => (this.#playout?.queuedFrames ?? 0) * FRAME_MS,
      getStreamedMs: () => Math.round(this.streamedMs),
    };
  }

  /** Time spent STREAMING so far (ms), for CDRs. */
  get streamedMs(): number {
    return this.#streamedMs + (this.#socket.state === "STREAMING" ? performance.now() - this.#streamingSince : 0);
  }

  protected override onMedia(packet: MediaPacket, conn: Connection): void {
    if (packet.kind !== "AUDIO") {
      return;
    }
    if (packet.codec === "telephone-event") {
      this.#onDtmf(packet);
      return;
    }
    if (this.#socket.state !== "STREAMING") {
      return;
    }
    if (this.#p.protocol === "twilio") {
      if (packet.codec === "pcmu") {
        this.#socket.send(this.#proto.audio(packet.payload));
      }
      return;
    }
    if (!decodable(packet)) {
      return;
    }
    const right = this.#stereo !== undefined && conn.sinkDescription === "right";
    const dec = this.#decoder(packet, right);
    for (const f of dec.push(packet.payload)) {
      const out = this.#stereo === undefined ? f : this.#stereo.push(f, right);
      if (out !== undefined) {
        this.#socket.send(new Uint8Array(out.buffer, out.byteOffset, out.byteLength));
      }
    }
  }

  #decoder(p: MediaPacket, right: boolean): FrameDecoder {
    const d = right ? this.#right : this.#left;
    if (d?.stream.matches(p) === true) {
      return d;
    }
    d?.close();
    const n = new FrameDecoder(p, this.#p.sampleRate, this.#p.sampleRate / 50);
    if (right) {
      this.#right = n;
    } else {
      this.#left = n;
    }
    return n;
  }

  /** RFC 4733 §2.3: one digit per event, at its first end packet (the end is sent three times). */
  #onDtmf(p: MediaPacket): void {
    const b = p.payload;
    if (b.length < 4 || (b[1]! & 0x80) === 0 || p.timestamp === this.#lastDtmfTs) {
      return;
    }
    this.#lastDtmfTs = p.timestamp;
    const digit = DTMF_DIGITS[b[0]!];
    if (digit === undefined) {
      return;
    }
    const durationMs = Math.round((((b[2]! << 8) | b[3]!) * 1000) / p.clockRate);
    this.context.emit("DtmfReceived", { digit, durationMs });
    this.#socket.send(this.#proto.dtmf(digit, durationMs));
  }

  /** The worker's shared 20 ms tick (Pacer.ts): bot audio or silence, marks, the backlog policy. */
  pace(now: number): void {
    try {
      this.#pacer?.tick(now);
    } catch (err) {
      this.context.logger.error("voice-bot pacer failed", { error: String(err) });
    }
  }

  /** Missed frame times after a stall: the RTP clock moves on (µ-law; the jambonz encoder keeps its own clock). */
  #skip(slots: number): void {
    this.#ts = (this.#ts + slots * 160) >>> 0;
  }

  #sendFrame(bot: Uint8Array | undefined, now: number): void {
    const frame = bot ?? (this.#socket.state === "CONNECTING" ? this.#outage?.next() : undefined);
    if (this.#encoder === undefined) {
      this.sendToSinks({
        ...this.#template,
        sequenceNumber: this.#seq,
        timestamp: this.#ts,
        payload: frame ?? ULAW_SILENCE,
        arrivalMs: now,
      });
      this.#seq = (this.#seq + 1) & 0xffff;
      this.#ts = (this.#ts + 160) >>> 0;
      return;
    }
    const bytes = frame ?? this.#silenceL16;
    for (const pkt of this.#encoder.push(new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength >> 1), now)) {
      this.sendToSinks(pkt);
    }
  }

  #onBot(data: Uint8Array, isBinary: boolean): void {
    if (data.length > MAX_BOT_FRAME) {
      this.#bad(`frame of ${data.length} bytes exceeds ${MAX_BOT_FRAME}`);
      return;
    }
    const cmd: BotCommand = this.#proto.parse(data, isBinary);
    const playout = this.#playout;
    switch (cmd.kind) {
      case "audio":
        if (playout !== undefined && playout.pushAudio(cmd.data) > 0 && playout.droppedFrames % 500 === 1) {
          this.context.logger.warn("bot audio dropped: the playout queue is full", {
            droppedFrames: playout.droppedFrames,
          });
        }
        this.#pacer?.audio(performance.now());
        return;
      case "mark":
        if (playout === undefined) {
          this.#reached(cmd.name);
        } else if (!playout.pushMark(cmd.name)) {
          this.#bad("too many pending marks");
        }
        return;
      case "clear":
        this.#cleared(playout?.clear() ?? []);
        this.#pacer?.cleared(performance.now());
        return;
      case "clearMarks":
        this.#cleared(playout?.clearMarks() ?? []);
        return;
      case "disconnect":
        this.#socket.close("the bot disconnected", this.#proto.stop());
        return;
      case "other":
        this.#botMessage(cmd.message);
        return;
      case "ignore":
        return;
      case "bad":
        this.#bad(cmd.reason);
        return;
    }
  }

  #cleared(marks: readonly string[]): void {
    for (const m of marks) {
      const msg = this.#proto.markCleared(m);
      if (msg !== undefined) {
        this.#socket.send(msg);
      }
    }
  }

  #botMessage(message: string): void {
    const now = performance.now();
    if (now - this.#botMsgWindow >= 1000) {
      this.#botMsgWindow = now;
      this.#botMsgCount = 0;
    }
    if (++this.#botMsgCount > BOT_MESSAGES_PER_S) {
      this.#bad(`more than ${BOT_MESSAGES_PER_S} unhandled messages a second`);
      return;
    }
    this.context.emit("BotMessage", { message });
  }

  #bad(reason: string): void {
    this.botErrors++;
    if (this.botErrors <= 5 || this.botErrors % 100 === 0) {
      this.context.logger.warn("bot message dropped", { reason, botErrors: this.botErrors });
    }
  }

  #onState(state: StreamState, reason: string): void {
    const now = performance.now();
    if (state === "STREAMING") {
      this.#streamingSince = now;
    } else if (this.#streamingSince > 0) {
      this.#streamedMs += now - this.#streamingSince;
      this.#streamingSince = 0;
    }
    if (state !== "STREAMING" && this.#playout !== undefined) {
      this.#playout.clear(); // Stale bot audio is not played after a reconnection.
    }
    if (state === "CONNECTING") {
      this.#outage?.rewind();
    }
    const log = state === "FAILED" ? "warn" : "info";
    this.context.logger[log]("bot stream state", { state, reason, bot: this.#p.url.host });
    this.context.emit("StreamStateChanged", { state, reason });
  }

  protected override dispose(): void {
    stopPacing(this);
    this.#socket.close("released", this.#proto.stop());
    this.#left?.close();
    this.#right?.close();
    this.#encoder?.close();
  }
}
