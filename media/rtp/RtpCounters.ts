/**
 * Per-SSRC counters behind getStats (kurento-protocol.md §8) and, later, CDR quality figures.
 *
 * {@link InboundCounters} follows RFC 3550 Appendix A: extended highest sequence number (A.1), cumulative and
 * interval loss (A.3) and interarrival jitter (A.8). {@link OutboundCounters} counts what we sent and what the
 * peer's RTCP said about it. Both are plain numbers updated in O(1) per packet.
 */

const SEQ_MOD = 0x1_0000;

export class InboundCounters {
  readonly ssrc: number;
  readonly kind: "AUDIO" | "VIDEO";
  packets = 0;
  bytes = 0;
  /** Keyframe requests we sent upstream for this stream. */
  pliSent = 0;
  firSent = 0;
  /** NACK packets werift's receiver sent for this stream (copied in by the transport). */
  nackSent = 0;
  #clockRate: number;
  #baseSeq = 0;
  #maxSeq = 0;
  #cycles = 0;
  #jitter = 0;
  #lastTransit: number | undefined;
  #expectedPrior = 0;
  #receivedPrior = 0;
  #fractionLost = 0;

  constructor(ssrc: number, kind: "AUDIO" | "VIDEO", clockRate: number) {
    this.ssrc = ssrc;
    this.kind = kind;
    this.#clockRate = clockRate;
  }

  /** Counts one packet. `arrivalMs` is a monotonic wall clock (performance.now()). */
  add(seq: number, timestamp: number, bytes: number, clockRate: number, arrivalMs: number): void {
    this.#clockRate = clockRate;
    if (this.packets === 0) {
      this.#baseSeq = seq;
      this.#maxSeq = seq;
    } else {
      const delta = (seq - this.#maxSeq + SEQ_MOD) % SEQ_MOD;
      if (delta !== 0 && delta < 0x8000) {
        if (seq < this.#maxSeq) {
          this.#cycles += SEQ_MOD; // wrapped
        }
        this.#maxSeq = seq;
      }
    }
    this.packets++;
    this.bytes += bytes;
    // Jitter (RFC 3550 A.8), in timestamp units; transit differences use the arrival in the same units.
    const arrival = (arrivalMs * clockRate) / 1000;
    const transit = arrival - timestamp;
    if (this.#lastTransit !== undefined) {
      let d = Math.abs(transit - this.#lastTransit);
      if (d > 0x8000_0000) {
        d = 0; // timestamp wrap or a source jump: ignore this sample
      }
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#lastTransit = transit;
  }

  get extendedMaxSeq(): number {
    return this.#cycles + this.#maxSeq;
  }

  get expected(): number {
    return this.packets === 0 ? 0 : this.extendedMaxSeq - this.#baseSeq + 1;
  }

  /** Cumulative packets lost (may be negative with duplicates, as in RFC 3550). */
  get packetsLost(): number {
    return this.expected - this.packets;
  }

  /** Interarrival jitter in timestamp units, as an RTCP report block carries it (RFC 3550 §6.4.1). */
  get jitterTimestampUnits(): number {
    return Math.floor(this.#jitter);
  }

  /** Jitter in seconds, the unit of W3C and Kurento stats. */
  get jitterSeconds(): number {
    return this.#clockRate > 0 ? this.#jitter / this.#clockRate : 0;
  }

  /**
   * Loss fraction (0..1) over the interval since the previous call; the first call covers everything so far.
   * Called once per getStats, like a receiver report interval.
   */
  takeFractionLost(): number {
    const expected = this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.packets - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.packets;
    const lostInterval = expectedInterval - receivedInterval;
    if (expectedInterval > 0) {
      this.#fractionLost = lostInterval <= 0 ? 0 : lostInterval / expectedInterval;
    }
    return this.#fractionLost;
  }
}

export class OutboundCounters {
  readonly ssrc: number;
  readonly kind: "AUDIO" | "VIDEO";
  packets = 0;
  bytes = 0;
  /** Feedback received from the peer about this stream. */
  pliReceived = 0;
  firReceived = 0;
  nackReceived = 0;
  /** Last REMB the peer sent (bps), 0 if none. */
  remb = 0;
  /** From the peer's receiver reports. */
  packetsLost = 0;
  fractionLost = 0;
  /** Seconds, from werift's SR/RR exchange; 0 until measured. */
  roundTripTime = 0;
  /** Packets dropped because their codec is not negotiated with the peer (no transcoding here). */
  dropped = 0;

  constructor(ssrc: number, kind: "AUDIO" | "VIDEO") {
    this.ssrc = ssrc;
    this.kind = kind;
  }
}
