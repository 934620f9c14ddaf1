/**
 * Transcoding stage 3, one per target chain: encodes frames with the chain's one encoder (every sink of the same
 * format shares it) and keeps the chain's RTP timeline: a random first timestamp advanced by the RTP ticks of each
 * frame (Opus fed at 8 kHz still counts 960 ticks per 20 ms at its 48 kHz clock). With several encoder frames per
 * packet (AMR at a ptime above 20 ms) the packet takes the timestamp of its first frame.
 *
 * AMR (RFC 4867 §4.3.1): at each packet boundary the encoder moves to the mode the sinks' peers ask for in their
 * CMR — the lowest request among them, mapped into the mode-set (the highest allowed mode not above it) — and to
 * the highest mode of the set when nobody asks.
 */
import { createEncoder, type AudioEncoder } from "../../codecs/index.js";
import { TranscodeError } from "../errors.js";
import { formatParams, nativeRate, opusRate, type SinkAudioFormat } from "../format.js";
import type { FrameOutput } from "./ReframeStage.js";

/** Where encoded payloads go (the chain numbers and delivers them). */
export interface PayloadOutput {
  /** One RTP payload with the timestamp of its first frame; `silence`: keep-alive filler, not source audio. */
  onPayload(payload: Uint8Array, timestamp: number, silence: boolean): void;
  /** The lowest AMR mode the chain's sinks' peers ask for (CMR), or undefined. */
  modeRequest(): number | undefined;
}

/** An encoder that can follow a codec mode request (AMR). */
interface CmrEncoder extends AudioEncoder {
  applyCmr(mode: number): void;
}

function followsCmr(e: AudioEncoder): e is CmrEncoder {
  return "applyCmr" in e && typeof e.applyCmr === "function";
}

export class EncodeStage implements FrameOutput {
  readonly encoder: AudioEncoder;
  /** PCM rate the encoder takes. */
  readonly rate: number;
  /** Samples (all channels) in one encoder frame. */
  readonly frameLength: number;
  /** RTP ticks per encoder frame. */
  readonly ticksPerFrame: number;
  /** Encoder frames per RTP packet (AMR with ptime > 20). */
  readonly framesPerPacket: number;
  /** One frame of silence at the encoder's rate (keep-alive filler). */
  readonly silence: Int16Array;
  /** The chain's RTP timestamp of the next frame. */
  ts = (Math.random() * 0xffff_ffff) >>> 0;
  /** AMR: the modes allowed, ascending, and the one the encoder runs at. */
  readonly amrModes: readonly number[] | undefined;
  amrMode: number | undefined;
  readonly #out: PayloadOutput;
  #frameInPacket = 0;
  #packetTs = 0;

  /** @throws TranscodeError or CodecError when the format cannot be encoded as asked. */
  constructor(format: SinkAudioFormat, ptimeMs: number, sourceCodec: string, out: PayloadOutput) {
    this.#out = out;
    const p = formatParams(format.codec, format.parameters);
    const amr = format.codec === "amr" || format.codec === "amr-wb";
    this.framesPerPacket = amr ? ptimeMs / 20 : 1;
    this.encoder = createEncoder(format.codec, {
      ...(format.codec === "opus" ? { sampleRate: opusRate(nativeRate(sourceCodec)) } : {}),
      ...(amr ? { framesPerPacket: this.framesPerPacket, octetAligned: p.octetAligned } : { frameMs: ptimeMs }),
      ...(p.modeSet !== undefined ? { modeSet: p.modeSet } : {}),
      dtx: false,
      opus: { signal: "voice" },
    });
    this.rate = this.encoder.sampleRate;
    this.frameLength = this.encoder.frameSamples * this.encoder.channels;
    this.ticksPerFrame = (this.encoder.frameSamples * format.clockRate) / this.rate;
    if (!Number.isInteger(this.ticksPerFrame)) {
      this.encoder.close();
      throw new TranscodeError(`${format.codec}: ${this.encoder.frameSamples} samples are not whole RTP ticks`);
    }
    if (amr) {
      // The modes the encoder may use, ascending: the mode-set, else every speech mode of the codec.
      const all = format.codec === "amr" ? [0, 1, 2, 3, 4, 5, 6, 7] : [0, 1, 2, 3, 4, 5, 6, 7, 8];
      const modes = p.modeSet !== undefined && p.modeSet.length > 0 ? [...p.modeSet].sort((x, y) => x - y) : all;
      this.amrModes = modes;
      this.amrMode = modes[modes.length - 1] ?? 0;
    }
    this.silence = new Int16Array(this.frameLength);
  }

  /** A frame of source audio. */
  onFrame(frame: Int16Array): void {
    this.encode(frame, false);
  }

  /** One whole packet of silence (as many frames as a packet holds). */
  emitSilence(): void {
    for (let i = 0; i < this.framesPerPacket; i++) {
      this.encode(this.silence, true);
    }
  }

  encode(frame: Int16Array, silence: boolean): void {
    const frameTs = this.ts;
    this.ts = (this.ts + this.ticksPerFrame) >>> 0;
    if (this.#frameInPacket === 0) {
      this.#packetTs = frameTs;
      if (this.amrModes !== undefined) {
        this.#followCmr(this.amrModes);
      }
    }
    this.#frameInPacket = (this.#frameInPacket + 1) % this.framesPerPacket;
    const payload = this.encoder.encode(frame);
    if (payload.length > 0) {
      this.#out.onPayload(payload, this.#packetTs, silence);
    }
  }

  close(): void {
    this.encoder.close();
  }

  #followCmr(modes: readonly number[]): void {
    const requested = this.#out.modeRequest();
    let target = modes[modes.length - 1] ?? 0;
    if (requested !== undefined) {
      target = modes[0] ?? target; // nothing in the set at or below the request: its lowest mode
      for (let i = modes.length - 1; i >= 0; i--) {
        if (modes[i]! <= requested) {
          target = modes[i]!;
          break;
        }
      }
    }
    if (target !== this.amrMode) {
      if (followsCmr(this.encoder)) {
        this.encoder.applyCmr(target);
      }
      this.amrMode = target;
    }
  }
}
