/**
 * Timers owned by one element: every timer started through it is cleared when the element is released, so a module
 * cannot leave a callback running against a released element. Timers are unref'd (they never keep a worker alive)
 * and a callback that throws is logged, not allowed to escape into the worker.
 */
import type { Logger } from "../logger.js";

export type TimerHandle = NodeJS.Timeout;

export class ElementTimers {
  readonly #live = new Set<TimerHandle>();
  readonly #logger: Logger;
  #closed = false;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /** Runs `fn` once after `ms`. After release this does nothing and returns undefined. */
  setTimeout(fn: () => void, ms: number): TimerHandle | undefined {
    if (this.#closed) {
      return undefined;
    }
    const h = setTimeout(() => {
      this.#live.delete(h);
      this.#run(fn);
    }, ms);
    h.unref();
    this.#live.add(h);
    return h;
  }

  /** Runs `fn` every `ms` until cleared or released. After release this does nothing and returns undefined. */
  setInterval(fn: () => void, ms: number): TimerHandle | undefined {
    if (this.#closed) {
      return undefined;
    }
    const h = setInterval(() => this.#run(fn), ms);
    h.unref();
    this.#live.add(h);
    return h;
  }

  /** Clears a timer started here (either kind). Unknown handles are ignored. */
  clear(h: TimerHandle | undefined): void {
    if (h !== undefined && this.#live.delete(h)) {
      clearTimeout(h);
    }
  }

  /** Timers still pending (tests, diagnostics). */
  get size(): number {
    return this.#live.size;
  }

  /** Clears every timer; later calls to setTimeout/setInterval do nothing. Called by the release of the element. */
  closeAll(): void {
    this.#closed = true;
    for (const h of this.#live) {
      clearTimeout(h);
    }
    this.#live.clear();
  }

  #run(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#logger.error("element timer callback failed", { error: String(err) });
    }
  }
}
