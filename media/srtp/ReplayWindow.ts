/**
 * SRTP/SRTCP replay protection (RFC 3711 §3.3.2): a sliding bitmap of the last `size` packet indices. A packet older
 * than the window, or one already seen, is refused. `check()` runs before authentication and `accept()` only after
 * it succeeds, so forged packets cannot move the window. Neither allocates: they run on every received packet.
 */

/** Default window size in packets (RFC 3711 requires at least 64; libsrtp uses 128). */
export const REPLAY_WINDOW = 128;

export type ReplayVerdict = "ok" | "replay" | "too-old";

export class ReplayWindow {
  readonly size: number;
  #highest = -1;
  readonly #bits: Uint32Array;

  /** @param size packets the window spans, a multiple of 32 (64 on the WebRTC path, 128 for SDES). */
  constructor(size = REPLAY_WINDOW) {
    if (size < 32 || size % 32 !== 0) {
      throw new RangeError(`replay window of ${size} packets: a multiple of 32 is needed`);
    }
    this.size = size;
    this.#bits = new Uint32Array(size / 32);
  }

  /** The highest index accepted, or -1 before the first. */
  get highest(): number {
    return this.#highest;
  }

  check(index: number): ReplayVerdict {
    if (index > this.#highest) {
      return "ok";
    }
    if (this.#highest - index >= this.size) {
      return "too-old";
    }
    const slot = index % this.size;
    return (this.#bits[slot >>> 5]! & (1 << (slot & 31))) !== 0 ? "replay" : "ok";
  }

  accept(index: number): void {
    const size = this.size;
    const bits = this.#bits;
    if (index > this.#highest) {
      if (this.#highest < 0 || index - this.#highest >= size) {
        bits.fill(0);
      } else {
        // Forget the indices the window slides over (usually none: the next packet is highest + 1).
        for (let i = this.#highest + 1; i < index; i++) {
          const slot = i % size;
          bits[slot >>> 5]! &= ~(1 << (slot & 31));
        }
      }
      this.#highest = index;
    }
    const slot = index % size;
    bits[slot >>> 5]! |= 1 << (slot & 31);
  }
}
