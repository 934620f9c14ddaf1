/**
 * The promises of a video codec's queued jobs, by job id. The addon reports each job exactly once (done, error or
 * dropped to make room), except after close(), when whatever is still pending is rejected here.
 */
import { VideoCodecClosedError } from "./errors.js";

/**
 * Codecs with jobs in flight. The addon holds its JS callback, which must not hold the codec (or a codec dropped
 * without close() would never be collected, nor its thread end): the callback reaches the codec through a WeakRef,
 * and this set keeps a codec alive while a caller waits for one of its jobs.
 */
const inFlight = new Set<object>();

interface Pending<T> {
  resolve: (v: T) => void;
  reject: (e: Error) => void;
}

export class JobTable<T> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending<T>>();

  constructor(private readonly owner: object) {}

  /** A new job id and the promise that settles with its result. */
  add(): { id: number; promise: Promise<T> } {
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    inFlight.add(this.owner);
    return { id, promise };
  }

  resolve(id: number, v: T): void {
    const p = this.take(id);
    p?.resolve(v);
  }

  reject(id: number, e: Error): void {
    const p = this.take(id);
    p?.reject(e);
  }

  private take(id: number): Pending<T> | undefined {
    const p = this.pending.get(id);
    if (p !== undefined) {
      this.pending.delete(id);
      if (this.pending.size === 0) {
        inFlight.delete(this.owner);
      }
    }
    return p;
  }

  /** Whether a job is still waiting for its result. */
  has(id: number): boolean {
    return this.pending.has(id);
  }

  get size(): number {
    return this.pending.size;
  }

  /** Rejects every pending job (the codec was closed). */
  closeAll(what: string): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    inFlight.delete(this.owner);
    for (const p of all) {
      p.reject(new VideoCodecClosedError(`${what} was closed before the frame was processed`));
    }
  }
}

/** Counters of a video codec instance (from its video thread). */
export interface VideoCodecStats {
  /** Jobs waiting in the queue. */
  queued: number;
  /** Jobs dropped, oldest first, because the queue was full (the codec fell behind). */
  dropped: number;
  /** Jobs the video thread has run. */
  processed: number;
  /** Jobs that failed (corrupt input, encoder failure). */
  errors: number;
  /** Decoded frames not delivered because every pooled buffer was still held by JS. */
  poolDrops: number;
  /** Microseconds the video thread spent in the codec. */
  busyUs: number;
}
