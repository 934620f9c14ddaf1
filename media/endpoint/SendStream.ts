/**
 * One RTP stream we send, identified by its local SSRC: the send stream of every endpoint (RtpEndpoint and
 * SipEndpoint per m-line over UDP, WebRtcEndpoint per kind over ICE/DTLS). It holds the one stream rewriter that
 * keeps numbering continuous across source switches (media/rtp/StreamRewriter.ts), the constant random offsets of
 * the wire numbering where the transport wants them (RFC 3550 §5.1), the RFC 3550 sender statistics (one
 * {@link SendStreamStats}, which the transport's RTCP session reads for its SRs and fills from the peer's reports)
 * and the end-to-end latency. {@link SendStream.send} is the one send path: rewrite, hand to the {@link Transport},
 * count what went out.
 *
 * A UDP m-line also keeps here what the peer takes (payload types keyed `codec/clockRate`, the transcoder's caps).
 */
import { randomInt } from "node:crypto";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import { SendStreamStats } from "../rtp/RtpStreamStats.js";
import { StreamRewriter } from "../rtp/StreamRewriter.js";
import type { SinkAudioCaps } from "../transcode/format.js";
import type { SendResult, Transport } from "./Transport.js";
import type { StreamCodec } from "./udpConfig.js";

/** What {@link SendStream.send} reads of a packet; `codec` is the name an ICE/DTLS transport maps to its PT. */
export type OutgoingRtp = Pick<MediaPacket, "ssrc" | "sequenceNumber" | "timestamp" | "clockRate" | "payload"> & {
  readonly codec?: string;
};

export interface SendStreamOptions {
  /** Our SSRC on the wire; a random one when the transport does not choose it. */
  readonly ssrc?: number;
  /** The clock rate until the first packet tells (a report before any packet extrapolates with it). */
  readonly clockRate?: number;
  /**
   * Add constant random offsets to the rewritten sequence number and timestamp (RFC 3550 §5.1); without, the
   * first source's numbering passes through.
   */
  readonly randomOffsets?: boolean;
}

export class SendStream {
  readonly kind: RtpMediaKind;
  readonly localSsrc: number;
  /** The sender statistics of this SSRC (the RTCP session reads and fills the same object). */
  readonly stats: SendStreamStats;
  readonly rewriter = new StreamRewriter();
  /** E2E latency EWMA (ms) from a source element's edge to the hand-off to the transport. */
  e2eMs: number | undefined;
  /** UDP: the payload types the peer takes, keyed `codec/clockRate`; rebuilt at each negotiation. */
  bySendKey = new Map<string, StreamCodec>();
  /** UDP: what the peer takes on this (audio) stream, for the transcoder; rebuilt at each negotiation. */
  caps: SinkAudioCaps | undefined;
  readonly #seqBase: number;
  readonly #tsBase: number;

  #codecOf: { map: ReadonlyMap<string, StreamCodec>; codec: string; clockRate: number; hit: StreamCodec | undefined } =
    { map: new Map(), codec: "", clockRate: 0, hit: undefined };

  constructor(kind: RtpMediaKind, o: SendStreamOptions = {}) {
    this.kind = kind;
    this.localSsrc = (o.ssrc ?? randomInt(1, 0xffff_ffff)) >>> 0;
    this.stats = new SendStreamStats(this.localSsrc, kind, o.clockRate ?? (kind === "AUDIO" ? 8000 : 90_000));
    this.#seqBase = o.randomOffsets === true ? randomInt(0x1_0000) : 0;
    this.#tsBase = o.randomOffsets === true ? randomInt(0x7fff_ffff) : 0;
  }

  /**
   * The peer's format for `codec`/`clockRate` ({@link bySendKey}), remembered for the last pair asked: a stream
   * forwards one codec at a time, so the hot path builds no key string and does no Map lookup.
   */
  codecFor(codec: string, clockRate: number): StreamCodec | undefined {
    const c = this.#codecOf;
    if (codec !== c.codec || clockRate !== c.clockRate || this.bySendKey !== c.map) {
      c.map = this.bySendKey;
      c.codec = codec;
      c.clockRate = clockRate;
      c.hit = this.bySendKey.get(`${codec}/${clockRate}`);
    }
    return c.hit;
  }

  /** The statistics once something was sent (a UDP m-line reports and sends SRs only then). */
  get sender(): SendStreamStats | undefined {
    return this.stats.packets > 0 ? this.stats : undefined;
  }

  /**
   * Rewrites numbering for `source`, sends one RTP packet through `t` on `pt` (UDP) or `p.codec` (ICE/DTLS) and,
   * once sent, counts it (wire timestamp, payload octets) and folds its latency since `arrivalMs` into the E2E
   * average. Per packet: field reads and arithmetic, no allocation.
   */
  send(t: Transport, pt: number, marker: boolean, source: object, p: OutgoingRtp, arrivalMs: number): SendResult {
    const now = performance.now();
    const rw = this.rewriter;
    rw.rewrite(source, p.ssrc, p.sequenceNumber, p.timestamp, p.clockRate, now);
    const seq = (rw.seq + this.#seqBase) & 0xffff;
    const ts = (rw.timestamp + this.#tsBase) >>> 0;
    const res = t.sendRtp(this.kind, pt, p.codec ?? "", seq, ts, marker, p.payload);
    if (res === "sent") {
      const st = this.stats;
      st.clockRate = p.clockRate;
      st.sent(ts, p.payload.byteLength, now);
      const lat = now - arrivalMs;
      this.e2eMs = this.e2eMs === undefined ? lat : this.e2eMs + (lat - this.e2eMs) / 16;
    }
    return res;
  }
}
