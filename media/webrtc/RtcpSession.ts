/**
 * The RTCP duties of a WebRTC endpoint whose RTP bypasses werift's sender and receiver (see FastRtpPath):
 *
 * - sender reports (RFC 3550 §6.4.1) for the streams we send, with SDES CNAME, once a second;
 * - receiver report blocks (§6.4.2) for the streams we receive, with LSR/DLSR from the peer's SRs;
 * - generic NACKs (RFC 4585 §6.2.1) for lost video packets, retried a few times, so the sender retransmits;
 * - answers to the peer's NACKs from a cache of the protected packets we sent (no RTX: the original packet is sent
 *   again, which SRTP accepts because the receiver never saw that index);
 * - round-trip time from the peer's report blocks about our streams (§6.4.1, "A = arrival − LSR − DLSR").
 *
 * RTCP is a few packets per second per stream, so werift's RTCP classes serialise it; the per-packet hooks here are
 * O(1) and allocate nothing except when a loss is detected.
 */
import {
  GenericNack,
  RtcpReceiverInfo,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  type RtcpPacket,
} from "werift";
import type { InboundCounters } from "../rtp/RtpCounters.js";

/** Seconds between 1900-01-01 (NTP epoch) and 1970-01-01. */
const NTP_EPOCH_OFFSET = 2_208_988_800;
/** Packets kept per video stream for retransmission. */
const NACK_CACHE = 1024;
/** A lost packet is asked for at most this many times, and not after this age. */
const NACK_MAX_TRIES = 3;
const NACK_MAX_AGE_MS = 1000;
/** At most this many sequence numbers are tracked as missing per stream (a burst beyond is a new start). */
const NACK_MAX_MISSING = 256;

interface SendStream {
  ssrc: number;
  clockRate: number;
  packets: number;
  octets: number;
  lastTimestamp: number;
  lastSentMs: number;
  /** Protected packets by sequence number (video only). */
  cache: (Buffer | undefined)[] | undefined;
  cacheSeq: Int32Array | undefined;
}

interface Missing {
  firstMs: number;
  lastTryMs: number;
  tries: number;
}

interface RecvStream {
  ssrc: number;
  video: boolean;
  highest: number;
  started: boolean;
  missing: Map<number, Missing>;
  /** Middle 32 bits of the NTP time of the peer's last SR, and when it arrived. */
  lsr: number;
  lsrArrivalMs: number;
  expectedPrior: number;
  receivedPrior: number;
}

/** NTP timestamp of `ms` (Unix epoch milliseconds) as a 64-bit value. */
function ntp64(ms: number): bigint {
  const sec = Math.floor(ms / 1000);
  const frac = Math.floor(((ms - sec * 1000) / 1000) * 0x1_0000_0000);
  return (BigInt(sec + NTP_EPOCH_OFFSET) << 32n) | BigInt(frac);
}

/** Middle 32 bits of the NTP timestamp of `ms` (the unit of LSR, in 1/65536 s). */
function ntpMiddle(ms: number): number {
  return Number((ntp64(ms) >> 16n) & 0xffff_ffffn);
}

export interface RtcpSessionHooks {
  /** Sends compound RTCP through SRTCP. */
  sendRtcp(packets: RtcpPacket[]): void;
  /** Sends an already protected RTP packet again. */
  resend(packet: Buffer): void;
  /** RFC 3550 counters of a received stream, for its report block. */
  inbound(ssrc: number): InboundCounters | undefined;
  /** One NACK packet was sent asking `ssrc` to retransmit. */
  nackSent(ssrc: number): void;
  cname(): string;
}

export class RtcpSession {
  readonly #hooks: RtcpSessionHooks;
  readonly #send = new Map<number, SendStream>();
  readonly #recv = new Map<number, RecvStream>();
  /** NTP middle bits of our SRs → wall time sent, for RTT (a few entries). */
  readonly #srSent = new Map<number, number>();
  /** Round-trip time (s) per our SSRC, from the peer's report blocks. */
  readonly #rtt = new Map<number, number>();
  /** Sender SSRC for reports when we send nothing. */
  readonly #reporterSsrc: number;

  constructor(hooks: RtcpSessionHooks, reporterSsrc: number) {
    this.#hooks = hooks;
    this.#reporterSsrc = reporterSsrc >>> 0;
  }

  // ------------------------------------------------------------------------------------ per packet

