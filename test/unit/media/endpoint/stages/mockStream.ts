/**
 * A mock receive stream for stage tests: packets as an endpoint's receive path hands them to its chain, with
 * consecutive numbering per stream.
 */
import type { MediaPacket } from "../../../../../media/core/types.js";

export class MockStream {
  #seq = 1000;
  #ts = 160_000;
  readonly #base: Omit<MediaPacket, "sequenceNumber" | "timestamp" | "payload">;

  constructor(over: Partial<Omit<MediaPacket, "sequenceNumber" | "timestamp" | "payload">> = {}) {
    this.#base = {
      kind: "AUDIO",
      codec: "pcmu",
      clockRate: 8000,
      payloadType: 0,
      ssrc: 0x1234,
      marker: false,
      keyframe: false,
      arrivalMs: performance.now(),
      ...over,
    };
  }

  /** The next packet; `tsStep` ticks later than the previous one unless `timestamp` is given. */
  next(payload: Uint8Array, over: Partial<MediaPacket> = {}, tsStep = 160): MediaPacket {
    this.#ts = (this.#ts + tsStep) >>> 0;
    const p: MediaPacket = {
      ...this.#base,
      sequenceNumber: this.#seq,
      timestamp: this.#ts,
      payload,
      arrivalMs: performance.now(),
      ...over,
    };
    this.#seq = (this.#seq + 1) & 0xffff;
    return p;
  }
}
