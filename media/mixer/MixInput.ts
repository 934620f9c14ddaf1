/**
 * One participant's input to the audio mixer: what is connected INTO a HubPort.
 *
 *     MediaPacket ─▶ JitterBuffer (reorder; loss ─▶ decoder PLC) ─▶ decoder ─▶ resampler to 16 kHz ─▶ PcmFifo
 *
 * - Any codec of media/codecs, chosen per packet from `codec`/`clockRate`/`payloadType`/`ssrc`; a change of any of
 *   these restarts the decode stage (counted). Opus is decoded natively at 16 kHz; G.711 and AMR-NB are resampled
 *   8 → 16 kHz; G.722 and AMR-WB are 16 kHz already.
 * - The FIFO absorbs any ptime: the mixer takes one 20 ms frame per tick. A talkspurt starts contributing once
 *   {@link PREFILL_SAMPLES} are buffered (40 ms against arrival jitter).
 * - Adaptive depth: an underrun while packets are still arriving (the last one less than {@link HANGOVER_MS} ago)
 *   is a late packet, not the end of a talkspurt: the decoder's PLC fills that tick, and the late packet, when it
 *   comes, plays one frame later (the buffer grew by a frame). When the FIFO has held more than one spare frame
 *   for {@link SHRINK_AFTER_TICKS} ticks in a row, one frame is dropped (latency comes back down once the jitter
 *   calms). An underrun with no recent packet ends the talkspurt. A FIFO deeper than {@link MAX_DEPTH_SAMPLES}
 *   (sender clock faster than ours, or a burst) is cut back to the prefill depth, so delay stays bounded.
 * - AMR's packing (octet-aligned or bandwidth-efficient) is not visible from the packet: the input starts with
 *   bandwidth-efficient and switches after a payload fails to decode (counted in `amrRepack`).
 * - Garbage payloads fail the decoder: counted in `decodeErrors` and concealed. Nothing here throws to the caller.
 */
import { codecName, createDecoder, Resampler, type AudioDecoder } from "../codecs/index.js";
import type { MediaPacket } from "../core/types.js";
import { JitterBuffer } from "../transcode/JitterBuffer.js";
import { PcmFifo } from "./PcmFifo.js";

/** The mixing rate: 16 kHz mono (wideband speech; see AudioMixer for why not 48 kHz). */
export const MIX_RATE = 16000;
/** Samples in one 20 ms mixing frame. */
export const MIX_FRAME = 320;
/** Buffered before a talkspurt starts contributing: 40 ms. */
export const PREFILL_SAMPLES = 2 * MIX_FRAME;
/** Deeper than this (200 ms) the FIFO is cut back to the prefill depth. */
export const MAX_DEPTH_SAMPLES = 10 * MIX_FRAME;
/** An underrun within this time of the last packet is concealed rather than ending the talkspurt. */
export const HANGOVER_MS = 80;
/** Ticks with more than one spare frame buffered before one frame is dropped (1 s). */
export const SHRINK_AFTER_TICKS = 50;

/** Whether the input contributes to the mix now. */
export enum InputState {
  Silent = "SILENT",
  Talking = "TALKING",
}

export interface MixInputStats {
  packets: number;
  decoded: number;
  concealed: number;
  decodeErrors: number;
  /** Packets of a codec Korus cannot decode (video, telephone-event, CN, unknown): ignored. */
  ignored: number;
  /** Restarts of the decode stage (codec, payload type or SSRC changed). */
  restarts: number;
  amrRepack: number;
  lost: number;
  late: number;
  reordered: number;
  underruns: number;
  /** Samples dropped to keep the delay bounded. */
  trimmedSamples: number;
  /** Ticks filled by PLC because the next packet was late (the buffer grew by a frame). */
  stretched: number;
  /** Frames dropped because the buffer stayed deeper than needed (the buffer shrank by a frame). */
  shrunk: number;
  talkspurts: number;
}

class DecodeStage {
  readonly key: string;
  readonly codec: string;
  decoder: AudioDecoder;
  readonly resampler: Resampler | undefined;
  readonly jitter: JitterBuffer<MediaPacket>;
  octetAligned = false;

  constructor(key: string, codec: string, owner: MixInput) {
    this.key = key;
    this.codec = codec;
    this.decoder = DecodeStage.decoderFor(codec, false);
    const rate = this.decoder.sampleRate;
    this.resampler = rate === MIX_RATE ? undefined : new Resampler(rate, MIX_RATE);
    this.jitter = new JitterBuffer<MediaPacket>({
      packet: (p) => owner.decodePacket(this, p),
      lost: () => owner.concealFrame(this),
    });
  }

  static decoderFor(codec: string, octetAligned: boolean): AudioDecoder {
    if (codec === "opus") {
      return createDecoder("opus", { sampleRate: MIX_RATE });
    }
    return createDecoder(codec, codec === "amr" || codec === "amr-wb" ? { octetAligned } : {});
  }
}

