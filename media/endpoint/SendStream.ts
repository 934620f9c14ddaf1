/**
 * The send side of one negotiated m-line of a plain-UDP endpoint: our SSRC, the payload types the peer takes
 * (keyed `codec/clockRate` for the hot path), the one stream rewriter that keeps numbering continuous across source
 * switches (media/rtp/StreamRewriter.ts), the RFC 3550 sender statistics and the end-to-end latency.
 */
import { randomInt } from "node:crypto";
import type { MediaPacket, RtpMediaKind } from "../core/types.js";
import { SendStreamStats } from "../rtp/RtpStreamStats.js";
import { StreamRewriter } from "../rtp/StreamRewriter.js";
import type { SinkAudioCaps } from "../transcode/format.js";
import type { Transport } from "./Transport.js";
import type { StreamCodec } from "./udpConfig.js";

export class SendStream {
  readonly kind: RtpMediaKind;
  readonly localSsrc = randomInt(1, 0xffff_ffff);
  bySendKey = new Map<string, StreamCodec>();
  sender: SendStreamStats | undefined;
  readonly rewriter = new StreamRewriter();
  /** E2E latency EWMA (ms) from a source element's edge to our socket. */
  e2eMs: number | undefined;
  /** What the peer takes on this (audio) stream, for the transcoder; rebuilt at each negotiation. */
  caps: SinkAudioCaps | undefined;

  #codecOf: { map: ReadonlyMap<string, StreamCodec>; codec: string; clockRate: number; hit: StreamCodec | undefined } =
    { map: new Map(), codec: "", clockRate: 0, hit: undefined };

  constructor(kind: RtpMediaKind) {
    this.kind = kind;
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

  /** Rewrites numbering for `source` and sends one RTP packet through `t`; counts it once sent. */
  send(
    t: Transport,
    pt: number,
    marker: boolean,
    source: object,
    p: Pick<MediaPacket, "ssrc" | "sequenceNumber" | "timestamp" | "clockRate" | "payload">,
    arrivalMs: number,
  ): void {
    const now = performance.now();
    this.rewriter.rewrite(source, p.ssrc, p.sequenceNumber, p.timestamp, p.clockRate, now);
    if (t.sendRtp(this.kind, pt, "", this.rewriter.seq, this.rewriter.timestamp, marker, p.payload) === "sent") {
      this.sender ??= new SendStreamStats(this.localSsrc, this.kind, p.clockRate);
      this.sender.clockRate = p.clockRate;
      this.sender.sent(this.rewriter.timestamp, p.payload.byteLength, now);
      const lat = now - arrivalMs;
      this.e2eMs = this.e2eMs === undefined ? lat : this.e2eMs + (lat - this.e2eMs) / 16;
    }
  }
}
