/**
 * Keeps one outgoing RTP stream continuous while its sources change.
 *
 * A sink endpoint sends a single SSRC to its peer, but what it forwards may come from a succession of sources
 * (A1, then A2 after a reconnect, or a loopback that restarts). A receiver that sees the sequence number jump or the
 * timestamp go backwards drops packets or stalls its jitter buffer, so each source gets its own offsets:
 *
 * - the first packet of a new source continues the outgoing sequence at `last + 1`;
 * - its timestamp continues from the last one sent plus the wall-clock time since then, in the source's clock rate
 *   (at least one tick), which is what the receiver would have seen had the stream never been interrupted.
 *
 * Within a source the offsets are constant, so reordering and gaps (losses the receiver may NACK) are preserved.
 * All arithmetic is modulo 2^16 (sequence) and 2^32 (timestamp). Results land in {@link seq}/{@link timestamp} to
 * avoid an allocation per packet on the hot path.
 */

const SEQ_MOD = 0x1_0000;
const TS_MOD = 0x1_0000_0000;

/** True when `a` is newer than `b` in 16-bit sequence space (RFC 3550 serial arithmetic). */
export function seqNewer(a: number, b: number): boolean {
  const d = (a - b + SEQ_MOD) % SEQ_MOD;
  return d !== 0 && d < 0x8000;
}

export class StreamRewriter {
  /** Rewritten sequence number of the last {@link rewrite} call. */
  seq = 0;
  /** Rewritten timestamp of the last {@link rewrite} call. */
  timestamp = 0;
  #source: object | undefined;
  #ssrc = 0;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastSeq = 0;
  #lastTs = 0;
  #lastWallMs = 0;
  #switches = 0;

  /** Number of source switches seen so far (the first source does not count). */
  get switches(): number {
    return this.#switches;
  }

  /**
   * Rewrites one packet's sequence number and timestamp.
   * A source is identified by the object that feeds us (the upstream element) and its SSRC; a change of either
   * starts a new segment.
   * @param nowMs wall clock in ms (performance.now()), used for the timestamp gap on a switch.
   */
  rewrite(source: object, ssrc: number, seq: number, timestamp: number, clockRate: number, nowMs: number): void {
    if (source !== this.#source || ssrc !== this.#ssrc) {
      if (this.#source === undefined) {
        // First source: pass its numbering through unchanged.
        this.#seqOffset = 0;
        this.#tsOffset = 0;
      } else {
        const nextSeq = (this.#lastSeq + 1) % SEQ_MOD;
        const gapTicks = Math.max(1, Math.round(((nowMs - this.#lastWallMs) * clockRate) / 1000));
        const nextTs = (this.#lastTs + gapTicks) % TS_MOD;
        this.#seqOffset = (nextSeq - seq + SEQ_MOD) % SEQ_MOD;
        this.#tsOffset = (nextTs - timestamp + TS_MOD) % TS_MOD;
        this.#switches++;
      }
      this.#source = source;
      this.#ssrc = ssrc;
      this.#lastSeq = (seq + this.#seqOffset - 1 + SEQ_MOD) % SEQ_MOD;
    }
    const outSeq = (seq + this.#seqOffset) % SEQ_MOD;
    const outTs = (timestamp + this.#tsOffset) % TS_MOD;
    if (seqNewer(outSeq, this.#lastSeq)) {
      // Only the newest packet moves the continuation point; a late one must not pull it back.
      this.#lastSeq = outSeq;
      this.#lastTs = outTs;
      this.#lastWallMs = nowMs;
    }
    this.seq = outSeq;
    this.timestamp = outTs;
  }
}
