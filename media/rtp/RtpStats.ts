/**
 * Per-stream RTP statistics as RFC 3550 defines them, for RtpEndpoint's getStats, its RTCP reports and, later,
 * CDR quality figures.
 *
 * {@link RtpReceiverStats} (one per remote SSRC):
 * - sequence validation and extended highest sequence number with wrap counting (Appendix A.1: MAX_DROPOUT 3000,
 *   MAX_MISORDER 100; a big jump is accepted only when the next packet confirms it, which counts a reset);
 * - cumulative loss and the fraction lost per report interval (A.3);
 * - interarrival jitter (A.8), in timestamp units;
 * - LSR/DLSR bookkeeping for the report blocks we send (§6.4.1);
 * - anomaly counters: duplicates, sequence resets, wraps and timestamp jumps (a timestamp that moved more than
 *   {@link TIMESTAMP_JUMP_SECONDS} away from what the arrival time predicts).
 *
 * {@link RtpSenderStats} (one per local SSRC): packets and octets for our SR, and what the peer's report blocks
 * say about our stream: loss, jitter and the round-trip time from LSR/DLSR (§6.4.1: RTT = A − LSR − DLSR).
 *
 * All updates are O(1) with plain numbers: no allocation per packet.
 */
import { ntpFromMs, ntpMiddle, type ReportBlock } from "./Rtcp.js";

const SEQ_MOD = 0x1_0000;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** A timestamp further than this from the arrival-time prediction counts as a jump (and restarts jitter). */
export const TIMESTAMP_JUMP_SECONDS = 10;

/** What {@link RtpReceiverStats.update} made of a packet. */
export type SeqVerdict = "ok" | "duplicate" | "reset" | "jump-pending";

export class RtpReceiverStats {
  readonly ssrc: number;
  clockRate: number;
  /** Every packet accepted from this SSRC (including duplicates and late ones). */
  packets = 0;
  /** Payload bytes of those packets. */
  bytes = 0;
  duplicates = 0;
  /** Times the sequence jumped by more than MAX_DROPOUT and the stream was re-synchronised (A.1 bad_seq). */
  seqResets = 0;
  /** Times the 16-bit sequence number wrapped. */
  seqWraps = 0;
  timestampJumps = 0;
  // A.1 state
  #baseSeq = 0;
  #maxSeq = 0;
  #badSeq = SEQ_MOD + 1;
  #cycles = 0;
  #received = 0;
  #expectedPrior = 0;
  #receivedPrior = 0;
  // A.8 state
  #jitter = 0;
  #lastTransit: number | undefined;
  #lastTs = 0;
  #lastArrivalMs = 0;
  // SR bookkeeping
  #lastSr = 0;
  #lastSrArrivalMs = 0;
  #initialised = false;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.clockRate = clockRate;
  }

  #initSeq(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = SEQ_MOD + 1;
    this.#cycles = 0;
    this.#received = 0;
    this.#expectedPrior = 0;
    this.#receivedPrior = 0;
  }

  /**
   * Counts one packet (RFC 3550 A.1 and A.8). `arrivalMs` is a monotonic clock (performance.now()).
   * @returns "jump-pending" for the first packet after a big sequence jump: the caller should drop it unless the
   *   next one confirms the new numbering ("reset").
   */
  update(seq: number, timestamp: number, payloadBytes: number, arrivalMs: number): SeqVerdict {
    let verdict: SeqVerdict = "ok";
    if (!this.#initialised) {
      this.#initialised = true;
      this.#initSeq(seq);
    } else {
      const udelta = (seq - this.#maxSeq + SEQ_MOD) % SEQ_MOD;
      if (udelta === 0) {
        this.duplicates++;
        verdict = "duplicate";
      } else if (udelta < MAX_DROPOUT) {
        if (seq < this.#maxSeq) {
          this.#cycles += SEQ_MOD;
          this.seqWraps++;
        }
        this.#maxSeq = seq;
      } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
        if (seq === this.#badSeq) {
          // Two sequential packets after the jump: the source restarted its numbering (A.1).
          this.seqResets++;
          this.#initSeq(seq);
          this.#lastTransit = undefined;
          verdict = "reset";
        } else {
          this.#badSeq = (seq + 1) % SEQ_MOD;
          return "jump-pending";
        }
      }
      // else: a late or reordered packet within MAX_MISORDER: counted, max unchanged.
    }
    this.#received++;
    this.packets++;
    this.bytes += payloadBytes;
    this.#jitterUpdate(timestamp, arrivalMs);
    return verdict;
  }

  #jitterUpdate(timestamp: number, arrivalMs: number): void {
    const rate = this.clockRate;
    if (this.#lastTransit !== undefined) {
      // Timestamp jump check: elapsed RTP time vs elapsed wall time, in seconds (signed 32-bit RTP difference).
      const dTs = ((timestamp - this.#lastTs) | 0) / rate;
      const dWall = (arrivalMs - this.#lastArrivalMs) / 1000;
      if (Math.abs(dTs - dWall) > TIMESTAMP_JUMP_SECONDS) {
        this.timestampJumps++;
        this.#lastTransit = undefined;
      }
    }
    const arrivalTs = Math.floor((arrivalMs * rate) / 1000) % 0x1_0000_0000;
    const transit = (arrivalTs - timestamp) >>> 0;
    if (this.#lastTransit !== undefined) {
      const d = Math.abs((transit - this.#lastTransit) | 0);
      this.#jitter += (d - this.#jitter) / 16;
    }
    this.#lastTransit = transit;
    this.#lastTs = timestamp;
    this.#lastArrivalMs = arrivalMs;
  }

  get extendedHighestSeq(): number {
    return this.#cycles + this.#maxSeq;
  }

  get expected(): number {
    return this.#initialised ? this.extendedHighestSeq - this.#baseSeq + 1 : 0;
  }

  /** Cumulative loss since the last (re)synchronisation; negative with duplicates (RFC 3550 §6.4.1). */
  get cumulativeLost(): number {
    return this.expected - this.#received;
  }

  /** Interarrival jitter in timestamp units. */
  get jitter(): number {
    return this.#jitter;
  }

  get jitterSeconds(): number {
    return this.clockRate > 0 ? this.#jitter / this.clockRate : 0;
  }

  /** Fraction lost over the last report interval (0..1), the value the last {@link reportBlock} carried. */
  fractionLost = 0;

  /** Records an SR from this source: its NTP time becomes the LSR of our next report blocks. */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.#lastSr = ntpMiddle(ntpSeconds, ntpFraction);
    this.#lastSrArrivalMs = arrivalMs;
  }

  /**
   * A report block about this source for our next SR/RR (A.3: the fraction covers the interval since the
   * previous call). `nowMs` is the same monotonic clock as the arrivals.
   */
  reportBlock(nowMs: number): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.#expectedPrior;
    const receivedInterval = this.#received - this.#receivedPrior;
    this.#expectedPrior = expected;
    this.#receivedPrior = this.#received;
    const lostInterval = expectedInterval - receivedInterval;
    const fraction =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
    this.fractionLost = fraction / 256;
    const dlsr = this.#lastSr === 0 ? 0 : Math.floor(((nowMs - this.#lastSrArrivalMs) / 1000) * 65536);
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fraction),
      cumulativeLost: this.cumulativeLost,
      extendedHighestSeq: this.extendedHighestSeq >>> 0,
      jitter: Math.round(this.#jitter),
      lastSr: this.#lastSr,
      delaySinceLastSr: dlsr >>> 0,
    };
  }
}

