/**
 * Video frames (as ffmpeg demuxes or encodes them) → RTP payloads, per codec:
 *
 * - VP8, RFC 7741 §4.2: a payload descriptor with X=1, I=1 and a 15-bit PictureID (M=1), S=1 and PID=0 on the
 *   first packet of a frame; the frame split into payloads of at most `maxPayload` bytes.
 * - VP9, RFC 9628 §4.2 (non-flexible mode, no layers): I=1 with a 15-bit PictureID, P=1 for inter frames, B=1 on
 *   the first packet of a frame and E=1 on its last.
 *
 * The RTP marker goes on the last packet of a frame (both RFCs). Frames are per-frame work (30 a second), not
 * per-packet forwarding.
 */

export const MAX_PAYLOAD = 1200;

export type PlayerVideoCodec = "vp8" | "vp9";

/** VP8 (RFC 6386 §9.1): bit 0 of the frame tag is 0 on a keyframe. */
export function isVp8FrameKey(frame: Uint8Array): boolean {
  return frame.length > 0 && ((frame[0] ?? 1) & 0x01) === 0;
}

/**
 * VP9 (VP9 bitstream spec §6.2, uncompressed header): frame_marker (2 bits, 0b10), profile_low_bit,
 * profile_high_bit, a reserved zero bit when the profile is 3, show_existing_frame, then frame_type (0: keyframe).
 */
export function isVp9FrameKey(frame: Uint8Array): boolean {
  const b0 = frame[0];
  if (b0 === undefined || b0 >> 6 !== 2) {
    return false;
  }
  const profile = ((b0 >> 5) & 1) | (((b0 >> 4) & 1) << 1);
  let bit = profile === 3 ? 5 : 4; // index (from the MSB) of show_existing_frame
  if (((b0 >> (7 - bit)) & 1) === 1) {
    return false; // show_existing_frame: no new frame
  }
  bit++;
  return ((b0 >> (7 - bit)) & 1) === 0;
}

export function isFrameKey(codec: PlayerVideoCodec, frame: Uint8Array): boolean {
  return codec === "vp8" ? isVp8FrameKey(frame) : isVp9FrameKey(frame);
}

/**
 * Splits one frame into RTP payloads (descriptor + fragment). `pictureId` is the frame's 15-bit picture id.
 */
export function packetizeFrame(
  codec: PlayerVideoCodec,
  frame: Uint8Array,
  pictureId: number,
  maxPayload = MAX_PAYLOAD,
): Uint8Array[] {
  const descLen = codec === "vp8" ? 4 : 3;
  const room = maxPayload - descLen;
  const count = Math.max(1, Math.ceil(frame.length / room));
  const inter = codec === "vp9" && !isVp9FrameKey(frame);
  const out: Uint8Array[] = [];
  const pid = pictureId & 0x7fff;
  for (let i = 0; i < count; i++) {
    const part = frame.subarray(i * room, Math.min(frame.length, (i + 1) * room));
    const p = new Uint8Array(descLen + part.length);
    if (codec === "vp8") {
      p[0] = 0x80 | (i === 0 ? 0x10 : 0); // X, S on the first packet, PID 0
      p[1] = 0x80; // I: PictureID present
      p[2] = 0x80 | (pid >> 8); // M: 15-bit
      p[3] = pid & 0xff;
    } else {
      p[0] = 0x80 | (inter ? 0x40 : 0) | (i === 0 ? 0x08 : 0) | (i === count - 1 ? 0x04 : 0); // I, P, B, E
      p[1] = 0x80 | (pid >> 8);
      p[2] = pid & 0xff;
    }
    p.set(part, descLen);
    out.push(p);
  }
  return out;
}
