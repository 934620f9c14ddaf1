/**
 * The cryptographic transform of one SRTP suite under one set of session keys: what differs between AES-CM with
 * HMAC-SHA1 (RFC 3711, {@link AesCmHmacTransform}) and AEAD AES-GCM (RFC 7714, {@link AesGcmTransform}). Packet
 * indices, rollover counters, replay windows and key limits are the session's (SrtpSession); a transform only
 * encrypts and authenticates one packet whose index it is given.
 */

/** Which packet a transform works on: its SSRC, rollover counter and sequence number (index = ROC · 2^16 + SEQ). */
export interface PacketIndex {
  ssrc: number;
  roc: number;
  seq: number;
}

export interface SrtpTransform {
  /** Bytes the SRTP authentication tag adds to an RTP packet. */
  readonly rtpTagLength: number;
  /** Bytes SRTCP adds to an RTCP packet: the E flag with the SRTCP index (4) and the tag. */
  readonly rtcpTrailerLength: number;

  /**
   * Protects the RTP payload `src[from, src.length)` of packet `p`. `out` holds the RTP header in `[0, headerLength)`
   * and has room for the payload and the tag after it; the encrypted payload goes at `headerLength`, the tag after it.
   */
  protectRtp(out: Buffer, headerLength: number, src: Uint8Array, from: number, p: PacketIndex): void;

  /**
   * Authenticates and decrypts SRTP packet `p` (its tag is its last {@link rtpTagLength} bytes). Returns the plain
   * packet (header and payload) when `withHeader`, else only the plain payload; or undefined when authentication
   * fails. Never throws for any input.
   */
  unprotectRtp(packet: Uint8Array, headerLength: number, p: PacketIndex, withHeader: boolean): Buffer | undefined;

  /** Protects a (compound) RTCP packet with the E flag set and SRTCP index `index` (RFC 3711 §3.4). */
  protectRtcp(packet: Uint8Array, ssrc: number, index: number): Buffer;

  /** Where the E flag and SRTCP index of an SRTCP packet of `length` bytes are. */
  rtcpIndexOffset(length: number): number;

  /** Authenticates and, when `encrypted`, decrypts an SRTCP packet; the plain RTCP, or undefined. Never throws. */
  unprotectRtcp(packet: Uint8Array, ssrc: number, index: number, encrypted: boolean): Buffer | undefined;
}
