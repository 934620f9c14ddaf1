/**
 * The datagram side of the stage chain, in pion's interceptor shape (architecture.md §5.9): the per-packet work on a
 * transport's bytes before they are parsed (inbound) and after they are built (outbound), such as SRTP
 * ({@link SrtpStage}) and the media timeout ({@link MediaTimeoutStage}). The {@link RtpStage} chain runs later, on
 * parsed packets, and never sees what a transport drops or keeps from the sinks (RTCP, RTP while on hold).
 *
 * A stage implements the hooks it needs; the others are left out. A {@link DatagramChain} is built once per stream
 * from stages listed from the wire inwards: inbound hooks run first to last, outbound hooks last to first (the stage
 * nearest the wire protects last and unprotects first). Each hook has its own fixed array of the stages that have
 * it, run with an index loop: no closure, allocation or lookup per packet.
 */

import { closeStages } from "./RtpStage.js";
export interface DatagramStage {
  /**
   * An RTP datagram from the peer (its source address already checked), before parsing.
   * @returns the datagram to go on with (the same bytes, or the unprotected packet), or undefined to drop it.
   */
  rtpIn?(data: Buffer): Buffer | undefined;
  /** An RTCP datagram from the peer (compound, maybe muxed): as {@link rtpIn}. */
  rtcpIn?(data: Buffer): Buffer | undefined;
  /**
   * The RTP datagram was parsed and carries a negotiated payload type: it is valid (the socket latches its source),
   * whether or not it goes on to the RTP stages (on hold, or held back by the receive stream, it does not).
   */
  rtpValid?(nowMs: number): void;
  /** An RTP packet we built. @returns the packet to send (e.g. protected), or undefined not to send it. */
  rtpOut?(packet: Buffer): Buffer | undefined;
  /** An RTCP packet we built: as {@link rtpOut}. */
  rtcpOut?(packet: Buffer): Buffer | undefined;
  /** Stops timers, forgets keys. Called once, at the release; may throw (the chain gathers the errors). */
  close(): void;
}

/** The fixed datagram stages of one stream. */
export class DatagramChain {
  readonly #stages: readonly DatagramStage[];
  readonly #rtpIn: readonly DatagramStage[];
  readonly #rtcpIn: readonly DatagramStage[];
  readonly #rtpValid: readonly DatagramStage[];
  readonly #rtpOut: readonly DatagramStage[];
  readonly #rtcpOut: readonly DatagramStage[];

  /** @param stages from the wire inwards (e.g. `[srtp, timeout]`). */
  constructor(stages: readonly DatagramStage[]) {
    this.#stages = stages;
    this.#rtpIn = stages.filter((s) => s.rtpIn !== undefined);
    this.#rtcpIn = stages.filter((s) => s.rtcpIn !== undefined);
    this.#rtpValid = stages.filter((s) => s.rtpValid !== undefined);
    this.#rtpOut = stages.filter((s) => s.rtpOut !== undefined).reverse();
    this.#rtcpOut = stages.filter((s) => s.rtcpOut !== undefined).reverse();
  }

  rtpIn(data: Buffer): Buffer | undefined {
    const stages = this.#rtpIn;
    let d: Buffer | undefined = data;
    for (let i = 0, n = stages.length; i < n && d !== undefined; i++) {
      d = stages[i]!.rtpIn!(d);
    }
    return d;
  }

  rtcpIn(data: Buffer): Buffer | undefined {
    const stages = this.#rtcpIn;
    let d: Buffer | undefined = data;
    for (let i = 0, n = stages.length; i < n && d !== undefined; i++) {
      d = stages[i]!.rtcpIn!(d);
    }
    return d;
  }

  rtpValid(nowMs: number): void {
    const stages = this.#rtpValid;
    for (let i = 0, n = stages.length; i < n; i++) {
      stages[i]!.rtpValid!(nowMs);
    }
  }

  rtpOut(packet: Buffer): Buffer | undefined {
    const stages = this.#rtpOut;
    let d: Buffer | undefined = packet;
    for (let i = 0, n = stages.length; i < n && d !== undefined; i++) {
      d = stages[i]!.rtpOut!(d);
    }
    return d;
  }

  rtcpOut(packet: Buffer): Buffer | undefined {
    const stages = this.#rtcpOut;
    let d: Buffer | undefined = packet;
    for (let i = 0, n = stages.length; i < n && d !== undefined; i++) {
      d = stages[i]!.rtcpOut!(d);
    }
    return d;
  }

  /**
   * Closes every stage, even after one threw.
   * @throws AggregateError with the error of every stage that failed to close.
   */
  close(): void {
    closeStages(this.#stages, "datagram stage(s)");
  }
}
