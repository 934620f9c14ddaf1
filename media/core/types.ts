/**
 * In-worker media types. A {@link MediaPacket} is what elements pass to each other along pipeline connections: the
 * fields of one RTP packet, already decrypted and parsed at the edge, plus the codec it carries. Packets are shared
 * between the sinks of a fan-out, so they are read-only; each sink rewrites into its own outgoing stream.
 */
import type { MediaKind } from "../channel/protocol.js";

export type RtpMediaKind = Exclude<MediaKind, "DATA">;

export interface MediaPacket {
  readonly kind: RtpMediaKind;
  /** Lower-case encoding name as in rtpmap: "opus", "vp8", "h264", "pcmu", "telephone-event"… */
  readonly codec: string;
  readonly clockRate: number;
  readonly payloadType: number;
  readonly ssrc: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly marker: boolean;
  readonly payload: Uint8Array;
  /** True when the payload starts a decodable video frame (VP8/H.264 keyframe). */
  readonly keyframe: boolean;
  /** performance.now() at arrival on the edge socket, for latency measurements. */
  readonly arrivalMs: number;
  /**
   * The sender's clock of this packet's stream (its last RTCP SR), filled by the endpoint that received it from
   * the peer; absent on packets made inside the pipeline (transcoded, mixed, played). One object per remote SSRC,
   * updated in place when an SR arrives: sinks read it, never copy it.
   */
  readonly sender?: SenderClock | undefined;
}

/**
 * The NTP ↔ RTP mapping of one received stream from the peer's last RTCP Sender Report (RFC 3550 §6.4.1): the
 * packet with RTP timestamp `ts` was sampled at `ntpMs + (ts − rtpTimestamp) / clockRate · 1000` on the sender's
 * wall clock. Streams of one sender share that clock, which is what lip sync needs (media/record/clock.ts).
 */
export interface SenderClock {
  /** SRs received so far (0: no mapping yet); a change means a new SR. */
  reports: number;
  /** The SR's NTP timestamp in ms since the Unix epoch. */
  ntpMs: number;
  /** The SR's RTP timestamp (unsigned 32-bit). */
  rtpTimestamp: number;
}

/** Kurento's MediaFlowState. */
export type MediaFlowState = "FLOWING" | "NOT_FLOWING";

/**
 * One message of a data channel (kind DATA), as elements pass it along DATA connections. A WebRtcEndpoint makes
 * one per SCTP message its peer sends and sends the ones it receives on its peer's channel of the same stream id
 * (or label). Shared between the sinks of a fan-out, so read-only.
 */
export interface DataMessage {
  readonly kind: "DATA";
  /** The SCTP stream id of the channel it came on (RTCDataChannel.id; the DataChannelOpened channelId). */
  readonly channelId: number;
  readonly label: string;
  readonly protocol: string;
  /** A string message (WebRTC PPID 51) or binary (PPID 53). */
  readonly data: string | Uint8Array;
}
