/**
 * Transcoding stage 1: one decoded input stream (codec, clock, payload type, SSRC). Packets go through the
 * reordering {@link JitterBuffer}, then the decoder; a loss the buffer declares becomes one frame of the decoder's
 * concealment (PLC). A payload the decoder rejects (garbage, truncated AMR) is counted and concealed as a loss.
 * Every frame of PCM, decoded or concealed, goes to the one {@link PcmOutput} given at construction.
 *
 * A packet routed to several connections reaches {@link onRtp} once per connection: only the first is decoded.
 * A change of codec, clock, payload type or SSRC is a new stream: the transcoder closes this stage and opens
 * another ({@link matches} tells, by comparing fields, with no key built per packet).
 */
import { createDecoder, type AudioDecoder } from "../../codecs/index.js";
import type { MediaPacket } from "../../core/types.js";
import type { RtpStage } from "../../endpoint/stages/RtpStage.js";
import { formatParams, opusRate } from "../format.js";
import { JitterBuffer } from "../JitterBuffer.js";
import type { StageContext } from "./context.js";

/** Where decoded audio goes. */
export interface PcmOutput {
  /**
   * One frame of PCM at `from.rate`. `packet` is the packet it was decoded from, undefined for concealment.
   * `pcm` may be the decoder's own buffer: read it before the next decode, never keep it.
   */
  onPcm(pcm: Int16Array, from: DecodeStage, packet: MediaPacket | undefined): void;
}

export class DecodeStage implements RtpStage {
  readonly codec: string;
  readonly clockRate: number;
  readonly payloadType: number;
  readonly ssrc: number;
  /** PCM rate of the decoder (an Opus source is decoded at the rate its chains need). */
  readonly rate: number;
  /** Arrival time of the packet whose push is producing audio now (now, for a timer flush): the latency stamp. */
  arrivalMs = 0;
  /** The last packet pushed (a packet routed to several connections is decoded once). */
  lastPacket: MediaPacket | undefined;
  readonly #decoder: AudioDecoder;
  readonly #jitter: JitterBuffer<MediaPacket>;
  readonly #out: PcmOutput;
  readonly #ctx: StageContext;

  constructor(packet: MediaPacket, decoder: AudioDecoder, out: PcmOutput, ctx: StageContext) {
    this.codec = packet.codec;
    this.clockRate = packet.clockRate;
    this.payloadType = packet.payloadType;
    this.ssrc = packet.ssrc;
    this.rate = decoder.sampleRate;
    this.#decoder = decoder;
    this.#out = out;
    this.#ctx = ctx;
    // The buffer's two callbacks are made once, here: none per packet.
    this.#jitter = new JitterBuffer<MediaPacket>({
      packet: (p) => this.#decode(p),
      lost: () => this.#conceal(),
    });
  }

  /**
   * Opens the decoder for `packet`'s stream. `rate`: the highest PCM rate a chain encodes at (Opus is decoded
   * straight at it); `fmtp`: what the source negotiated for the payload type (AMR packing, mode-set).
   */
  static open(
    packet: MediaPacket,
    rate: number,
    fmtp: string | undefined,
    out: PcmOutput,
    ctx: StageContext,
  ): DecodeStage {
    const p = formatParams(packet.codec, fmtp);
    const decoder = createDecoder(packet.codec, {
      ...(packet.codec === "opus" ? { sampleRate: opusRate(rate) } : {}),
      octetAligned: p.octetAligned,
      ...(p.modeSet !== undefined ? { modeSet: p.modeSet } : {}),
    });
    return new DecodeStage(packet, decoder, out, ctx);
  }

  /** The stream, for log lines. */
  get key(): string {
    return `${this.codec}/${this.clockRate}/${this.payloadType}/${this.ssrc}`;
  }

  /** Whether `p` belongs to this stream (codec, clock, payload type and SSRC all the same). */
  matches(p: MediaPacket): boolean {
    return (
      p.ssrc === this.ssrc &&
      p.payloadType === this.payloadType &&
      p.codec === this.codec &&
      p.clockRate === this.clockRate
    );
  }

  /** Takes the packet into the jitter buffer (decoded now if in order). Always false: the packet ends here. */
  onRtp(packet: MediaPacket): boolean {
    if (this.lastPacket === packet) {
      return false; // already decoded for another connection
    }
    this.lastPacket = packet;
    this.arrivalMs = packet.arrivalMs;
    this.#jitter.push(packet.sequenceNumber, packet, performance.now());
    this.#syncStats();
    return false;
  }

  /** Timer-driven: a gap whose oldest held packet waited too long is declared lost and concealed. */
  flush(nowMs: number): void {
    if (this.#jitter.held > 0) {
      this.arrivalMs = nowMs;
      this.#jitter.flush(nowMs);
      this.#syncStats();
    }
  }

  close(): void {
    this.#decoder.close();
  }

  #syncStats(): void {
    const j = this.#jitter.stats;
    const c = this.#ctx.counters;
    c.late = j.late + j.duplicates;
    c.reordered = j.reordered;
    c.lost = j.lost;
  }

  /** Called by the jitter buffer, in order. */
  #decode(p: MediaPacket): void {
    let pcm: Int16Array;
    try {
      pcm = this.#decoder.decode(p.payload);
      this.#ctx.counters.decoded++;
    } catch (err) {
      this.#ctx.counters.decodeErrors++;
      this.#ctx.log.warn("decode-error", `undecodable ${p.codec} payload: concealed`, {
        elementId: this.#ctx.elementId,
        bytes: p.payload.length,
        error: String(err),
      });
      this.#conceal();
      return;
    }
    this.#out.onPcm(pcm, this, p);
  }

  /** Called by the jitter buffer for a lost packet: one frame of the decoder's concealment. */
  #conceal(): void {
    let pcm: Int16Array;
    try {
      pcm = this.#decoder.conceal();
    } catch {
      pcm = new Int16Array((this.rate * 20) / 1000);
    }
    this.#ctx.counters.concealed++;
    this.#out.onPcm(pcm, this, undefined);
  }
}
