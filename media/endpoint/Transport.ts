/**
 * The transport interface of the endpoint core: what carries an endpoint's RTP and RTCP to one peer and back.
 * Two implementations:
 *
 * - {@link UdpTransport} (media/endpoint/UdpTransport.ts): plain UDP, one socket pair per m-line, symmetric RTP
 *   with latching, SDES-SRTP, RTCP SR/RR/SDES/BYE and PLI of its own (RtpEndpoint, SipEndpoint);
 * - {@link IceDtlsTransport} (media/endpoint/IceDtlsTransport.ts): ICE + DTLS-SRTP over one BUNDLEd 5-tuple, the
 *   werift peer connection behind media/webrtc/WebRtcTransport (with its FastRtpPath), trickle ICE the Kurento way
 *   (WebRtcEndpoint).
 *
 * Received media goes the other way through hooks the endpoint gives the transport at construction (no
 * per-packet closure): the transport classifies, unprotects and parses, the endpoint's receive stream counts and
 * runs its stage chain, then the packet goes to the sinks.
 */
import type { RtpMediaKind } from "../core/types.js";

/** What became of one outgoing packet. */
export type SendResult = "sent" | "not-ready" | "not-sending" | "no-codec";

export interface Transport {
  /**
   * Sends one RTP packet of `kind`, its numbering already rewritten for the peer. A UDP transport sends on
   * `payloadType` with its own SSRC; an ICE/DTLS transport maps `codec` to the payload type it negotiated.
   */
  sendRtp(
    kind: RtpMediaKind,
    payloadType: number,
    codec: string,
    sequenceNumber: number,
    timestamp: number,
    marker: boolean,
    payload: Uint8Array,
  ): SendResult;
  /** Asks the peer for a keyframe: which request went out, or undefined when none could be sent yet. */
  requestKeyframe(): "pli" | "fir" | undefined;
  /** Closes sockets and peers and returns ports. Idempotent; never throws. */
  close(): void;
}