export class MixInput {
  readonly stats: MixInputStats = {
    packets: 0,
    decoded: 0,
    concealed: 0,
    decodeErrors: 0,
    ignored: 0,
    restarts: 0,
    amrRepack: 0,
    lost: 0,
    late: 0,
    reordered: 0,
    underruns: 0,
    trimmedSamples: 0,
    stretched: 0,
    shrunk: 0,
    talkspurts: 0,
  };
  readonly #fifo = new PcmFifo(MIX_RATE); // 1 s: far above MAX_DEPTH_SAMPLES, trimmed at every tick
  readonly #frame = new Int16Array(MIX_FRAME);
  #stage: DecodeStage | undefined;
  #state = InputState.Silent;
  #closed = false;
  #lastPacketMs = -Infinity;
  /** Consecutive ticks with more than one spare frame buffered. */
  #deepTicks = 0;

  get state(): InputState {
    return this.#state;
  }

  /** Buffered samples at the mixing rate. */
  get depth(): number {
    return this.#fifo.size;
  }

  /** Takes one packet connected into the port. Never throws. */
  push(packet: MediaPacket, nowMs: number): void {
    if (this.#closed) {
      return;
    }
    this.stats.packets++;
    this.#lastPacketMs = nowMs;
    const name = codecName(packet.codec);
    if (packet.kind !== "AUDIO" || name === undefined) {
      this.stats.ignored++;
      return;
    }
    const codec = name.toLowerCase();
    const key = `${codec}/${packet.clockRate}/${packet.payloadType}/${packet.ssrc}`;
    let stage = this.#stage;
    if (stage?.key !== key) {
      if (stage !== undefined) {
        this.stats.restarts++;
        stage.jitter.drainAll();
        stage.decoder.close();
      }
      stage = new DecodeStage(key, codec, this);
      this.#stage = stage;
    }
    stage.jitter.push(packet.sequenceNumber, packet, nowMs);
    this.#syncJitter(stage);
  }

  /**
   * One mixing tick: flushes an overdue gap, then hands out this input's next 20 ms frame, or undefined when it
   * contributes nothing now. The returned array is reused at the next tick.
   */
  tick(nowMs: number): Int16Array | undefined {
    const stage = this.#stage;
    if (stage !== undefined && stage.jitter.held > 0) {
      stage.jitter.flush(nowMs);
      this.#syncJitter(stage);
    }
    if (this.#fifo.size > MAX_DEPTH_SAMPLES) {
      const cut = this.#fifo.size - PREFILL_SAMPLES;
      this.#fifo.discard(cut);
      this.stats.trimmedSamples += cut;
    }
    if (this.#state === InputState.Silent) {
      if (this.#fifo.size < PREFILL_SAMPLES) {
        return undefined;
      }
      this.#to(InputState.Talking);
    }
    if (this.#fifo.size < MIX_FRAME && stage !== undefined && nowMs - this.#lastPacketMs < HANGOVER_MS) {
      this.stats.stretched++;
      this.concealFrame(stage);
    }
    if (!this.#fifo.read(this.#frame)) {
      this.stats.underruns++;
      this.#deepTicks = 0;
      this.#to(InputState.Silent);
      return undefined;
    }
    if (this.#fifo.size > MIX_FRAME) {
      if (++this.#deepTicks >= SHRINK_AFTER_TICKS) {
        this.#fifo.discard(MIX_FRAME);
        this.stats.shrunk++;
        this.#deepTicks = 0;
      }
    } else {
      this.#deepTicks = 0;
    }
    return this.#frame;
  }

  close(): void {
    this.#closed = true;
    this.#stage?.decoder.close();
    this.#stage = undefined;
    this.#fifo.clear();
  }

  /** The only place the state changes. */
  #to(next: InputState): void {
    if (next === this.#state) {
      return;
    }
    if (next === InputState.Talking) {
      this.stats.talkspurts++;
    }
    this.#state = next;
  }

  #syncJitter(stage: DecodeStage): void {
    const j = stage.jitter.stats;
    this.stats.lost = j.lost;
    this.stats.late = j.late + j.duplicates;
    this.stats.reordered = j.reordered;
  }

  /** Called by the jitter buffer, in order. */
  decodePacket(stage: DecodeStage, p: MediaPacket): void {
    if (this.#closed) {
      return;
    }
    let pcm: Int16Array;
    try {
      pcm = stage.decoder.decode(p.payload);
      this.stats.decoded++;
    } catch {
      this.stats.decodeErrors++;
      if (stage.codec === "amr" || stage.codec === "amr-wb") {
        // Try the other packing for the next payloads.
        stage.octetAligned = !stage.octetAligned;
        stage.decoder.close();
        stage.decoder = DecodeStage.decoderFor(stage.codec, stage.octetAligned);
        this.stats.amrRepack++;
      }
      this.concealFrame(stage);
      return;
    }
    this.#write(stage, pcm);
  }

  /** Called by the jitter buffer for a lost packet (or by a decode error): one frame of concealment. */
  concealFrame(stage: DecodeStage): void {
    if (this.#closed) {
      return;
    }
    let pcm: Int16Array;
    try {
      pcm = stage.decoder.conceal();
    } catch {
      pcm = new Int16Array((stage.decoder.sampleRate * 20) / 1000);
    }
    this.stats.concealed++;
    this.#write(stage, pcm);
  }

  #write(stage: DecodeStage, pcm: Int16Array): void {
    this.#fifo.write(stage.resampler === undefined ? pcm : stage.resampler.process(pcm));
  }
}
