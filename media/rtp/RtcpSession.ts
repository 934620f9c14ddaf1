/**
 * The one RTCP session of Korus (RFC 3550 §6, RFC 4585), used by RtpEndpoint (one per m-line: its own socket and
 * SSRC) and by WebRtcTransport (one per peer connection, BUNDLE). The owner gives it a transport callback that
 * protects (SRTCP) and sends a compound packet, and the statistics of its streams ({@link RecvStreamStats},
 * {@link SendStreamStats}); the session does the rest:
 *
 * - reports: an SR per stream we sent on (report blocks in the first), else an RR from the reporter SSRC, then
 *   SDES with a CNAME chunk per source, and a BYE on request (§6.1, §6.4, §6.5, §6.6);
 * - the peer's SR (LSR/DLSR for our blocks), its report blocks about our streams (loss, jitter, and the round-trip
 *   time when the LSR is one of our last SRs: A − LSR − DLSR, §6.4.1);
 * - the peer's feedback about our streams: PLI and FIR (counted, and the owner is asked for a keyframe), generic
 *   NACK (counted, and answered from a cache of the protected video packets we sent: the original packet is sent
 *   again, which SRTP accepts because the receiver never saw that index), REMB (the bitrate is kept);
 * - our feedback: generic NACKs for lost video packets, retried a few times; PLI or FIR on request.
 *
 * Timing stays with the owner's timer, which calls {@link report}: WebRtcTransport every second once its fast path
 * is up (as browsers do), RtpEndpoint every `rtcpIntervalMs` (default 5 s) randomised to 0.5–1.5× (RFC 3550
 * §6.3.5, §6.2) while NEGOTIATED, and once more with a BYE at release.
 *
 * Per media packet: {@link onSent} and {@link onReceived} are O(1) and allocate nothing except the first time a
 * video stream is seen and when a loss is detected. Everything else runs a few times a second.
 */
import { NackCache, NackGenerator } from "./nack.js";
import {
  buildBye,
  buildReceiverReport,
  buildSdes,
  buildSenderReport,
  cnameChunk,
  ntpFromMs,
  ntpMiddle,
  ntpToMs,
  parseRtcp,
  RTCP_PSFB,
  RTCP_RTPFB,
  type ReportBlock,
  type RtcpOther,
} from "./Rtcp.js";
import {
  buildFir,
  buildNack,
  buildPli,
  firTargets,
  FMT_FIR,
  FMT_NACK,
  FMT_PLI,
  nackLost,
  readRemb,
} from "./rtcpFeedback.js";
import { holdEarlySenderReport, type RecvStreamStats, type SendStreamStats } from "./RtpStreamStats.js";

/** SRs remembered for RTT (an echo of an older one is ignored). */
const SR_MEMORY = 8;
/** A round-trip time above this is clock skew or a stale echo: ignored. */
const MAX_RTT_SECONDS = 60;

export interface RtcpSessionHooks {
  /** Protects (SRTCP) and sends one compound RTCP packet. */
  send(packet: Buffer): void;
  cname(): string;
  /** The streams we receive, by SSRC: report blocks, and LSR from the peer's SRs. */
  receivers(): ReadonlyMap<number, RecvStreamStats>;
  /** The streams we send: SRs, and what the peer reports about them. */
  senders(): Iterable<SendStreamStats>;
  /** The peer asked for a keyframe (PLI or FIR) of our `kind` stream. */
  keyframeRequested?(kind: SendStreamStats["kind"]): void;
  /** Sends an already protected RTP packet again (a NACK answer). */
  resend?(packet: Buffer): void;
  /** One NACK packet was sent asking `ssrc` to retransmit. */
  nackSent?(ssrc: number): void;
}

export interface RtcpSessionOptions {
  /** Sender SSRC of RRs and feedback when we send nothing on the stream (RtpEndpoint: its own SSRC). */
  readonly reporterSsrc: number;
  /** Send feedback alone (RFC 5506 reduced size, WebRTC) instead of behind an empty RR (RFC 4585 §3.1). */
  readonly reducedSize: boolean;
  /** Send an RR (and SDES) even when there is nothing to report (RFC 3550: a participant reports periodically). */
  readonly reportWhenIdle: boolean;
}

export class RtcpSession {
  readonly #hooks: RtcpSessionHooks;
  readonly #opts: RtcpSessionOptions;
  /** Retransmission caches of our video streams, by SSRC. */
  readonly #caches = new Map<number, NackCache>();
  /** Loss tracking of the peer's video streams, by SSRC. */
  readonly #nacks = new Map<number, NackGenerator>();
  /** NTP middle bits of our last SRs (insertion order = age). */
  readonly #srSent = new Set<number>();
  #firSeq = 0;
  /** BYE packets the peer sent. */
  byeReceived = 0;

