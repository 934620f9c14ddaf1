/**
 * SRTP/SRTCP replay protection (RFC 3711 §3.3.2): a sliding bitmap of the last {@link REPLAY_WINDOW} packet
 * indices. A packet older than the window, or one already seen, is a replay. `check()` runs before
 * authentication and `accept()` only after it succeeds, so forged packets cannot move the window.
 */

/** Window size in packets (RFC 3711 requires at least 64; libsrtp uses 128). */
export const REPLAY_WINDOW = 128;

export type ReplayVerdict = "ok" | "replay" | "too-old";

export class ReplayWindow {
  #highest = -1;
  readonly #bits = new Uint32Array(REPLAY_WINDOW / 32);

  #bit(index: number): [number, number] {
    const slot = index % REPLAY_WINDOW;
    return [slot >>> 5, 1 << (slot & 31)];
  }

  check(index: number): ReplayVerdict {
    if (index > this.#highest) {
      return "ok";
    }
    if (this.#highest - index >= REPLAY_WINDOW) {
      return "too-old";
    }
    const [w, m] = this.#bit(index);
    return ((this.#bits[w] ?? 0) & m) !== 0 ? "replay" : "ok";
  }

  accept(index: number): void {
    if (index > this.#highest) {
      const advance = this.#highest < 0 ? REPLAY_WINDOW : index - this.#highest;
      if (advance >= REPLAY_WINDOW) {
        this.#bits.fill(0);
      } else {
        for (let i = this.#highest + 1; i < index; i++) {
          const [w, m] = this.#bit(i);
          this.#bits[w] = (this.#bits[w] ?? 0) & ~m;
        }
      }
      this.#highest = index;
    }
    const [w, m] = this.#bit(index);
    this.#bits[w] = (this.#bits[w] ?? 0) | m;
  }
}
