/**
 * Keyframe detection on RTP payloads, without depacketizing.
 *
 * Only the first packet of a frame can say whether it is a keyframe; the check reads a few header bytes, so it
 * runs on every video packet. Malformed payloads yield `false`, never an exception.
 */

/**
 * VP8 (RFC 7741 §4.2–4.3): the payload descriptor, then, in the packet that starts partition 0 (S=1, PID=0), the
 * VP8 payload header whose P bit is 0 for a keyframe.
 */
export function isVp8Keyframe(p: Uint8Array): boolean {
  const b0 = p[0];
  if (b0 === undefined) {
    return false;
  }
  const start = (b0 & 0x10) !== 0;
  const pid = b0 & 0x07;
  if (!start || pid !== 0) {
    return false;
  }
  let i = 1;
  if ((b0 & 0x80) !== 0) {
    // X: extension byte with I, L, T, K flags.
    const x = p[i++];
    if (x === undefined) {
      return false;
    }
    if ((x & 0x80) !== 0) {
      const pic = p[i++];
      if (pic === undefined) {
        return false;
      }
      if ((pic & 0x80) !== 0) {
        i++; // 15-bit picture id
      }
    }
    if ((x & 0x40) !== 0) {
      i++; // TL0PICIDX
    }
    if ((x & 0x30) !== 0) {
      i++; // TID / KEYIDX
    }
  }
  const h = p[i];
  return h !== undefined && (h & 0x01) === 0;
}

const H264_IDR = 5;
const H264_SPS = 7;
const H264_STAP_A = 24;
const H264_FU_A = 28;

/**
 * H.264 (RFC 6184): an IDR slice or an SPS, alone (single NAL unit), aggregated (STAP-A) or in the first fragment
 * of an FU-A.
 */
export function isH264Keyframe(p: Uint8Array): boolean {
  const b0 = p[0];
  if (b0 === undefined) {
    return false;
  }
  const type = b0 & 0x1f;
  if (type === H264_IDR || type === H264_SPS) {
    return true;
  }
  if (type === H264_STAP_A) {
    let i = 1;
    while (i + 2 < p.length) {
      const size = ((p[i] ?? 0) << 8) | (p[i + 1] ?? 0);
      const nal = (p[i + 2] ?? 0) & 0x1f;
      if (nal === H264_IDR || nal === H264_SPS) {
        return true;
      }
      i += 2 + size;
    }
    return false;
  }
  if (type === H264_FU_A) {
    const fu = p[1];
    if (fu === undefined) {
      return false;
    }
    const inner = fu & 0x1f;
    return (fu & 0x80) !== 0 && (inner === H264_IDR || inner === H264_SPS);
  }
  return false;
}

/** Keyframe check by lower-case codec name; audio and unknown codecs are never keyframes. */
export function isKeyframe(codec: string, payload: Uint8Array): boolean {
  switch (codec) {
    case "vp8":
      return isVp8Keyframe(payload);
    case "h264":
      return isH264Keyframe(payload);
    default:
      return false;
  }
}
