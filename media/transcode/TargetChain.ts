/**
 * One target format of a transcoder (codec, clock, channels, the AMR fmtp that shapes the payload, ptime), built
 * once when the first sink needing it appears and closed with its last sink. It is a fixed chain of stages:
 *
 *     PCM ─▶ ReframeStage (resample, re-frame) ─▶ EncodeStage (encode, RTP timeline, AMR CMR) ─▶ numbering ─▶ sinks
 *     telephone-event ─▶ DtmfStage (into this timeline) ────────────────────────────────────────▶ numbering ─▶ sinks
 *
 * This file does the numbering (random SSRC, continuous sequence, marker on the first packet), the delivery to every
 * connection of the chain (one packet object for all of them), and the keep-alive: towards sinks that must never go
 * quiet (SIP peers) the shared 20 ms tick fills any pause longer than {@link KEEPALIVE_AFTER_PTIMES} packet times
 * with silence from the chain's own encoder.
 */
import type { MediaPacket } from "../core/types.js";
import type { StageContext, TranscodeTarget } from "./stages/context.js";
import type { DecodeStage, PcmOutput } from "./stages/DecodeStage.js";
import { DtmfStage, type ChainTimeline } from "./stages/DtmfStage.js";
import { EncodeStage, type PayloadOutput } from "./stages/EncodeStage.js";
import { ReframeStage } from "./stages/ReframeStage.js";
import type { SinkAudioFormat } from "./format.js";

/**
 * Silence fills a pause towards continuous sinks once no packet went out for this many packet times (80 ms at
 * 20 ms): late packets within that window (network jitter) cause no filler, so they add no latency.
 */
const KEEPALIVE_AFTER_PTIMES = 4;

/** Hands a packet to one connection's sink (the transcoder's host). */
export interface Deliver<C> {
  deliver(packet: MediaPacket, conn: C): void;
}

export class TargetChain<C extends TranscodeTarget> implements PcmOutput, PayloadOutput, ChainTimeline {
  readonly key: string;
  readonly format: SinkAudioFormat;
  readonly ptimeMs: number;
  readonly clockRate: number;
  readonly ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  seq = (Math.random() * 0xffff) >>> 0;
  /** Keep RTP flowing through pauses (some sink is a SIP peer). */
  continuous = false;
  readonly dtmf: DtmfStage;
  readonly #reframe: ReframeStage;
  readonly #encode: EncodeStage;
  readonly #deliver: Deliver<C>;
  readonly #ctx: StageContext;
  /** The connections fed, replaced (not changed) when one joins or leaves, so a delivery loop is never disturbed. */
  #conns: readonly C[] = [];
  #first = true;
  #arrivalMs = 0;
  #lastOutMs = performance.now();
  /** While filling a pause with silence: when the next silence packet is due (undefined: not filling). */
  #fillAtMs: number | undefined;

  /** @throws TranscodeError or CodecError when the format cannot be encoded (nothing is left open then). */
  constructor(
    key: string,
    format: SinkAudioFormat,
    ptimeMs: number,
    sourceCodec: string,
    deliver: Deliver<C>,
    ctx: StageContext,
  ) {
    this.key = key;
    this.format = format;
    this.ptimeMs = ptimeMs;
    this.clockRate = format.clockRate;
    this.#deliver = deliver;
    this.#ctx = ctx;
    this.#encode = new EncodeStage(format, ptimeMs, sourceCodec, this);
    this.#reframe = new ReframeStage(this.#encode.rate, this.#encode.frameLength, this.#encode);
    this.dtmf = new DtmfStage(this, ctx);
  }

  /** PCM rate of the encoder (8000 for Opus fed by G.711). */
  get encRate(): number {
    return this.#encode.rate;
  }

  /** The RTP timestamp of the next audio frame. */
  get ts(): number {
    return this.#encode.ts;
  }

  get size(): number {
    return this.#conns.length;
  }

  add(conn: C): void {
    if (!this.#conns.includes(conn)) {
      this.#conns = [...this.#conns, conn];
    }
  }

  remove(conn: C): void {
    this.#conns = this.#conns.filter((c) => c !== conn);
  }

  /** Decoded audio: anchors the DTMF timeline on a real packet, then re-frames and encodes. */
  onPcm(pcm: Int16Array, from: DecodeStage, packet: MediaPacket | undefined): void {
    if (packet !== undefined) {
      const held = Math.round((this.#reframe.pending * this.clockRate) / this.#encode.rate);
      this.dtmf.anchor(packet.timestamp, packet.clockRate, (this.#encode.ts - held) >>> 0);
    }
    this.#arrivalMs = from.arrivalMs;
    this.#reframe.push(pcm, from.rate);
  }

  /** From the encoder: numbers the payload and sends it. */
  onPayload(payload: Uint8Array, timestamp: number, silence: boolean): void {
    const now = performance.now();
    const counters = this.#ctx.counters;
    counters.encodedPackets++;
    if (silence) {
      counters.silencePackets++;
    } else {
      this.#lastOutMs = now;
      this.#fillAtMs = undefined;
    }
    this.send({
      kind: "AUDIO",
      codec: this.format.codec,
      clockRate: this.clockRate,
      payloadType: 0,
      ssrc: this.ssrc,
      sequenceNumber: this.seq,
      timestamp,
      marker: this.#first,
      payload,
      keyframe: false,
      arrivalMs: silence ? now : this.#arrivalMs,
    });
    this.#first = false;
  }

  /** The lowest AMR mode the chain's sinks' peers ask for. */
  modeRequest(): number | undefined {
    let requested: number | undefined;
    for (const conn of this.#conns) {
      const r = conn.sink.amrModeRequest();
      if (r !== undefined && (requested === undefined || r < requested)) {
        requested = r;
      }
    }
    return requested;
  }

  /** Sends `p` (numbered {@link seq}) to every connection of the chain and moves the sequence on. */
  send(p: MediaPacket): void {
    this.seq = (this.seq + 1) & 0xffff;
    const conns = this.#conns;
    for (const conn of conns) {
      this.#deliver.deliver(p, conn);
    }
  }

  /** The shared tick: silence into a pause of a continuous chain, at the packet rate. */
  tick(now: number): void {
    if (!this.continuous) {
      return;
    }
    if (this.#fillAtMs === undefined) {
      if (now - this.#lastOutMs < KEEPALIVE_AFTER_PTIMES * this.ptimeMs) {
        return;
      }
      this.#fillAtMs = now; // the source has been quiet for a while: fill at the packet rate from now on
    }
    if (now - this.#fillAtMs > 10 * this.ptimeMs) {
      this.#fillAtMs = now; // the worker was starved: resume at the packet rate rather than in a burst
    }
    let n = 0;
    while (this.#fillAtMs <= now && n++ < 5) {
      this.#encode.emitSilence();
      this.#fillAtMs += this.ptimeMs;
    }
  }

  close(): void {
    this.#conns = [];
    this.dtmf.close();
    this.#encode.close();
  }
}
