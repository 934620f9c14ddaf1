/**
 * A bounded FIFO of mono Int16 PCM (ring buffer): decoded input is written in whatever chunk sizes the codec gives
 * (10, 20, 60 ms…), the mixer reads fixed frames. When a write would overflow, the oldest samples are dropped
 * (counted): latency stays bounded whatever the sender does.
 */
export class PcmFifo {
  readonly #buf: Int16Array;
  #read = 0;
  #size = 0;
  /** Samples dropped because the FIFO was full. */
  dropped = 0;

  constructor(capacity: number) {
    this.#buf = new Int16Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  get capacity(): number {
    return this.#buf.length;
  }

  write(pcm: Int16Array): void {
    const cap = this.#buf.length;
    let src = pcm;
    if (src.length > cap) {
      this.dropped += src.length - cap;
      src = src.subarray(src.length - cap);
    }
    const over = this.#size + src.length - cap;
    if (over > 0) {
      this.discard(over);
      this.dropped += over;
    }
    let w = (this.#read + this.#size) % cap;
    let i = 0;
    while (i < src.length) {
      const n = Math.min(src.length - i, cap - w);
      this.#buf.set(src.subarray(i, i + n), w);
      i += n;
      w = (w + n) % cap;
    }
    this.#size += src.length;
  }

  /** Copies `out.length` samples into `out`; returns false (and copies nothing) when fewer are buffered. */
  read(out: Int16Array): boolean {
    if (this.#size < out.length) {
      return false;
    }
    const cap = this.#buf.length;
    let i = 0;
    while (i < out.length) {
      const n = Math.min(out.length - i, cap - this.#read);
      out.set(this.#buf.subarray(this.#read, this.#read + n), i);
      i += n;
      this.#read = (this.#read + n) % cap;
    }
    this.#size -= out.length;
    return true;
  }

  /** Drops the `n` oldest samples (all when `n` ≥ size). */
  discard(n: number): void {
    const k = Math.min(n, this.#size);
    this.#read = (this.#read + k) % this.#buf.length;
    this.#size -= k;
  }

  clear(): void {
    this.#read = 0;
    this.#size = 0;
  }
}