  constructor(hooks: RtcpSessionHooks, opts: RtcpSessionOptions) {
    this.#hooks = hooks;
    this.#opts = { ...opts, reporterSsrc: opts.reporterSsrc >>> 0 };
  }

  // ------------------------------------------------------------------------------------ per packet

  /** Counts one packet we sent; a video packet's protected bytes are kept for NACKs when given. */
  onSent(
    stats: SendStreamStats,
    seq: number,
    timestamp: number,
    payloadBytes: number,
    nowMs: number,
    protectedPacket: Buffer | undefined,
  ): void {
    stats.sent(timestamp, payloadBytes, nowMs);
    if (protectedPacket !== undefined && stats.kind === "VIDEO") {
      this.keepForNack(stats.ssrc, seq, protectedPacket);
    }
  }

  /** Keeps the protected bytes of video packet `seq` of our stream `ssrc` for NACK answers (counted elsewhere). */
  keepForNack(ssrc: number, seq: number, protectedPacket: Buffer): void {
    let c = this.#caches.get(ssrc >>> 0);
    if (c === undefined) {
      c = new NackCache();
      this.#caches.set(ssrc >>> 0, c);
    }
    c.put(seq, protectedPacket);
  }

  /** Loss tracking for one received packet; sends NACKs for new gaps in video streams. */
  onReceived(ssrc: number, seq: number, video: boolean): void {
    if (!video) {
      return;
    }
    let g = this.#nacks.get(ssrc);
    if (g === undefined) {
      g = new NackGenerator(ssrc);
      this.#nacks.set(ssrc, g);
    }
    if (g.onPacket(seq)) {
      this.#nack(g);
    }
  }

  #nack(g: NackGenerator): void {
    const lost = g.due(performance.now(), Math.max(30, this.#maxRtt() * 1500));
    if (lost.length > 0) {
      this.#sendFeedback(buildNack(this.#opts.reporterSsrc, g.ssrc, lost));
      this.#hooks.nackSent?.(g.ssrc);
    }
  }

  /** Asks the peer for a keyframe of its stream `mediaSsrc` with a PLI or a FIR. */
  requestKeyframe(mediaSsrc: number, how: "pli" | "fir"): void {
    const sender = this.#opts.reporterSsrc;
    if (how === "pli") {
      this.#sendFeedback(buildPli(sender, mediaSsrc));
    } else {
      this.#firSeq = (this.#firSeq + 1) & 0xff;
      this.#sendFeedback(buildFir(sender, mediaSsrc, this.#firSeq));
    }
  }

  #sendFeedback(packet: Buffer): void {
    if (this.#opts.reducedSize) {
      this.#hooks.send(packet);
    } else {
      this.#hooks.send(Buffer.concat([buildReceiverReport({ ssrc: this.#opts.reporterSsrc, reports: [] }), packet]));
    }
  }

  // ------------------------------------------------------------------------------------ peer RTCP

  /**
   * A plain (already unprotected) compound RTCP packet from the peer.
   * @throws RtcpParseError when it is malformed (nothing of it is applied then).
   */
  receive(plain: Uint8Array): void {
    const packets = parseRtcp(plain);
    for (const p of packets) {
      switch (p.type) {
        case "sr":
          this.onSenderReport(p.ssrc, p.ntpSeconds, p.ntpFraction, p.rtpTimestamp);
          p.reports.forEach((b) => this.onReportBlock(b));
          break;
        case "rr":
          p.reports.forEach((b) => this.onReportBlock(b));
          break;
        case "bye":
          this.byeReceived++;
          break;
        case "other":
          this.#onFeedback(p);
          break;
        default:
          break; // SDES: the CNAME is not used.
      }
    }
  }

  /** The peer sent a sender report about its stream `ssrc` (with its RTP timestamp: the sender clock of sinks). */
  onSenderReport(ssrc: number, ntpSeconds: number, ntpFraction: number, rtpTimestamp?: number): void {
    const receivers = this.#hooks.receivers();
    const middle = ntpMiddle(ntpSeconds, ntpFraction);
    const ntpMs = ntpToMs(ntpSeconds, ntpFraction);
    const st = receivers.get(ssrc);
    if (st !== undefined) {
      st.onSenderReport(middle, performance.now(), ntpMs, rtpTimestamp);
    } else if (rtpTimestamp !== undefined) {
      // Senders send their first SR just before their first RTP packet: held for when the stream appears.
      holdEarlySenderReport(receivers, ssrc, middle, performance.now(), ntpMs, rtpTimestamp);
    }
  }

  /** A report block: applied to our stream it is about, with the round-trip time when it echoes one of our SRs. */
  onReportBlock(block: ReportBlock): void {
    const s = this.#sender(block.ssrc);
    if (s === undefined) {
      return;
    }
    s.report = block;
    if (block.lastSr === 0 || !this.#srSent.has(block.lastSr)) {
      return;
    }
    const [sec, frac] = ntpFromMs(Date.now());
    const rtt = ((ntpMiddle(sec, frac) - block.lastSr - block.delaySinceLastSr) >>> 0) / 65536;
    if (rtt < MAX_RTT_SECONDS) {
      s.roundTripTime = rtt;
    }
  }

