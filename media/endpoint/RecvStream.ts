/**
 * The receive side of one negotiated m-line of a plain-UDP endpoint: the payload types the peer sends on, the
 * RFC 3550 statistics of each remote SSRC (a per-SSRC receive stream; bounded against SSRC floods), and the stage
 * chain every packet from the peer runs through before it goes to the sinks (media/endpoint/stages/).
 */
import type { RtpMediaKind } from "../core/types.js";
import type { Logger, RateLimitedLog } from "../logger.js";
import type { RtpHeaderReader } from "../rtp/RtpPacket.js";
import { RecvStreamStats } from "../rtp/RtpStreamStats.js";
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
  readonly receivers = new Map<number, RecvStreamStats>();
  currentRemoteSsrc: number | undefined;
  readonly chain: StageChain;
  readonly #owner: StreamOwner;
  /** The statistics of the last packet's SSRC: a stream has one SSRC at a time, so no Map lookup per packet. */
  #last: RecvStreamStats | undefined;

  constructor(kind: RtpMediaKind, owner: StreamOwner, chain: StageChain) {
    this.kind = kind;
    this.#owner = owner;
    this.chain = chain;
  }

  /**
   * Counts the packet `rd` just read (its SSRC's statistics, SSRC changes, sequence resets and wraps, timestamp
   * jumps).
   * @returns false while the packet is held back until the next one confirms a new numbering (RFC 3550 A.1).
   */
  count(rd: RtpHeaderReader, codec: StreamCodec, now: number): boolean {
    const o = this.#owner;
    const ssrc = rd.ssrc;
    let st = this.#last;
    if (st?.ssrc !== ssrc) {
      st = this.#lookup(ssrc, codec);
      this.#last = st;
    }
    this.currentRemoteSsrc = ssrc;
    st.clockRate = codec.clockRate;
    const resets = st.seqResets;
    const jumps = st.timestampJumps;
    const wraps = st.seqWraps;
    const verdict = st.update(rd.sequenceNumber, rd.timestamp, rd.payloadLength, now);
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

  /** The statistics of `ssrc`, created (and the oldest SSRC forgotten past the bound) if it is new. */
  #lookup(ssrc: number, codec: StreamCodec): RecvStreamStats {
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
      if (this.receivers.size >= MAX_REMOTE_SSRCS) {
        const oldest = this.receivers.keys().next();
        if (oldest.done !== true) {
          this.receivers.delete(oldest.value);
        }
      }
      st = new RecvStreamStats(ssrc, this.kind, codec.clockRate);
      this.receivers.set(ssrc, st);
    }
    return st;
  }
}
