/**
 * The filter base of the element SDK: a subclass receives the decoded audio that flows into the element, as mono
 * 16-bit PCM frames at the sample rate and frame duration it asks for ({@link AudioFilter.audioFormat}), whatever
 * the codec of the stream (PCMU, PCMA, G.722, Opus, AMR, AMR-WB).
 *
 * Two modes:
 * - `"analyze"` (default): `processAudio(frame)` observes the audio; its return value is ignored and the packets
 *   go to the sinks untouched (no encode, no added delay). An audio-level meter, a VAD, a speech recogniser feed.
 * - `"transform"`: the frame `processAudio` returns (or the input frame when it returns undefined) replaces the
 *   audio: it is encoded again in the stream's own codec, payload type and SSRC and sent on. Sinks that need
 *   another codec get it through the pipeline's usual transcoding.
 *
 * Video, DTMF (telephone-event), comfort noise and codecs Korus cannot decode pass through untouched. A new codec,
 * payload type or SSRC restarts the decode (and encode) stage. Everything else of {@link Element} holds: timers,
 * typed emit, lookup, the release contract (the codec states are freed on release, before `dispose()`).
 */
import type { JsonObject } from "../channel/protocol.js";
import type { Connection, ElementContext } from "../core/MediaElement.js";
import type { MediaPacket } from "../core/types.js";
import { decodable, FrameDecoder, FrameEncoder } from "./AudioFrameStream.js";
import { Element, type EventMap } from "./Element.js";

/** The frames a filter asks for. */
export interface AudioFormat {
  /** PCM sample rate in Hz (8000 to 48000). */
  readonly sampleRate: number;
  /** Frame duration in ms (10, 20, 30, 40 or 60). */
  readonly frameMs: number;
  /** `"analyze"` (default): observe only; `"transform"`: the returned frames replace the audio. */
  readonly mode?: "analyze" | "transform";
}

/** Where a frame comes from. */
export interface AudioFrameInfo {
  /** SDP encoding name of the stream, lower-case ("pcmu", "opus"…). */
  readonly codec: string;
  readonly ssrc: number;
  /** The filter's rate: `frame.length / sampleRate` seconds of audio. */
  readonly sampleRate: number;
}

const FRAME_MS: readonly number[] = [10, 20, 30, 40, 60];

export class AudioFilter<E extends EventMap = EventMap> extends Element<E> {
  readonly #format: Required<AudioFormat>;
  readonly #frameSamples: number;
  #decoder: FrameDecoder | undefined;
  #encoder: FrameEncoder | undefined;
  #info: AudioFrameInfo | undefined;

  /** @throws TypeError when the subclass' audioFormat() asks for an unusable rate or frame duration. */
  constructor(ctx: ElementContext, params: JsonObject) {
    super(ctx, params);
    const f = this.audioFormat();
    if (!Number.isInteger(f.sampleRate) || f.sampleRate < 8000 || f.sampleRate > 48000) {
      throw new TypeError(`${ctx.type}: audioFormat().sampleRate must be an integer in 8000..48000`);
    }
    if (!FRAME_MS.includes(f.frameMs) || !Number.isInteger((f.sampleRate * f.frameMs) / 1000)) {
      throw new TypeError(`${ctx.type}: audioFormat().frameMs must be one of ${FRAME_MS.join(", ")}`);
    }
    this.#format = { mode: "analyze", ...f };
    this.#frameSamples = (f.sampleRate * f.frameMs) / 1000;
  }

  /** The frames this filter wants. Called once, in the constructor; override it. */
  protected audioFormat(): AudioFormat {
    return { sampleRate: 16000, frameMs: 20, mode: "analyze" };
  }

  /**
   * One frame of `audioFormat().frameMs` of decoded mono audio. In `"transform"` mode return the frame to send
   * (same length; the input may be modified in place and returned), or undefined to send the input unchanged.
   */
  protected processAudio(_frame: Int16Array, _info: AudioFrameInfo): Int16Array | undefined {
    return undefined;
  }

  /** Payloads this filter could not decode (diagnostics). */
  get decodeErrors(): number {
    return this.#decoder?.errors ?? 0;
  }

  protected override onMedia(packet: MediaPacket, _conn: Connection): void {
    if (!decodable(packet)) {
      this.sendToSinks(packet);
      return;
    }
    const dec = this.#decoderFor(packet);
    const frames = dec.push(packet.payload);
    const info = this.#info ?? { codec: packet.codec, ssrc: packet.ssrc, sampleRate: this.#format.sampleRate };
    this.#info = info;
    if (this.#format.mode === "analyze") {
      for (const f of frames) {
        this.#process(f, info);
      }
      this.sendToSinks(packet);
      return;
    }
    const enc = this.#encoderFor(packet);
    for (const f of frames) {
      const out = this.#process(f, info) ?? f;
      for (const p of enc.push(out.length === f.length ? out : f, packet.arrivalMs)) {
        this.sendToSinks(p);
      }
    }
  }

  #process(frame: Int16Array, info: AudioFrameInfo): Int16Array | undefined {
    try {
      return this.processAudio(frame, info);
    } catch (err) {
      this.context.logger.warn("processAudio failed", { error: String(err) });
      return undefined;
    }
  }

  #decoderFor(p: MediaPacket): FrameDecoder {
    const d = this.#decoder;
    if (d?.stream.matches(p) === true) {
      return d;
    }
    d?.close();
    this.#info = undefined;
    this.#decoder = new FrameDecoder(p, this.#format.sampleRate, this.#frameSamples);
    return this.#decoder;
  }

  #encoderFor(p: MediaPacket): FrameEncoder {
    const e = this.#encoder;
    if (e?.stream.matches(p) === true) {
      return e;
    }
    e?.close();
    this.#encoder = new FrameEncoder(p, this.#format.sampleRate);
    return this.#encoder;
  }

  /** The codec states go with the connections and timers, before the subclass's `dispose()`. */
  protected override unlink(): void {
    try {
      super.unlink();
    } finally {
      this.#decoder?.close();
      this.#encoder?.close();
      this.#decoder = undefined;
      this.#encoder = undefined;
    }
  }
}
