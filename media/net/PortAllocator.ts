/**
 * Allocates UDP ports from this worker's slice of the configured RTP range.
 *
 * The main thread splits `KORUS_RTP_MIN`..`KORUS_RTP_MAX` into disjoint slices, one per worker, so no cross-thread
 * allocator is needed (architecture.md §2). Ports are handed out in even-aligned pairs (RTP on the even port,
 * RTCP on +1 when not muxed, RFC 3550 §11) and must be returned with {@link release}; a port that turns out to be
 * taken by another process can be marked with {@link quarantine} so it is skipped for a while.
 */
import { UnsupportedError } from "../errors.js";

export class PortAllocator {
  readonly #min: number;
  readonly #max: number;
  readonly #used = new Set<number>();
  readonly #quarantined = new Map<number, number>();
  #next: number;

  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || max - min < 1) {
      throw new RangeError(`invalid RTP port slice ${min}-${max}`);
    }
    this.#min = min % 2 === 0 ? min : min + 1;
    this.#max = max;
    this.#next = this.#min;
  }

  get inUse(): number {
    return this.#used.size;
  }

  get capacity(): number {
    return Math.floor((this.#max - this.#min + 1) / 2);
  }

  /**
   * Reserves an even port and the odd one after it.
   * @returns the even port.
   * @throws UnsupportedError when the slice is exhausted (mapped to NOT_ENOUGH_RESOURCES).
   */
  allocatePair(): number {
    const now = Date.now();
    const span = this.#max - this.#min + 1;
    for (let i = 0; i < span; i += 2) {
      const p = this.#min + ((this.#next - this.#min + i) % span);
      const even = p % 2 === 0 ? p : p - 1;
      if (even + 1 > this.#max || this.#used.has(even)) {
        continue;
      }
      const q = this.#quarantined.get(even);
      if (q !== undefined && q > now) {
        continue;
      }
      this.#quarantined.delete(even);
      this.#used.add(even);
      this.#next = even + 2 > this.#max ? this.#min : even + 2;
      return even;
    }
    throw new UnsupportedError(`no free RTP port pair in ${this.#min}-${this.#max}`);
  }

  release(evenPort: number): void {
    this.#used.delete(evenPort);
  }

  /** Releases a pair that another process held, and skips it for `ms`. */
  quarantine(evenPort: number, ms = 30_000): void {
    this.#used.delete(evenPort);
    this.#quarantined.set(evenPort, Date.now() + ms);
  }
}
