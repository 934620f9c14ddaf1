/**
 * The jitter buffer in front of a decoder (issue 4 §5: only where media is decoded). Korus's choice, documented in
 * the README: a *reordering* buffer with zero delay on the in-order path and a bounded wait on a gap, rather than
 * a fixed 40–60 ms playout delay.
 *
 * - A packet with the next expected sequence number is released at once (plus any held packets it unblocks), so
 *   a clean stream gains no latency: the transcoded-hop budget (≤ 25 ms p99 including packetization) has no room
 *   for a fixed 40 ms delay.
 * - A packet after a gap is held. The gap is declared lost, and concealed by the decoder's PLC, when
 *   `maxHold` newer packets are waiting (default 2, i.e. the missing one may arrive up to 40 ms late at 20 ms
 *   packets) or the oldest held packet has waited `maxWaitMs` (default 60 ms, checked by {@link flush} from the
 *   transcoder's timer). A reordered packet that arrives within that window is played in order.
 * - Packets older than the play-out point are late: counted and dropped. Duplicates likewise.
 * - A jump of more than `resetGap` packets (or backwards by more than that) is a restart of the stream: the held
 *   packets are played, numbering starts again at the new packet, and nothing is concealed.
 *
 * The timing jitter of arrivals is left to the receiving peer's own jitter buffer (every phone and browser has an
 * adaptive one); Korus re-times nothing, it only restores order and fills losses so the encoder sees a
 * continuous signal.
 */

export interface JitterBufferOptions {
  /** Newer packets held before a gap is declared lost (default 2). */
  maxHold?: number;
  /** Longest wait for a missing packet (ms, default 60). */
  maxWaitMs?: number;
  /** Concealment frames produced for one gap at most (default 5 = 100 ms at 20 ms); longer gaps are restarts. */
  maxConceal?: number;
  /** A sequence distance beyond which the stream counts as restarted (default 100). */
  resetGap?: number;
}

export interface JitterStats {
  released: number;
  lost: number;
  late: number;
  duplicates: number;
  /** Packets played from the hold (after a reordering, or after a loss was declared). */
  reordered: number;
  resets: number;
}

/** What the buffer hands to the decoder, in play-out order: a packet, or a loss to conceal. */
export interface JitterSink<T> {
  packet(item: T, seq: number): void;
  lost(seq: number): void;
}

interface Held<T> {
  readonly seq: number;
  readonly item: T;
  readonly atMs: number;
}

export class JitterBuffer<T> {
  readonly stats: JitterStats = { released: 0, lost: 0, late: 0, duplicates: 0, reordered: 0, resets: 0 };
  readonly #maxHold: number;
  readonly #maxWaitMs: number;
  readonly #maxConceal: number;
  readonly #resetGap: number;
  readonly #sink: JitterSink<T>;
  /** Sequence number expected next; -1 before the first packet. */
  #next = -1;
  /** Held packets, sorted by distance from #next. */
  readonly #held: Held<T>[] = [];

  constructor(sink: JitterSink<T>, opts: JitterBufferOptions = {}) {
    this.#sink = sink;
    this.#maxHold = opts.maxHold ?? 2;
    this.#maxWaitMs = opts.maxWaitMs ?? 60;
    this.#maxConceal = opts.maxConceal ?? 5;
    this.#resetGap = opts.resetGap ?? 100;
  }

  /** Packets waiting for a missing one. */
  get held(): number {
    return this.#held.length;
  }

  push(seq: number, item: T, nowMs: number): void {
    seq &= 0xffff;
    if (this.#next < 0) {
      this.#next = seq;
    }
    const d = (seq - this.#next) & 0xffff;
    if (d === 0) {
      this.#release(seq, item);
      this.#drain();
      return;
    }
    if (d >= 0x8000) {
      if (0x10000 - d > this.#resetGap) {
        this.#restart(seq, item);
      } else {
        this.stats.late++;
      }
      return;
    }
    if (d > this.#resetGap) {
      this.#restart(seq, item);
      return;
    }
    // A gap before this packet: hold it, in order.
    let i = this.#held.length;
    while (i > 0 && ((this.#held[i - 1]!.seq - this.#next) & 0xffff) > d) {
      i--;
    }
    if (i > 0 && this.#held[i - 1]!.seq === seq) {
      this.stats.duplicates++;
      return;
    }
    this.#held.splice(i, 0, { seq, item, atMs: nowMs });
    if (this.#held.length > this.#maxHold) {
      this.#giveUp();
    }
  }

  /** Declares the current gap lost if its oldest held packet waited longer than maxWaitMs (timer-driven). */
  flush(nowMs: number): void {
    const first = this.#held[0];
    if (first !== undefined && nowMs - first.atMs >= this.#maxWaitMs) {
      this.#giveUp();
    }
  }

  /** Plays everything held (the stream is going away or changing). */
  drainAll(): void {
    while (this.#held.length > 0) {
      this.#giveUp();
    }
  }

  #release(seq: number, item: T): void {
    this.stats.released++;
    this.#next = (seq + 1) & 0xffff;
    this.#sink.packet(item, seq);
  }

  /** Releases held packets that are now in order. */
  #drain(): void {
    for (;;) {
      const h = this.#held[0];
      if (h === undefined) {
        return;
      }
      const d = (h.seq - this.#next) & 0xffff;
      if (d === 0) {
        this.#held.shift();
        this.stats.reordered++;
        this.#release(h.seq, h.item);
      } else if (d >= 0x8000) {
        this.#held.shift(); // overtaken
        this.stats.late++;
      } else {
        return;
      }
    }
  }

  /** The missing packets before the first held one are lost: conceal them (up to maxConceal) and play on. */
  #giveUp(): void {
    const h = this.#held[0];
    if (h === undefined) {
      return;
    }
    const gap = (h.seq - this.#next) & 0xffff;
    this.stats.lost += gap;
    for (let i = 0; i < Math.min(gap, this.#maxConceal); i++) {
      this.#sink.lost((this.#next + i) & 0xffff);
    }
    this.#next = h.seq;
    this.#drain();
  }

  #restart(seq: number, item: T): void {
    this.stats.resets++;
    while (this.#held.length > 0) {
      const h = this.#held.shift()!;
      this.#release(h.seq, h.item);
    }
    this.#release(seq, item);
  }
}