  /** Bookkeeping for one packet we sent; `protectedPacket` is cached for NACKs when `video`. */
  onSent(
    ssrc: number,
    clockRate: number,
    seq: number,
    timestamp: number,
    payloadBytes: number,
    video: boolean,
    protectedPacket: Buffer,
  ): void {
    let s = this.#send.get(ssrc);
    if (s === undefined) {
      s = {
        ssrc,
        clockRate,
        packets: 0,
        octets: 0,
        lastTimestamp: 0,
        lastSentMs: 0,
        cache: video ? new Array<Buffer | undefined>(NACK_CACHE) : undefined,
        cacheSeq: video ? new Int32Array(NACK_CACHE).fill(-1) : undefined,
      };
      this.#send.set(ssrc, s);
    }
    s.clockRate = clockRate;
    s.packets++;
    s.octets += payloadBytes;
    s.lastTimestamp = timestamp;
    s.lastSentMs = performance.now();
    if (s.cache !== undefined && s.cacheSeq !== undefined) {
      const slot = seq % NACK_CACHE;
      s.cache[slot] = protectedPacket;
      s.cacheSeq[slot] = seq;
    }
  }

  /** Loss tracking for one received packet; sends NACKs for new gaps in video streams. */
  onReceived(ssrc: number, seq: number, video: boolean): void {
    let r = this.#recv.get(ssrc);
    if (r === undefined) {
      r = {
        ssrc,
        video,
        highest: seq,
        started: false,
        missing: new Map(),
        lsr: 0,
        lsrArrivalMs: 0,
        expectedPrior: 0,
        receivedPrior: 0,
      };
      this.#recv.set(ssrc, r);
    }
    if (!r.video) {
      return;
    }
    if (!r.started) {
      r.started = true;
      r.highest = seq;
      return;
    }
    const d = (seq - r.highest) & 0xffff;
    if (d === 0) {
      return;
    }
    if (d < 0x8000) {
      if (d > 1 && d <= NACK_MAX_MISSING) {
        const now = performance.now();
        for (let s = (r.highest + 1) & 0xffff; s !== seq; s = (s + 1) & 0xffff) {
          r.missing.set(s, { firstMs: now, lastTryMs: 0, tries: 0 });
        }
        while (r.missing.size > NACK_MAX_MISSING) {
          const first = r.missing.keys().next().value;
          if (first === undefined) {
            break;
          }
          r.missing.delete(first);
        }
      }
      r.highest = seq;
    } else if (r.missing.size > 0) {
      r.missing.delete(seq); // A late or retransmitted packet.
    }
    if (r.missing.size > 0) {
      this.#nack(r);
    }
  }

