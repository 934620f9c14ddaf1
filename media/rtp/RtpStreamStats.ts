/**
 * The one RFC 3550 statistics model of Korus, for every endpoint: one {@link RecvStreamStats} per SSRC we receive
 * and one {@link SendStreamStats} per SSRC we send (mediasoup's RtpStreamRecv / RtpStreamSend). getStats
 * (kurentoStats.ts), the RTCP reports (RtcpSession.ts) and the CDR quality figures read them.
 *
 * {@link RecvStreamStats}:
 * - sequence validation and extended highest sequence number with wrap counting (Appendix A.1: MAX_DROPOUT 3000,
 *   MAX_MISORDER 100; a big jump is accepted only when the next packet confirms it, which counts a reset);
 * - cumulative loss and the fraction lost per interval (A.3), for the report blocks and for getStats;
 * - interarrival jitter (A.8), in timestamp units;
 * - LSR/DLSR bookkeeping for the report blocks we send (§6.4.1);
 * - anomaly counters: duplicates, sequence resets, wraps and timestamp jumps (a timestamp that moved more than
 *   {@link TIMESTAMP_JUMP_SECONDS} away from what the arrival time predicts).
 *
 * {@link SendStreamStats}: packets and octets for our SR, and what the peer's RTCP says about our stream: loss,
 * jitter, the round-trip time (computed by the RTCP session from LSR/DLSR) and the feedback it sent.
 *
 * Per packet: a few integer and float operations on fields, no allocation. Derived values (loss, fraction,
 * report blocks) are computed when a report or getStats asks.
 */
import type { SenderClock } from "../core/types.js";
import type { ReportBlock } from "./Rtcp.js";
import { RTP_TOTALS, type RtpKindTotals } from "./rtpTotals.js";

const SEQ_MOD = 0x1_0000;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
/** A timestamp further than this from the arrival-time prediction counts as a jump (and restarts jitter). */
export const TIMESTAMP_JUMP_SECONDS = 10;

export type StreamKind = "AUDIO" | "VIDEO";

/** What {@link RecvStreamStats.update} made of a packet. */
export type SeqVerdict = "ok" | "duplicate" | "reset" | "jump-pending";

/** Keyframe requests (PLI, FIR) and NACK packets about one stream. */
export interface FeedbackCounts {
  pli: number;
  fir: number;
  nack: number;
}

/** What the two directions share: identity, clock, packet and payload-octet counts, feedback. */
abstract class RtpStreamStats {
  readonly ssrc: number;
  readonly kind: StreamKind;
  clockRate: number;
  packets = 0;
  /** Payload octets (RFC 3550 §6.4.1 sender's octet count). */
  bytes = 0;
  /**
   * Feedback about this stream, Kurento's firCount/pliCount/nackCount: what *we* sent about a stream we receive,
   * what the peer sent about a stream we send.
   */
  readonly feedback: FeedbackCounts = { pli: 0, fir: 0, nack: 0 };

  constructor(ssrc: number, kind: StreamKind, clockRate: number) {
    this.ssrc = ssrc >>> 0;
    this.kind = kind;
    this.clockRate = clockRate;
  }
}

/** Expected and received counts at the start of an interval (A.3). */
interface Priors {
  expected: number;
  received: number;
  fraction: number;
}

export class RecvStreamStats extends RtpStreamStats {
  /** The worker's totals for this kind (metrics): one field increment per packet, chosen once here. */
  readonly #totals: RtpKindTotals = this.kind === "AUDIO" ? RTP_TOTALS.audioIn : RTP_TOTALS.videoIn;
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
  #initialised = false;
  /** Interval starts: one for our report blocks, one for getStats. */
  readonly #report: Priors = { expected: 0, received: 0, fraction: 0 };
  readonly #stats: Priors = { expected: 0, received: 0, fraction: 0 };
  // A.8 state
  #jitter = 0;
  #hasTransit = false;
  #lastTransit = 0;
  // SR bookkeeping
  #lastSr = 0;
  #lastSrArrivalMs = 0;
  /** The sender's NTP ↔ RTP mapping from its last SR; the endpoint puts it on this stream's packets. */
  readonly sender: SenderClock = { reports: 0, ntpMs: 0, rtpTimestamp: 0 };

