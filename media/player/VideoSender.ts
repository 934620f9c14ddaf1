/**
 * The player's video RTP stream: one frame at a time → packets (media/player/packetize.ts) with the player's own
 * SSRC, continuous sequence numbers, a 90 kHz timestamp from the play clock, and the marker on the frame's last
 * packet. A frame is paced as a whole; its packets leave back to back.
 */
import type { MediaPacket } from "../core/types.js";
import { isFrameKey, packetizeFrame, type PlayerVideoCodec } from "./packetize.js";

const PT: Record<PlayerVideoCodec, number> = { vp8: 96, vp9: 98 };

export class VideoSender {
  readonly ssrc = (Math.random() * 0xffff_ffff) >>> 0 || 1;
  #seq = (Math.random() * 0xffff) >>> 0;
  readonly #ts0 = (Math.random() * 0xffff_ffff) >>> 0;
  #pictureId = (Math.random() * 0x7fff) >>> 0;
  framesSent = 0;
  keyframesSent = 0;
  /** performance.now() of the last keyframe sent, -Infinity before one. */
  lastKeyframeAt = -Infinity;

  /**
   * Sends one frame of `codec` whose place on the play clock is `rtpMs`.
   * @returns the number of packets sent.
   */
  send(codec: PlayerVideoCodec, frame: Uint8Array, rtpMs: number, now: number, out: (p: MediaPacket) => void): number {
    const key = isFrameKey(codec, frame);
    const payloads = packetizeFrame(codec, frame, this.#pictureId);
    this.#pictureId = (this.#pictureId + 1) & 0x7fff;
    const timestamp = (this.#ts0 + Math.round(rtpMs * 90)) >>> 0;
    const last = payloads.length - 1;
    for (let i = 0; i <= last; i++) {
      const payload = payloads[i];
      if (payload === undefined) {
        continue;
      }
      out({
        kind: "VIDEO",
        codec,
        clockRate: 90000,
        payloadType: PT[codec],
        ssrc: this.ssrc,
        sequenceNumber: this.#seq,
        timestamp,
        marker: i === last,
        payload,
        keyframe: key && i === 0,
        arrivalMs: now,
      });
      this.#seq = (this.#seq + 1) & 0xffff;
    }
    this.framesSent++;
    if (key) {
      this.keyframesSent++;
      this.lastKeyframeAt = now;
    }
    return payloads.length;
  }
}
