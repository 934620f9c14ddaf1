/**
 * A manual clock for SIP timer tests (architecture.md §8: "fake clocks for SIP timers", like SIP.js's
 * `jasmine.clock()`). Implements the `Clock` interface of `sip/transaction/timers.ts`; time only moves when the test
 * calls {@link FakeClock.tick}.
 */

import type { Clock, TimerHandle } from "../../sip/index.js";

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  #now = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    this.#pending.set(id, { id, at: this.#now + Math.max(0, ms), callback });
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#pending.delete(handle as number);
  }

  /** Number of scheduled callbacks (0 after a transaction terminated: nothing leaks). */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Advances time by `ms`, firing due callbacks in time order (ties in scheduling order). Callbacks scheduled while
   * ticking fire too if they fall inside the window.
   */
  tick(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: Pending | undefined;
      for (const p of this.#pending.values()) {
        if (p.at <= end && (next === undefined || p.at < next.at || (p.at === next.at && p.id < next.id))) {
          next = p;
        }
      }
      if (next === undefined) {
        break;
      }
      this.#pending.delete(next.id);
      this.#now = next.at;
      next.callback();
    }
    this.#now = end;
  }
}
