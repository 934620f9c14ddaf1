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
}

/** Kurento's MediaFlowState. */
export type MediaFlowState = "FLOWING" | "NOT_FLOWING";
