/**
 * Generic NACK (RFC 4585 §6.2.1) state for the RTCP session: {@link NackGenerator} finds the packets missing from
 * a video stream we receive and says which to ask for now; {@link NackCache} keeps the protected packets of a video
 * stream we send, so a NACK can be answered with the very bytes sent (no RTX).
 */

/** Packets kept per video stream for retransmission. */
const CACHE_SIZE = 1024;
/** A lost packet is asked for at most this many times, and not after this age. */
const MAX_TRIES = 3;
const MAX_AGE_MS = 1000;
/** At most this many sequence numbers are tracked as missing per stream (a bigger gap is a new start). */
const MAX_MISSING = 256;

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

  /** Tracks one received sequence number. @returns true when packets are missing (call {@link due}). */
  onPacket(seq: number, nowMs: number): boolean {
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
      if (d > 1 && d <= MAX_MISSING) {
        for (let s = (this.#highest + 1) & 0xffff; s !== seq; s = (s + 1) & 0xffff) {
          m.set(s, { firstMs: nowMs, lastTryMs: 0, tries: 0 });
        }
        for (const first of m.keys()) {
          if (m.size <= MAX_MISSING) {
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
   * {@link MAX_TRIES} times or older than {@link MAX_AGE_MS}.
   */
  due(nowMs: number, retryMs: number): number[] {
    const lost: number[] = [];
    for (const [seq, m] of this.#missing) {
      if (nowMs - m.firstMs > MAX_AGE_MS || m.tries >= MAX_TRIES) {
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
  readonly #packets = new Array<Buffer | undefined>(CACHE_SIZE);
  readonly #seqs = new Int32Array(CACHE_SIZE).fill(-1);

  put(seq: number, packet: Buffer): void {
    const slot = seq % CACHE_SIZE;
    this.#packets[slot] = packet;
    this.#seqs[slot] = seq;
  }

  /** The packet sent with 16-bit sequence number `seq`, if still cached. */
  get(seq: number): Buffer | undefined {
    const slot = seq % CACHE_SIZE;
    return this.#seqs[slot] === seq ? this.#packets[slot] : undefined;
  }
}
