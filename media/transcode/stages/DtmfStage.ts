/**
 * Transcoding stage 4, one per target chain: RFC 4733 telephone-events pass through a transcoded connection in its
 * timeline, not decoded. An event's timestamp moves into the chain's timeline (relative to the last decoded audio
 * packet, rescaled to the chain's clock), its durations are rescaled to the sink's telephone-event clock
 * (8000 ↔ 48000), and it is numbered in the chain's sequence with the chain's SSRC. Each event keeps one start
 * timestamp in all its packets (the last few mappings are remembered), and a packet routed to several connections
 * of the chain is sent once.
 */
import type { MediaPacket } from "../../core/types.js";
import type { RtpStage } from "../../endpoint/stages/RtpStage.js";
import { rescaleDuration } from "../../rtp/dtmf.js";
import type { StageContext } from "./context.js";

/** Telephone-event timestamps remembered per chain (an event keeps its start timestamp in every packet). */
const DTMF_MEMORY = 8;

/** The chain's output, as this stage sees it. */
export interface ChainTimeline {
  /** RTP clock of the chain's audio format. */
  readonly clockRate: number;
  readonly ssrc: number;
  /** Sequence number the next packet gets. */
  readonly seq: number;
  /** The chain's RTP timestamp of the next audio frame. */
  readonly ts: number;
  /** Numbers nothing itself: sends `p` (built with {@link seq}) and moves the sequence on. */
  send(p: MediaPacket): void;
}

export class DtmfStage implements RtpStage {
  /** telephone-event clocks of the chain's sinks (sinks of one format share them). */
  teRates: readonly number[] = [];
  readonly #out: ChainTimeline;
  readonly #ctx: StageContext;
  /** Input-ts ↔ output-ts anchor of the last decoded packet. */
  #anchorIn: number | undefined;
  #anchorInRate = 8000;
  #anchorOut = 0;
  /** Event start timestamps already mapped (in → out). */
  readonly #map = new Map<number, number>();
  #last: MediaPacket | undefined;

  constructor(out: ChainTimeline, ctx: StageContext) {
    this.#out = out;
    this.#ctx = ctx;
  }

  /** The audio packet with timestamp `inTs` (at `inRate`) starts at `outTs` in the chain's timeline. */
  anchor(inTs: number, inRate: number, outTs: number): void {
    this.#anchorIn = inTs;
    this.#anchorInRate = inRate;
    this.#anchorOut = outTs;
  }

  /** Sends the event to the chain's sinks (or drops it, counted). Always false: the packet ends here. */
  onRtp(p: MediaPacket): boolean {
    if (this.#last === p) {
      return false;
    }
    this.#last = p;
    const out = this.#out;
    const rates = this.teRates;
    const outRate = rates.includes(out.clockRate) ? out.clockRate : rates[0];
    if (outRate === undefined || p.payload.length < 4) {
      this.#ctx.counters.dtmfDropped++;
      this.#ctx.log.warn("dtmf-drop", "telephone-event dropped: the sink negotiated none (or a short payload)", {
        elementId: this.#ctx.elementId,
      });
      return false;
    }
    const payload = new Uint8Array(p.payload.length - (p.payload.length % 4));
    payload.set(p.payload.subarray(0, payload.length));
    for (let off = 0; off + 4 <= payload.length; off += 4) {
      const d = ((payload[off + 2] ?? 0) << 8) | (payload[off + 3] ?? 0);
      const r = Math.min(0xffff, rescaleDuration(d, p.clockRate, outRate));
      payload[off + 2] = r >>> 8;
      payload[off + 3] = r & 0xff;
    }
    this.#ctx.counters.dtmfForwarded++;
    out.send({
      kind: "AUDIO",
      codec: "telephone-event",
      clockRate: outRate,
      payloadType: p.payloadType,
      ssrc: out.ssrc,
      sequenceNumber: out.seq,
      timestamp: this.#timestamp(p),
      marker: p.marker,
      payload,
      keyframe: false,
      arrivalMs: p.arrivalMs,
    });
    return false;
  }

  close(): void {
    this.#map.clear();
  }

  /** The event's start in the chain's timeline: mapped once per event, then remembered. */
  #timestamp(p: MediaPacket): number {
    let ts = this.#map.get(p.timestamp);
    if (ts !== undefined) {
      return ts;
    }
    const out = this.#out;
    if (this.#anchorIn !== undefined && this.#anchorInRate === p.clockRate) {
      const delta = (p.timestamp - this.#anchorIn) | 0;
      ts = (this.#anchorOut + rescaleDuration(delta, p.clockRate, out.clockRate)) >>> 0;
    } else {
      ts = out.ts;
    }
    this.#map.set(p.timestamp, ts);
    if (this.#map.size > DTMF_MEMORY) {
      const oldest = this.#map.keys().next();
      if (oldest.done !== true) {
        this.#map.delete(oldest.value);
      }
    }
    return ts;
  }
}