export class RtpSenderStats {
  readonly ssrc: number;
  packets = 0;
  /** Payload octets (RFC 3550 §6.4.1 sender's octet count). */
  octets = 0;
  /** From the peer's report blocks about this stream. */
  remoteFractionLost = 0;
  remoteCumulativeLost = 0;
  remoteJitter = 0;
  /** Seconds; 0 until a report block with an LSR arrived. */
  roundTripTime = 0;
  #lastTs = 0;
  #lastSendMs = 0;
  clockRate: number;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.clockRate = clockRate;
  }

  /** Counts a sent packet. */
  sent(timestamp: number, payloadBytes: number, nowMs: number): void {
    this.packets++;
    this.octets += payloadBytes;
    this.#lastTs = timestamp;
    this.#lastSendMs = nowMs;
  }

  /** The RTP timestamp that corresponds to `nowMs` (extrapolated from the last packet sent), for an SR. */
  rtpTimestampAt(nowMs: number): number {
    return (this.#lastTs + Math.round(((nowMs - this.#lastSendMs) * this.clockRate) / 1000)) >>> 0;
  }

  /**
   * Applies a report block about our stream. `wallMs` is Date.now() at arrival: the RTT is the NTP middle word of
   * the arrival time minus LSR minus DLSR, in 1/65536 s (RFC 3550 §6.4.1, Figure 2).
   */
  onReportBlock(block: ReportBlock, wallMs: number): void {
    this.remoteFractionLost = block.fractionLost / 256;
    this.remoteCumulativeLost = block.cumulativeLost;
    this.remoteJitter = block.jitter;
    if (block.lastSr !== 0) {
      const [s, f] = ntpFromMs(wallMs);
      const rtt = (ntpMiddle(s, f) - block.lastSr - block.delaySinceLastSr) >>> 0;
      // An RTT above ~18 hours is a wrapped negative value (clock skew): ignore it.
      if (rtt < 0x8000_0000) {
        this.roundTripTime = rtt / 65536;
      }
    }
  }
}
