/**
 * The decoded-audio path of an {@link AudioFilter}, per incoming stream (codec, payload type and SSRC): it reuses
 * media/codecs exactly as the mixer's inputs do (media/mixer/MixInput.ts) — a decoder by SDP encoding name (Opus
 * decoded natively at the filter's rate when Opus can), a resampler when the decoder's rate differs, and a
 * re-framer to the frame size the filter asked for.
 *
 *     MediaPacket ─▶ decoder ─▶ resampler to the filter's rate ─▶ re-framer ─▶ frames
 *
 * {@link FrameEncoder} is the way back for a transforming filter: frames ─▶ resampler ─▶ re-framer to the codec's
 * frame ─▶ encoder of the stream's own codec ─▶ RTP-timed packets on the stream's SSRC and payload type.
 *
 * Packets are decoded in arrival order: there is no jitter buffer (a filter is not a playout point) and no loss
 * concealment. A payload that fails to decode is counted and skipped.
 */
import {
  codecName,
  createDecoder,
  createEncoder,
  pcmReframer,
  Resampler,
  type AudioDecoder,
  type AudioEncoder,
  type CodecName,
  type CodecOptions,
  type Reframer,
} from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";

const OPUS_RATES: readonly number[] = [8000, 12000, 16000, 24000, 48000];

function codecOptions(name: CodecName, rate: number): CodecOptions {
  return name === "opus" && OPUS_RATES.includes(rate)
    ? { sampleRate: rate as 8000 | 12000 | 16000 | 24000 | 48000 }
    : {};
}

/** The identity of a stream: a change of any part restarts its decoder (compared field by field, no key string). */
class StreamId {
  readonly codec: string;
  readonly clockRate: number;
  readonly payloadType: number;
  readonly ssrc: number;

  constructor(p: MediaPacket) {
    this.codec = p.codec;
    this.clockRate = p.clockRate;
    this.payloadType = p.payloadType;
    this.ssrc = p.ssrc;
  }

  /** True when `p` belongs to this stream. */
  matches(p: MediaPacket): boolean {
    return (
      p.ssrc === this.ssrc &&
      p.payloadType === this.payloadType &&
      p.codec === this.codec &&
      p.clockRate === this.clockRate
    );
  }
}

/** True when Korus can decode this packet's codec (audio that is not telephone-event, CN or unknown). */
export function decodable(p: MediaPacket): boolean {
  return p.kind === "AUDIO" && codecName(p.codec) !== undefined;
}

export class FrameDecoder {
  readonly stream: StreamId;
  readonly codec: CodecName;
  readonly #decoder: AudioDecoder;
  readonly #resampler: Resampler | undefined;
  readonly #reframer: Reframer<Int16Array>;
  /** Payloads that failed to decode. */
  errors = 0;

  /** @throws CodecError when the codec is unknown or `rate`/`frameSamples` are unusable. */
  constructor(first: MediaPacket, rate: number, frameSamples: number) {
    const name = codecName(first.codec);
    if (name === undefined) {
      throw new TypeError(`no decoder for '${first.codec}'`);
    }
    this.stream = new StreamId(first);
    this.codec = name;
    this.#decoder = createDecoder(name, codecOptions(name, rate));
    this.#resampler = this.#decoder.sampleRate === rate ? undefined : new Resampler(this.#decoder.sampleRate, rate);
    this.#reframer = pcmReframer(frameSamples);
  }

  /** The whole frames this payload completes (possibly none). */
  push(payload: Uint8Array): Int16Array[] {
    let pcm: Int16Array;
    try {
      pcm = this.#decoder.decode(payload);
    } catch {
      this.errors++;
      return [];
    }
    if (this.#decoder.channels === 2) {
      pcm = downmix(pcm);
    }
    return this.#reframer.push(this.#resampler === undefined ? pcm : this.#resampler.process(pcm));
  }

  close(): void {
    this.#decoder.close();
  }
}

function downmix(pcm: Int16Array): Int16Array {
  const out = new Int16Array(pcm.length >> 1);
  for (let i = 0; i < out.length; i++) {
    out[i] = ((pcm[2 * i] ?? 0) + (pcm[2 * i + 1] ?? 0)) >> 1;
  }
  return out;
}

export class FrameEncoder {
  readonly stream: StreamId;
  readonly #encoder: AudioEncoder;
  readonly #resampler: Resampler | undefined;
  readonly #reframer: Reframer<Int16Array>;
  readonly #codec: string;
  readonly #clockRate: number;
  readonly #payloadType: number;
  readonly #ssrc: number;
  /** RTP timestamp units per encoded frame. */
  readonly #tsStep: number;
  #seq: number;
  #ts: number;

  /** Encodes frames of `rate` Hz into the codec, payload type and SSRC of `first`. */
  constructor(first: MediaPacket, rate: number) {
    const name = codecName(first.codec);
    if (name === undefined) {
      throw new TypeError(`no encoder for '${first.codec}'`);
    }
    this.stream = new StreamId(first);
    this.#encoder = createEncoder(name, codecOptions(name, rate));
    this.#resampler = this.#encoder.sampleRate === rate ? undefined : new Resampler(rate, this.#encoder.sampleRate);
    this.#reframer = pcmReframer(this.#encoder.frameSamples * this.#encoder.channels);
    this.#codec = first.codec;
    this.#clockRate = first.clockRate;
    this.#payloadType = first.payloadType;
    this.#ssrc = first.ssrc;
    this.#tsStep = Math.round((this.#encoder.frameSamples * first.clockRate) / this.#encoder.sampleRate);
    this.#seq = first.sequenceNumber;
    this.#ts = first.timestamp;
  }

  /** Encodes `frame`; returns the packets it completes (possibly none). */
  push(frame: Int16Array, arrivalMs: number): MediaPacket[] {
    let pcm = this.#resampler === undefined ? frame : this.#resampler.process(frame);
    if (this.#encoder.channels === 2) {
      pcm = upmix(pcm);
    }
    const out: MediaPacket[] = [];
    for (const f of this.#reframer.push(pcm)) {
      out.push({
        kind: "AUDIO",
        codec: this.#codec,
        clockRate: this.#clockRate,
        payloadType: this.#payloadType,
        ssrc: this.#ssrc,
        sequenceNumber: this.#seq,
        timestamp: this.#ts >>> 0,
        marker: false,
        payload: this.#encoder.encode(f),
        keyframe: false,
        arrivalMs,
      });
      this.#seq = (this.#seq + 1) & 0xffff;
      this.#ts = (this.#ts + this.#tsStep) >>> 0;
    }
    return out;
  }

  close(): void {
    this.#encoder.close();
  }
}

function upmix(pcm: Int16Array): Int16Array {
  const out = new Int16Array(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) {
    const v = pcm[i] ?? 0;
    out[2 * i] = v;
    out[2 * i + 1] = v;
  }
  return out;
}
