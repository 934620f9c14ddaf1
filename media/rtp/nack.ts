/**
 * Generic NACK (RFC 4585 §6.2.1) state for the RTCP session: {@link NackGenerator} finds the packets missing from
 * a video stream we receive and says which to ask for now; {@link NackCache} keeps the protected packets of a video
 * stream we send, so a NACK can be answered with the very bytes sent (no RTX).
 */

/**
 * A lost packet is asked for at most `maxTries` times and not after `maxAgeMs`; at most `maxMissing` sequence
 * numbers are tracked per stream (a bigger gap is a new start).
 */
const LIMITS = { maxTries: 3, maxAgeMs: 1000, maxMissing: 256 } as const;

interface Missing {
  firstMs: number;
  lastTryMs: number;
  tries: number;
}

export class NackGenerator {
  readonly ssrc: number;
  #highest = 0;
  #started = false;
  readonly #missing = new Map<number, Missing>();

  constructor(ssrc: number) {
    this.ssrc = ssrc;
  }

  /**
   * Tracks one received sequence number; a new gap is stamped with `performance.now()` (read only then).
   * @returns true when packets are missing (call {@link due}).
   */
  onPacket(seq: number): boolean {
    if (!this.#started) {
      this.#started = true;
      this.#highest = seq;
      return false;
    }
    const m = this.#missing;
    const d = (seq - this.#highest) & 0xffff;
    if (d === 0) {
      return false;
    }
    if (d < 0x8000) {
      if (d > 1 && d <= LIMITS.maxMissing) {
        const nowMs = performance.now();
        for (let s = (this.#highest + 1) & 0xffff; s !== seq; s = (s + 1) & 0xffff) {
          m.set(s, { firstMs: nowMs, lastTryMs: 0, tries: 0 });
        }
        for (const first of m.keys()) {
          if (m.size <= LIMITS.maxMissing) {
            break;
          }
          m.delete(first);
        }
      }
      this.#highest = seq;
    } else if (m.size > 0) {
      m.delete(seq); // A late or retransmitted packet.
    }
    return m.size > 0;
  }

  /**
   * The missing sequence numbers to ask for now (not asked within `retryMs`), in order; forgets those asked
   * `maxTries` times or older than `maxAgeMs`.
   */
  due(nowMs: number, retryMs: number): number[] {
    const lost: number[] = [];
    for (const [seq, m] of this.#missing) {
      if (nowMs - m.firstMs > LIMITS.maxAgeMs || m.tries >= LIMITS.maxTries) {
        this.#missing.delete(seq);
      } else if (nowMs - m.lastTryMs >= retryMs) {
        m.tries++;
        m.lastTryMs = nowMs;
        lost.push(seq);
      }
    }
    return lost;
  }
}

export class NackCache {
  /** Packets kept per video stream for retransmission. */
  static readonly SIZE = 1024;
  readonly #packets = new Array<Buffer | undefined>(NackCache.SIZE);
  readonly #seqs = new Int32Array(NackCache.SIZE).fill(-1);

  put(seq: number, packet: Buffer): void {
    const slot = seq % NackCache.SIZE;
    this.#packets[slot] = packet;
    this.#seqs[slot] = seq;
  }

  /** The packet sent with 16-bit sequence number `seq`, if still cached. */
  get(seq: number): Buffer | undefined {
    const slot = seq % NackCache.SIZE;
    return this.#seqs[slot] === seq ? this.#packets[slot] : undefined;
  }
}
