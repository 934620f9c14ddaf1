/**
 * The fields of an SRTP packet's RTP header, read from the datagram in place (RFC 3550 §5.1) into an object the
 * caller keeps, so that reading allocates nothing.
 */

export interface RtpHeaderFields {
  payloadType: number;
  marker: boolean;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  /** Offset of the payload (after CSRCs and the header extension). */
  payloadOffset: number;
}

const RTP_HEADER = 12;

/** A fields object to reuse. */
export function rtpHeaderFields(): RtpHeaderFields {
  return { payloadType: 0, marker: false, sequenceNumber: 0, timestamp: 0, ssrc: 0, payloadOffset: 0 };
}

/**
 * Reads an RTP header; returns false when the datagram is not a well-formed RTP packet with room for `tagLength`
 * bytes of authentication tag after the payload.
 */
export function readRtpHeader(buf: Uint8Array, tagLength: number, out: RtpHeaderFields): boolean {
  if (buf.length < RTP_HEADER + tagLength || buf[0]! >> 6 !== 2) {
    return false;
  }
  const b0 = buf[0]!;
  let offset = RTP_HEADER + (b0 & 0x0f) * 4;
  if ((b0 & 0x10) !== 0) {
    if (buf.length < offset + 4 + tagLength) {
      return false;
    }
    offset += 4 + ((buf[offset + 2]! << 8) | buf[offset + 3]!) * 4;
  }
  if (offset > buf.length - tagLength) {
    return false;
  }
  const b1 = buf[1]!;
  out.payloadType = b1 & 0x7f;
  out.marker = (b1 & 0x80) !== 0;
  out.sequenceNumber = (buf[2]! << 8) | buf[3]!;
  out.timestamp = ((buf[4]! << 24) | (buf[5]! << 16) | (buf[6]! << 8) | buf[7]!) >>> 0;
  out.ssrc = ((buf[8]! << 24) | (buf[9]! << 16) | (buf[10]! << 8) | buf[11]!) >>> 0;
  out.payloadOffset = offset;
  return true;
}
