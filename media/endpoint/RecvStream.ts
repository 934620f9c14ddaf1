/**
 * The receive side of one media kind from one peer, for every endpoint: the RFC 3550 statistics of each remote
 * SSRC (a per-SSRC receive stream; bounded against SSRC floods), SSRC-change / sequence-reset / wrap /
 * timestamp-jump accounting, and the stage chain every packet from the peer runs through before it goes to the
 * sinks (media/endpoint/stages/). A UDP m-line also keeps here the payload types the peer sends on.
 *
 * WebRtcEndpoint has one per kind over its one BUNDLEd transport; SSRCs are unique across a BUNDLE group, so both
 * share one SSRC map (the RTCP session's receivers).
 */
import type { RtpMediaKind, SenderClock } from "../core/types.js";
import type { Logger, RateLimitedLog } from "../logger.js";
import type { RtpHeaderReader } from "../rtp/RtpPacket.js";
import { adoptEarlySenderReport, RecvStreamStats } from "../rtp/RtpStreamStats.js";
import type { StageChain } from "./stages/RtpStage.js";
import type { StreamCodec } from "./udpConfig.js";

/** Remote SSRCs tracked per stream; older ones are forgotten (bounded memory against SSRC floods). */
const MAX_REMOTE_SSRCS = 8;

/** Counters of bad input and anomalies, per endpoint (tests and logs read them). */
export interface RtpDiagnostics {
  malformedRtp: number;
  malformedRtcp: number;
  unknownPayloadType: number;
  srtpFailures: number;
  ssrcChanges: number;
  seqResets: number;
  /** 16-bit sequence wraps (normal in long calls; counted, logged at debug level). */
  seqWraps: number;
  timestampJumps: number;
  /** Packets from the pipeline not sent because the peer did not negotiate their codec. */
  droppedNoCodec: number;
  dtmfDigits: number;
}

export function newDiagnostics(): RtpDiagnostics {
  return {
    malformedRtp: 0,
    malformedRtcp: 0,
    unknownPayloadType: 0,
    srtpFailures: 0,
    ssrcChanges: 0,
    seqResets: 0,
    seqWraps: 0,
    timestampJumps: 0,
    droppedNoCodec: 0,
    dtmfDigits: 0,
  };
}

/** What a stream reports to, given once at construction. */
export interface StreamOwner {
  readonly elementId: string;
  readonly diagnostics: RtpDiagnostics;
  readonly log: RateLimitedLog;
  readonly logger: Logger;
}

export class RecvStream {
  readonly kind: RtpMediaKind;
  byRecvPt = new Map<number, StreamCodec>();
  /** The statistics per remote SSRC (shared by the streams of one BUNDLE group). */
  readonly receivers: Map<number, RecvStreamStats>;
  currentRemoteSsrc: number | undefined;
  readonly chain: StageChain;
  readonly #owner: StreamOwner;
  /** The last SSRC's statistics: consecutive packets of one stream skip the Map lookup. */
  #last: RecvStreamStats | undefined;
  /** The sender clock (RTCP SR mapping) of the last counted packet's SSRC: the endpoint puts it on the packet. */
  sender: SenderClock | undefined;

  constructor(
    kind: RtpMediaKind,
    owner: StreamOwner,
    chain: StageChain,
    receivers = new Map<number, RecvStreamStats>(),
  ) {
    this.kind = kind;
    this.#owner = owner;
    this.chain = chain;
    this.receivers = receivers;
  }

  /**
   * Counts the packet `rd` just read (its SSRC's statistics, SSRC changes, sequence resets and wraps, timestamp
   * jumps).
   * @returns false while the packet is held back until the next one confirms a new numbering (RFC 3550 A.1).
   */
  count(rd: RtpHeaderReader, codec: StreamCodec, now: number): boolean {
    return this.countPacket(rd.ssrc, rd.sequenceNumber, rd.timestamp, rd.payloadLength, codec.clockRate, now);
  }

  /** {@link count} from the header fields (a transport that parsed the packet itself, e.g. werift's). */
  countPacket(
    ssrc: number,
    seq: number,
    timestamp: number,
    payloadBytes: number,
    clockRate: number,
    now: number,
  ): boolean {
    const o = this.#owner;
    let st = this.#last;
    if (st?.ssrc !== ssrc >>> 0) {
      st = this.#lookup(ssrc, clockRate);
    }
    st.clockRate = clockRate;
    this.sender = st.sender;
    const resets = st.seqResets;
    const jumps = st.timestampJumps;
    const wraps = st.seqWraps;
    const verdict = st.update(seq, timestamp, payloadBytes, now);
    if (st.seqResets !== resets) {
      o.diagnostics.seqResets++;
      o.log.warn("seq-reset", "RTP sequence number jumped; stream re-synchronised", { elementId: o.elementId });
    }
    if (st.seqWraps !== wraps) {
      o.diagnostics.seqWraps++;
      o.logger.debug("RTP sequence number wrapped", { elementId: o.elementId, ssrc });
    }
    if (st.timestampJumps !== jumps) {
      o.diagnostics.timestampJumps++;
      o.log.warn("ts-jump", "RTP timestamp jumped", { elementId: o.elementId, ssrc });
    }
    return verdict !== "jump-pending";
  }

  /** The statistics of `ssrc` (made, and an SSRC change noted, the first time); becomes the current SSRC. */
  #lookup(ssrc: number, clockRate: number): RecvStreamStats {
    const o = this.#owner;
    let st = this.receivers.get(ssrc);
    if (st === undefined) {
      if (this.currentRemoteSsrc !== undefined) {
        o.diagnostics.ssrcChanges++;
        o.log.warn("ssrc-change", "the peer changed SSRC mid-stream", {
          elementId: o.elementId,
          from: this.currentRemoteSsrc,
          to: ssrc,
        });
      }
      this.#evictOldest();
      st = new RecvStreamStats(ssrc, this.kind, clockRate);
      this.receivers.set(ssrc, st);
      adoptEarlySenderReport(this.receivers, st); // its SR may have come just before its first packet
    }
    this.currentRemoteSsrc = ssrc;
    this.#last = st;
    return st;
  }

  /**
   * Forgets the oldest SSRC of this kind once {@link MAX_REMOTE_SSRCS} are tracked (a shared map holds the other
   * kind's too, which this stream leaves alone). Runs on a new SSRC only.
   */
  #evictOldest(): void {
    let n = 0;
    let oldest: number | undefined;
    for (const [ssrc, st] of this.receivers) {
      if (st.kind === this.kind) {
        n++;
        oldest ??= ssrc;
      }
    }
    if (n >= MAX_REMOTE_SSRCS && oldest !== undefined) {
      this.receivers.delete(oldest);
    }
  }
}
