/**
 * Admission by the server's real capacity (issue 9 §9): a fixed per-source rate (the trunk bucket) cannot know how
 * much the process can handle, so a carrier's address flooding below its bucket still filled memory. This monitor
 * samples the event-loop lag with one timer (the drift of a short interval, the cheapest measure Node offers besides
 * `perf_hooks.monitorEventLoopDelay`, whose histogram would need a read per decision) and keeps a plain boolean that
 * the admission path reads per message: no allocation, no lookup.
 *
 * Hysteresis: the server counts as overloaded from a sample above `thresholdMs` until a sample below half of it.
 */

/** Options of a {@link LoadMonitor}. */
export interface LoadMonitorOptions {
  /** Lag above which the server is overloaded, in ms (config `sip.overloadLagMs`). */
  readonly thresholdMs: number;
  /** Sampling interval in ms (default 20). */
  readonly intervalMs?: number;
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

export class LoadMonitor {
  /** True while the event loop lags beyond the threshold (read on the hot path). */
  overloaded = false;
  readonly #threshold: number;
  readonly #interval: number;
  readonly #now: () => number;
  #last = 0;
  #lag = 0;
  #timer: NodeJS.Timeout | undefined;

  /** @throws {RangeError} for a threshold that is not a positive number. */
  constructor(options: LoadMonitorOptions) {
    if (!(options.thresholdMs > 0)) {
      throw new RangeError("load monitor: thresholdMs must be > 0");
    }
    this.#threshold = options.thresholdMs;
    this.#interval = options.intervalMs ?? 20;
    this.#now = options.now ?? ((): number => performance.now());
  }

  /** The last measured lag, in ms. */
  get lagMs(): number {
    return this.#lag;
  }

  /** Seconds a client should wait before retrying (Retry-After, RFC 3261 §20.33): about twice the lag, 1–30. */
  get retryAfterS(): number {
    return Math.min(30, Math.max(1, Math.ceil((2 * this.#lag) / 1000)));
  }

  /** Starts sampling (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) {
      return;
    }
    this.#last = this.#now();
    this.#timer = setInterval(() => this.sample(), this.#interval);
    this.#timer.unref();
  }

  /** @internal One sample: the drift since the previous one (called by the timer; tests call it directly). */
  sample(): void {
    const now = this.#now();
    this.#lag = Math.max(0, now - this.#last - this.#interval);
    this.#last = now;
    if (this.#lag > this.#threshold) {
      this.overloaded = true;
    } else if (this.#lag < this.#threshold / 2) {
      this.overloaded = false;
    }
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.overloaded = false;
  }
}