  #nack(r: RecvStream): void {
    const now = performance.now();
    const retryMs = Math.max(30, (this.#maxRtt() * 1000 * 3) / 2);
    const lost: number[] = [];
    for (const [seq, m] of r.missing) {
      if (now - m.firstMs > NACK_MAX_AGE_MS || m.tries >= NACK_MAX_TRIES) {
        r.missing.delete(seq);
      } else if (now - m.lastTryMs >= retryMs) {
        m.tries++;
        m.lastTryMs = now;
        lost.push(seq);
      }
    }
    if (lost.length === 0) {
      return;
    }
    const feedback = new GenericNack({ senderSsrc: this.#reporterSsrc, mediaSourceSsrc: r.ssrc, lost });
    this.#hooks.sendRtcp([new RtcpTransportLayerFeedback({ feedback })]);
    this.#hooks.nackSent(r.ssrc);
  }

  // ------------------------------------------------------------------------------------ peer RTCP

  /** The peer sent a sender report about its stream `ssrc`. */
  onSenderReport(ssrc: number, ntpTimestamp: bigint): void {
    const r = this.#recv.get(ssrc);
    if (r !== undefined) {
      r.lsr = Number((ntpTimestamp >> 16n) & 0xffff_ffffn);
      r.lsrArrivalMs = performance.now();
    }
  }

  /** A report block about our stream `ssrc`: computes the round-trip time when it echoes one of our SRs. */
  onReportBlock(ssrc: number, lsr: number, dlsr: number): void {
    if (lsr === 0 || !this.#srSent.has(lsr)) {
      return;
    }
    const arrival = ntpMiddle(Date.now());
    const rtt = ((arrival - lsr - dlsr) >>> 0) / 65536;
    if (rtt < 60) {
      this.#rtt.set(ssrc, rtt);
    }
  }

  /** The peer asked us to retransmit `lost` on our stream `ssrc`. Returns how many packets were resent. */
  onNack(ssrc: number, lost: readonly number[]): number {
    const s = this.#send.get(ssrc);
    if (s?.cache === undefined || s.cacheSeq === undefined) {
      return 0;
    }
    let n = 0;
    for (const seq of lost) {
      // werift's NACK parser does not wrap PID + BLP offsets at 2^16 (65535 + 1 comes out as 65536).
      const s16 = seq & 0xffff;
      const slot = s16 % NACK_CACHE;
      const p = s.cache[slot];
      if (p !== undefined && s.cacheSeq[slot] === s16) {
        this.#hooks.resend(p);
        n++;
      }
    }
    return n;
  }

  roundTripTime(ssrc: number): number | undefined {
    return this.#rtt.get(ssrc);
  }

  #maxRtt(): number {
    let m = 0;
    for (const v of this.#rtt.values()) {
      m = Math.max(m, v);
    }
    return m;
  }

  // ------------------------------------------------------------------------------------ reports

  /** Builds and sends this interval's compound RTCP: SRs for what we send, report blocks, SDES CNAME. */
  report(): void {
    const nowMs = Date.now();
    const perf = performance.now();
    const blocks = this.#reportBlocks(perf);
    const packets: RtcpPacket[] = [];
    let first = true;
    for (const s of this.#send.values()) {
      if (s.packets === 0) {
        continue;
      }
      const ntp = ntp64(nowMs);
      const rtpTs = (s.lastTimestamp + Math.round(((perf - s.lastSentMs) * s.clockRate) / 1000)) >>> 0;
      const mid = Number((ntp >> 16n) & 0xffff_ffffn);
      this.#srSent.set(mid, nowMs);
      packets.push(
        new RtcpSrPacket({
          ssrc: s.ssrc,
          senderInfo: new RtcpSenderInfo({
            ntpTimestamp: ntp,
            rtpTimestamp: rtpTs,
            packetCount: s.packets >>> 0,
            octetCount: s.octets >>> 0,
          }),
          reports: first ? blocks : [],
        }),
      );
      first = false;
    }
    while (this.#srSent.size > 8) {
      const oldest = this.#srSent.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.#srSent.delete(oldest);
    }
    if (packets.length === 0) {
      if (blocks.length === 0) {
        return;
      }
      packets.push(new RtcpRrPacket({ ssrc: this.#reporterSsrc, reports: blocks }));
    }
    // One CNAME chunk per source we report as (RFC 3550 §6.5: every SSRC of a participant carries its CNAME).
    const sources = packets.map((p) => (p instanceof RtcpSrPacket ? p.ssrc : this.#reporterSsrc));
    const cname = this.#hooks.cname();
    packets.push(
      new RtcpSourceDescriptionPacket({
        chunks: sources.map(
          (source) =>
            new SourceDescriptionChunk({ source, items: [new SourceDescriptionItem({ type: 1, text: cname })] }),
        ),
      }),
    );
    this.#hooks.sendRtcp(packets);
  }

  #reportBlocks(perf: number): RtcpReceiverInfo[] {
    const blocks: RtcpReceiverInfo[] = [];
    for (const r of this.#recv.values()) {
      const c = this.#hooks.inbound(r.ssrc);
      if (c === undefined || c.packets === 0 || blocks.length >= 31) {
        continue;
      }
      const expected = c.expected;
      const expectedInterval = expected - r.expectedPrior;
      const receivedInterval = c.packets - r.receivedPrior;
      r.expectedPrior = expected;
      r.receivedPrior = c.packets;
      const lostInterval = expectedInterval - receivedInterval;
      const fraction =
        expectedInterval <= 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval * 256) / expectedInterval);
      const lost = Math.max(0, Math.min(0x7f_ffff, c.packetsLost)); // duplicates can make it negative
      blocks.push(
        new RtcpReceiverInfo({
          ssrc: r.ssrc,
          fractionLost: Math.min(255, fraction),
          packetsLost: lost,
          highestSequence: c.extendedMaxSeq >>> 0,
          jitter: c.jitterTimestampUnits >>> 0,
          lsr: r.lsr,
          dlsr: r.lsr === 0 ? 0 : Math.floor(((perf - r.lsrArrivalMs) / 1000) * 65536) >>> 0,
        }),
      );
    }
    return blocks;
  }
}
