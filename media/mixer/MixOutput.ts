/**
 * The output side of the mixer, per format (see MixFormat.ts):
 *
 * - {@link MixGroup}: one per format in a mixer. Every listener of that format who is not a mixed talker hears the
 *   same thing (the whole sum), so the group encodes it once per tick, however many listeners it has. A group whose
 *   codec is stateless (G.711) encodes silence once and reuses the payload for as long as the room is quiet.
 * - {@link MixOutput}: one port's stream: its own SSRC, sequence numbers and timestamps in its format's clock, and
 *   its own encoder (and resampler, for 8 kHz formats), created when the port first needs a mix of its own (a
 *   mixed talker hears the sum minus itself). When a port moves between its group's encoder and its own, the
 *   receiver's decoder continues on packets from another encoder state: a short transition, inaudible in practice.
 */
import { Resampler, type AudioEncoder } from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";
import { createMixEncoder, OPUS_MIX_FORMAT, type MixFormat } from "./MixFormat.js";
import { MIX_RATE } from "./MixInput.js";

/** An Opus encoder for 20 ms frames of the 16 kHz mix. */
export function mixEncoder(): AudioEncoder {
  return createMixEncoder(OPUS_MIX_FORMAT);
}

/** The encoder shared by a format's listeners in one mixer. */
export class MixGroup {
  readonly format: MixFormat;
  #encoder: AudioEncoder | undefined;
  /** The tick whose mix `payload` holds. */
  #tick = -1;
  #payload: Uint8Array = new Uint8Array(0);
  #silence: Uint8Array | undefined;
  encodes = 0;

  constructor(format: MixFormat) {
    this.format = format;
  }

  /** Whether this tick's payload is already encoded. */
  has(tick: number): boolean {
    return this.#tick === tick;
  }

  get payload(): Uint8Array {
    return this.#payload;
  }

  /** Encodes this tick's mix (`pcm` at the format's PCM rate; `silent`: all zeros). */
  encode(tick: number, pcm: Int16Array, silent: boolean): Uint8Array {
    this.#tick = tick;
    if (silent && this.#silence !== undefined) {
      this.#payload = this.#silence;
      return this.#payload;
    }
    this.#encoder ??= createMixEncoder(this.format);
    this.#payload = this.#encoder.encode(pcm);
    this.encodes++;
    if (silent && this.format.stateless) {
      this.#silence = this.#payload;
    }
    return this.#payload;
  }

  close(): void {
    this.#encoder?.close();
    this.#encoder = undefined;
  }
}

export class MixOutput {
  #format: MixFormat;
  #encoder: AudioEncoder | undefined;
  #resampler: Resampler | undefined;
  readonly ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  #seq = (Math.random() * 0xffff) >>> 0;
  #ts = (Math.random() * 0xffff_ffff) >>> 0;
  #talking = false;
  packets = 0;
  /** The group of this output's format in its mixer (set by the mixer when the format changes). */
  group: MixGroup | undefined;

  constructor(format: MixFormat = OPUS_MIX_FORMAT) {
    this.#format = format;
  }

  get format(): MixFormat {
    return this.#format;
  }

  /** Switches to another format (the sink renegotiated): a new encoder at the next own mix; numbering goes on. */
  setFormat(format: MixFormat): void {
    if (format === this.#format) {
      return;
    }
    this.close();
    this.#format = format;
    this.group = undefined;
  }

  /**
   * Encodes one 20 ms frame of the 16 kHz mix with this port's own encoder; `talking` (someone else is heard) sets
   * the marker on a talkspurt's first packet.
   */
  packet(pcm: Int16Array, talking: boolean, arrivalMs: number): MediaPacket {
    const f = this.#format;
    this.#encoder ??= createMixEncoder(f);
    let input = pcm;
    if (f.pcmRate !== MIX_RATE) {
      this.#resampler ??= new Resampler(MIX_RATE, f.pcmRate);
      input = this.#resampler.process(pcm);
    }
    return this.wrap(this.#encoder.encode(input), talking, arrivalMs);
  }

  /** Numbers a payload encoded elsewhere (the group's encoder) into this stream. */
  wrap(payload: Uint8Array, talking: boolean, arrivalMs: number): MediaPacket {
    const f = this.#format;
    const marker = talking && !this.#talking;
    this.#talking = talking;
    const p: MediaPacket = {
      kind: "AUDIO",
      codec: f.codec,
      clockRate: f.clockRate,
      payloadType: f.payloadType,
      ssrc: this.ssrc,
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      marker,
      payload,
      keyframe: false,
      arrivalMs,
    };
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + f.tsStep) >>> 0;
    this.packets++;
    return p;
  }

  close(): void {
    this.#encoder?.close();
    this.#encoder = undefined;
    this.#resampler = undefined;
  }
}
