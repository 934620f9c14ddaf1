/**
 * The cryptographic transform of one SRTP suite under one set of session keys: what differs between AES-CM with
 * HMAC-SHA1 (RFC 3711, {@link AesCmHmacTransform}) and AEAD AES-GCM (RFC 7714, {@link AesGcmTransform}). Packet
 * indices, rollover counters, replay windows and key limits are the session's (SrtpSession); a transform only
 * encrypts and authenticates one packet whose index it is given.
 */

export interface SrtpTransform {
  /** Bytes the SRTP authentication tag adds to an RTP packet. */
  readonly rtpTagLength: number;
  /** Bytes SRTCP adds to an RTCP packet: the E flag with the SRTCP index (4) and the tag. */
  readonly rtcpTrailerLength: number;

  /**
   * Protects the RTP payload `src[from, to)`. `out` holds the RTP header in `[0, headerLength)` and has room for the
   * payload and the tag after it; the encrypted payload goes at `headerLength`, the tag after it.
   */
  protectRtp(
    out: Buffer,
    headerLength: number,
    src: Uint8Array,
    from: number,
    to: number,
    ssrc: number,
    roc: number,
    seq: number,
  ): void;

  /**
   * Authenticates and decrypts an SRTP packet whose tag starts at `end` (the last byte before it is the last byte of
   * the payload). Returns the plain packet (header and payload) when `withHeader`, else only the plain payload; or
   * undefined when authentication fails. Never throws for any input.
   */
  unprotectRtp(
    packet: Uint8Array,
    headerLength: number,
    end: number,
    ssrc: number,
    roc: number,
    seq: number,
    withHeader: boolean,
  ): Buffer | undefined;

  /** Protects a (compound) RTCP packet with the E flag set and SRTCP index `index` (RFC 3711 §3.4). */
  protectRtcp(packet: Uint8Array, ssrc: number, index: number): Buffer;

  /** Where the E flag and SRTCP index of an SRTCP packet of `length` bytes are. */
  rtcpIndexOffset(length: number): number;

  /** Authenticates and, when `encrypted`, decrypts an SRTCP packet; the plain RTCP, or undefined. Never throws. */
  unprotectRtcp(packet: Uint8Array, ssrc: number, index: number, encrypted: boolean): Buffer | undefined;
}