  #onFeedback(p: RtcpOther): void {
    if (p.packetType === RTCP_RTPFB && p.count === FMT_NACK) {
      const s = this.#sender(p.mediaSsrc);
      if (s !== undefined) {
        s.feedback.nack++;
      }
      this.onNack(p.mediaSsrc, nackLost(p));
    } else if (p.packetType === RTCP_PSFB && (p.count === FMT_PLI || p.count === FMT_FIR)) {
      const targets = p.count === FMT_PLI ? [p.mediaSsrc] : firTargets(p);
      let kind: SendStreamStats["kind"] = "VIDEO";
      for (const ssrc of targets) {
        const s = this.#sender(ssrc);
        if (s !== undefined) {
          kind = s.kind;
          if (p.count === FMT_PLI) {
            s.feedback.pli++;
          } else {
            s.feedback.fir++;
          }
        }
      }
      this.#hooks.keyframeRequested?.(kind);
    } else {
      const remb = readRemb(p);
      for (const ssrc of remb?.ssrcs ?? []) {
        const s = this.#sender(ssrc);
        if (s !== undefined && remb !== undefined) {
          s.remb = remb.bitrate;
        }
      }
    }
  }

  /** The peer asked us to retransmit `lost` on our stream `ssrc`. Returns how many packets were resent. */
  onNack(ssrc: number, lost: readonly number[]): number {
    const c = this.#caches.get(ssrc);
    const h = this.#hooks;
    if (c === undefined || h.resend === undefined) {
      return 0;
    }
    let n = 0;
    for (const seq of lost) {
      // & 0xffff: werift's NACK parser does not wrap PID + BLP offsets at 2^16 (65535 + 1 comes out as 65536).
      const p = c.get(seq & 0xffff);
      if (p !== undefined) {
        h.resend(p);
        n++;
      }
    }
    return n;
  }

  /** Round-trip time (s) of our stream `ssrc`, once a report block echoed one of our SRs. */
  roundTripTime(ssrc: number): number | undefined {
    const s = this.#sender(ssrc);
    return s?.roundTripTime;
  }

  #sender(ssrc: number): SendStreamStats | undefined {
    for (const s of this.#hooks.senders()) {
      if (s.ssrc === ssrc >>> 0) {
        return s;
      }
    }
    return undefined;
  }

  #maxRtt(): number {
    let m = 0;
    for (const s of this.#hooks.senders()) {
      m = Math.max(m, s.roundTripTime ?? 0);
    }
    return m;
  }

  // ------------------------------------------------------------------------------------ reports

  /** Builds and sends this interval's compound RTCP: SRs for what we send, report blocks, SDES CNAME, BYE. */
  report(bye = false): void {
    const wall = Date.now();
    const now = performance.now();
    const blocks: ReportBlock[] = [];
    for (const r of this.#hooks.receivers().values()) {
      if (r.packets > 0 && blocks.length < 31) {
        blocks.push(r.reportBlock(now));
      }
    }
    const parts: Buffer[] = [];
    const sources: number[] = [];
    for (const s of this.#hooks.senders()) {
      if (s.packets === 0) {
        continue;
      }
      const [ntpSeconds, ntpFraction] = ntpFromMs(wall);
      this.#rememberSr(ntpMiddle(ntpSeconds, ntpFraction));
      parts.push(
        buildSenderReport({
          ssrc: s.ssrc,
          ntpSeconds,
          ntpFraction,
          rtpTimestamp: s.rtpTimestampAt(now),
          packetCount: s.packets >>> 0,
          octetCount: s.bytes >>> 0,
          reports: parts.length === 0 ? blocks : [],
        }),
      );
      sources.push(s.ssrc);
    }
    if (parts.length === 0) {
      if (blocks.length === 0 && !bye && !this.#opts.reportWhenIdle) {
        return;
      }
      parts.push(buildReceiverReport({ ssrc: this.#opts.reporterSsrc, reports: blocks }));
      sources.push(this.#opts.reporterSsrc);
    }
    // One CNAME chunk per source we report as (RFC 3550 §6.5: every SSRC of a participant carries its CNAME).
    const cname = this.#hooks.cname();
    parts.push(buildSdes(sources.map((s) => cnameChunk(s, cname))));
    if (bye) {
      parts.push(buildBye(sources));
    }
    this.#hooks.send(Buffer.concat(parts));
  }

  #rememberSr(mid: number): void {
    this.#srSent.delete(mid);
    this.#srSent.add(mid);
    for (const oldest of this.#srSent) {
      if (this.#srSent.size <= SR_MEMORY) {
        break;
      }
      this.#srSent.delete(oldest);
    }
  }
}
