/**
 * In-band DTMF toward a peer that takes no telephone-event (a trunk with `dtmf: inband`): queued digits become
 * dual-tone audio (ITU-T Q.23 frequencies, media/codecs/dtmfTones.ts) encoded in the peer's negotiated codec, one
 * 20 ms RTP payload at a time. Each digit is followed by its gap as encoded silence, so the endpoint keeps the
 * pipeline's audio out of the stream from the first tone until the last gap ends, as for RFC 4733 events.
 *
 * The endpoint owns the timing and the RTP numbering; this class only produces payloads: {@link nextFrame} returns
 * the next one, or undefined once every queued digit and gap has been played.
 */
import { createEncoder } from "../codecs/factory.js";
import { DtmfToneGenerator } from "../codecs/dtmfTones.js";
import type { AudioEncoder } from "../codecs/types.js";
import { formatParams } from "./format.js";

/** The negotiated audio format the tones are encoded in. */
export interface InbandFormat {
  /** Lower-case encoding name (`pcmu`, `pcma`, `g722`, `amr`, `amr-wb`, `opus`). */
  readonly codec: string;
  readonly clockRate: number;
  readonly parameters: string | undefined;
}

interface QueuedDigit {
  readonly digit: string;
  readonly durationMs: number;
  readonly gapMs: number;
}

const FRAME_MS = 20;

export class InbandDtmfSender {
  readonly format: InbandFormat;
  /** RTP timestamp ticks per payload. */
  readonly ticksPerFrame: number;
  readonly #encoder: AudioEncoder;
  readonly #generator: DtmfToneGenerator;
  readonly #frame: Int16Array;
  readonly #silence: Int16Array;
  readonly #queue: QueuedDigit[] = [];
  /** Samples of silence still owed after the digit that is playing or just ended. */
  #gapSamples = 0;
  #playing = false;

  /** @throws CodecError when Korus has no encoder for the format. */
  constructor(format: InbandFormat) {
    this.format = format;
    const p = formatParams(format.codec, format.parameters);
    const amr = format.codec === "amr" || format.codec === "amr-wb";
    this.#encoder = createEncoder(format.codec, {
      ...(format.codec === "opus" ? { sampleRate: 16000 } : {}),
      ...(amr ? { framesPerPacket: 1, octetAligned: p.octetAligned } : { frameMs: FRAME_MS }),
      ...(p.modeSet !== undefined ? { modeSet: p.modeSet } : {}),
      dtx: false,
    });
    this.#generator = new DtmfToneGenerator(this.#encoder.sampleRate, { gapMs: 0 });
    this.#frame = new Int16Array(this.#encoder.frameSamples * this.#encoder.channels);
    this.#silence = new Int16Array(this.#frame.length);
    this.ticksPerFrame = (format.clockRate * FRAME_MS) / 1000;
  }

  /** True while digits or gaps remain. */
  get busy(): boolean {
    return this.#playing || this.#gapSamples > 0 || this.#queue.length > 0;
  }

  /** Queues one digit (0-9 * # A-D) of `durationMs`, followed by `gapMs` of silence. */
  queue(digit: string, durationMs: number, gapMs: number): void {
    this.#queue.push({ digit, durationMs, gapMs });
  }

  /** The next 20 ms payload (tone or gap), or undefined when nothing is left. */
  nextFrame(): Uint8Array | undefined {
    for (;;) {
      if (this.#playing) {
        this.#frame.fill(0);
        if (this.#generator.fill(this.#frame)) {
          return this.#encoder.encode(this.#frame);
        }
        this.#playing = false;
      }
      if (this.#gapSamples > 0) {
        this.#gapSamples -= this.#encoder.frameSamples;
        return this.#encoder.encode(this.#silence);
      }
      const next = this.#queue.shift();
      if (next === undefined) {
        return undefined;
      }
      this.#generator.start(next.digit, next.durationMs);
      this.#playing = true;
      this.#gapSamples = Math.round((next.gapMs * this.#encoder.sampleRate) / 1000);
    }
  }

  /** Drops every queued digit (the call ended or the stream changed). */
  clear(): void {
    this.#queue.length = 0;
    this.#generator.clear();
    this.#playing = false;
    this.#gapSamples = 0;
  }

  close(): void {
    this.clear();
    this.#encoder.close();
  }
}