  #initSeq(seq: number): void {
    this.#baseSeq = seq;
    this.#maxSeq = seq;
    this.#badSeq = SEQ_MOD + 1;
    this.#cycles = 0;
    this.#received = 0;
    this.#report.expected = this.#report.received = 0;
    this.#stats.expected = this.#stats.received = 0;
  }

  /**
   * Counts one packet (RFC 3550 A.1 and A.8). `arrivalMs` is a monotonic clock (performance.now()).
   * @returns "jump-pending" for the first packet after a big sequence jump: the caller should drop it unless the
   *   next one confirms the new numbering ("reset").
   */
  update(seq: number, timestamp: number, payloadBytes: number, arrivalMs: number): SeqVerdict {
    const udelta = (seq - this.#maxSeq) & 0xffff;
    if (udelta === 0 || udelta >= MAX_DROPOUT || !this.#initialised) {
      return this.#unusual(seq, udelta, timestamp, payloadBytes, arrivalMs);
    }
    // In order, possibly after a gap: the common case.
    if (seq < this.#maxSeq) {
      this.#cycles += SEQ_MOD;
      this.seqWraps++;
    }
    if (udelta > 1) {
      this.#totals.lost += udelta - 1;
    }
    this.#maxSeq = seq;
    this.#count(timestamp, payloadBytes, arrivalMs);
    return "ok";
  }

  /** The first packet, a duplicate, a late one, or a jump (A.1). */
  #unusual(seq: number, udelta: number, timestamp: number, payloadBytes: number, arrivalMs: number): SeqVerdict {
    let verdict: SeqVerdict = "ok";
    if (!this.#initialised) {
      this.#initialised = true;
      this.#initSeq(seq);
    } else if (udelta === 0) {
      this.duplicates++;
      verdict = "duplicate";
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
      if (seq !== this.#badSeq) {
        this.#badSeq = (seq + 1) & 0xffff;
        return "jump-pending";
      }
      // Two sequential packets after the jump: the source restarted its numbering (A.1).
      this.seqResets++;
      this.#initSeq(seq);
      this.#hasTransit = false;
      verdict = "reset";
    }
    // else: a late or reordered packet within MAX_MISORDER: counted, max unchanged.
    this.#count(timestamp, payloadBytes, arrivalMs);
    return verdict;
  }

  #count(timestamp: number, payloadBytes: number, arrivalMs: number): void {
    this.#received++;
    this.packets++;
    this.#totals.packets++;
    this.bytes += payloadBytes;
    this.#jitterUpdate(timestamp, arrivalMs);
  }

  /**
   * A.8 with the arrival time in timestamp units. The transit difference D is also the timestamp jump check: D is
   * the RTP time elapsed minus the wall time elapsed, so |D| over {@link TIMESTAMP_JUMP_SECONDS} is a jump, which
   * restarts the jitter from this packet instead of feeding it. D is taken modulo 2^32 (the RTP timestamp wraps);
   * plain float arithmetic, as a 32-bit truncation of a large arrival time would leave V8's fast path.
   */
  #jitterUpdate(timestamp: number, arrivalMs: number): void {
    const rate = this.clockRate;
    const transit = arrivalMs * rate * 0.001 - timestamp;
    if (this.#hasTransit) {
      let d = transit - this.#lastTransit;
      if (d > 0x8000_0000) {
        d -= 0x1_0000_0000;
      } else if (d < -0x8000_0000) {
        d += 0x1_0000_0000;
      }
      d = d < 0 ? -d : d;
      if (d > TIMESTAMP_JUMP_SECONDS * rate) {
        this.timestampJumps++;
      } else {
        this.#jitter += (d - this.#jitter) / 16;
      }
    }
    this.#hasTransit = true;
    this.#lastTransit = transit;
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

  /** Interarrival jitter in timestamp units (fractional). */
  get jitter(): number {
    return this.#jitter;
  }

  /** Interarrival jitter as a report block carries it: whole timestamp units. */
  get jitterTimestampUnits(): number {
    return Math.floor(this.#jitter);
  }

  /** Jitter in seconds, the unit of W3C and Kurento stats. */
  get jitterSeconds(): number {
    return this.clockRate > 0 ? this.#jitter / this.clockRate : 0;
  }

  /** Fraction lost (0..1) carried by the last {@link reportBlock}. */
  get fractionLost(): number {
    return this.#report.fraction / 256;
  }

  /**
   * Loss fraction (0..1) over the interval since the previous call, for getStats; the first call covers everything
   * so far, and a call with no new packet repeats the previous value.
   */
  takeFractionLost(): number {
    const f = this.#nextInterval(this.#stats);
    if (f >= 0) {
      this.#stats.fraction = f;
    }
    return this.#stats.fraction;
  }

  /** Moves `p` to now: the fraction (0..1) lost since it was last moved, or -1 when no packet was expected. */
  #nextInterval(p: Priors): number {
    const expected = this.expected;
    const expectedInterval = expected - p.expected;
    const lostInterval = expectedInterval - (this.#received - p.received);
    p.expected = expected;
    p.received = this.#received;
    return expectedInterval <= 0 ? -1 : Math.max(0, lostInterval) / expectedInterval;
  }

  /**
   * Records an SR from this source: its NTP time (middle 32 bits) becomes the LSR of our next report blocks, and,
   * when given, its NTP time (ms since the Unix epoch) and RTP timestamp become the stream's {@link sender} clock.
   */
  onSenderReport(ntpMiddle32: number, arrivalMs: number, ntpMs?: number, rtpTimestamp?: number): void {
    this.#lastSr = ntpMiddle32 >>> 0;
    this.#lastSrArrivalMs = arrivalMs;
    if (ntpMs !== undefined && rtpTimestamp !== undefined && Number.isFinite(ntpMs)) {
      this.sender.ntpMs = ntpMs;
      this.sender.rtpTimestamp = rtpTimestamp >>> 0;
      this.sender.reports++;
    }
  }

  /**
   * A report block about this source for our next SR/RR (A.3: the fraction covers the interval since the
   * previous call). `nowMs` is the same monotonic clock as the arrivals. The cumulative loss is sent as 0 when
   * duplicates made it negative.
   */
  reportBlock(nowMs: number): ReportBlock {
    const p = this.#report;
    p.fraction = Math.min(255, Math.floor(Math.max(0, this.#nextInterval(p)) * 256));
    const dlsr = this.#lastSr === 0 ? 0 : Math.floor(((nowMs - this.#lastSrArrivalMs) / 1000) * 65536);
    return {
      ssrc: this.ssrc,
      fractionLost: p.fraction,
      cumulativeLost: Math.max(0, this.cumulativeLost),
      extendedHighestSeq: this.extendedHighestSeq >>> 0,
      jitter: this.jitterTimestampUnits,
      lastSr: this.#lastSr,
      delaySinceLastSr: dlsr >>> 0,
    };
  }
}

/** An SR of an SSRC not received yet, held for when its first packet arrives. */
interface EarlySr {
  ssrc: number;
  ntpMiddle32: number;
  arrivalMs: number;
  ntpMs: number;
  rtpTimestamp: number;
}

/** SRs held per receivers map: a few (senders send their first SR just before their first RTP packet). */
const MAX_EARLY_SRS = 4;
const earlySrs = new WeakMap<ReadonlyMap<number, RecvStreamStats>, EarlySr[]>();

/**
 * The peer's SR about `ssrc` when `receivers` (the streams of one RTCP session) has no such stream yet: held (the
 * last {@link MAX_EARLY_SRS} per map) until {@link adoptEarlySenderReport} is called for the stream's statistics.
 */
export function holdEarlySenderReport(
  receivers: ReadonlyMap<number, RecvStreamStats>,
  ssrc: number,
  ntpMiddle32: number,
  arrivalMs: number,
  ntpMs: number,
  rtpTimestamp: number,
): void {
  let held = earlySrs.get(receivers);
  if (held === undefined) {
    held = [];
    earlySrs.set(receivers, held);
  }
  const i = held.findIndex((e) => e.ssrc === ssrc >>> 0);
  if (i >= 0) {
    held.splice(i, 1);
  } else if (held.length >= MAX_EARLY_SRS) {
    held.shift();
  }
  held.push({ ssrc: ssrc >>> 0, ntpMiddle32, arrivalMs, ntpMs, rtpTimestamp });
}

/** A new stream of `receivers`: an SR held for its SSRC is applied to it (runs on a new SSRC only). */
export function adoptEarlySenderReport(receivers: ReadonlyMap<number, RecvStreamStats>, st: RecvStreamStats): void {
  const held = earlySrs.get(receivers);
  const i = held?.findIndex((e) => e.ssrc === st.ssrc) ?? -1;
  const e = held?.[i];
  if (held !== undefined && e !== undefined) {
    held.splice(i, 1);
    st.onSenderReport(e.ntpMiddle32, e.arrivalMs, e.ntpMs, e.rtpTimestamp);
  }
}

export class SendStreamStats extends RtpStreamStats {
  /** The worker's totals for this kind (metrics), chosen once here. */
  readonly #totals: RtpKindTotals = this.kind === "AUDIO" ? RTP_TOTALS.audioOut : RTP_TOTALS.videoOut;
  /** The peer's last report block about this stream (loss, jitter), undefined before the first. */
  report: ReportBlock | undefined;
  /** Seconds, from LSR/DLSR (the RTCP session measures it); undefined until measured. */
  roundTripTime: number | undefined;
  /** Last REMB the peer sent (bps), 0 if none. */
  remb = 0;
  /** Packets dropped because their codec is not negotiated with the peer (no transcoding there). */
  dropped = 0;
  #lastTs = 0;
  #lastSendMs = 0;

  /** Counts a sent packet: its RTP timestamp as on the wire, payload size and a monotonic send time. */
  sent(timestamp: number, payloadBytes: number, nowMs: number): void {
    this.packets++;
    this.#totals.packets++;
    this.bytes += payloadBytes;
    this.#lastTs = timestamp;
    this.#lastSendMs = nowMs;
  }

  /** The RTP timestamp that corresponds to `nowMs` (extrapolated from the last packet sent), for an SR. */
  rtpTimestampAt(nowMs: number): number {
    return (this.#lastTs + Math.round(((nowMs - this.#lastSendMs) * this.clockRate) / 1000)) >>> 0;
  }

  /** The peer's loss fraction (0..1) of its last report interval. */
  get remoteFractionLost(): number {
    return (this.report?.fractionLost ?? 0) / 256;
  }

  /** The peer's cumulative loss count (signed, as it sent it). */
  get remoteCumulativeLost(): number {
    return this.report?.cumulativeLost ?? 0;
  }
}
