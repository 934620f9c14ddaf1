/**
 * Feeds the configured sinks from the durable spool in the SQLite database (`cdr_delivery`, SqliteCdrStore).
 *
 * Every record gets one pending row per sink in the same transaction that commits it, so nothing committed can
 * miss a sink, also across restarts: on start the dispatcher resumes from the spool. Per sink, one delivery runs
 * at a time, oldest record first, up to the sink's `maxBatch`. A failure marks the records' rows (attempts, last
 * error, next attempt after an exponential backoff `retryMinMs · 2^(attempts−1)` capped at `retryMaxMs`) and
 * pauses the whole sink for the same kind of backoff on its consecutive failures; the first success after a
 * failure makes every waiting record due at once, so a receiver that comes back is drained immediately.
 */
import type { CdrRecord } from "./CdrRecord.js";
import type { CdrSink } from "./CdrSink.js";
import type { DeliverySpool } from "./SqliteSpool.js";

/** A dispatcher feeds the sinks of one spool: the CDRs (SqliteCdrStore) or the "recording ready" records. */
export interface CdrDispatcherOptions<T = CdrRecord> {
  store: DeliverySpool<T>;
  sinks: readonly CdrSink<T>[];
  retryMinMs: number;
  retryMaxMs: number;
  /** Called on each failed delivery (the service logs it at a bounded rate). */
  onFailure?: (sink: string, err: unknown, attempts: number) => void;
  now?: () => number;
}

/** `min · 2^(attempt − 1)`, capped at `max`; attempt counts from 1. */
export function backoffMs(attempt: number, min: number, max: number): number {
  const exp = Math.min(Math.max(attempt, 1) - 1, 40);
  return Math.min(max, min * 2 ** exp);
}

interface SinkState<T> {
  sink: CdrSink<T>;
  running: boolean;
  /** A kick arrived while a pump loop was running: run once more when it ends. */
  again: boolean;
  /** The timer is a failure backoff (kicks wait for it) rather than a wake-up for the next due record. */
  paused: boolean;
  failures: number;
  timer: NodeJS.Timeout | null;
  /** Resolves when the current pump loop ends (for close()). */
  loop: Promise<void> | null;
}

export class CdrDispatcher<T = CdrRecord> {
  private readonly store: DeliverySpool<T>;
  private readonly states: SinkState<T>[];
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly onFailure: ((sink: string, err: unknown, attempts: number) => void) | undefined;
  private readonly now: () => number;
  private closed = false;

  constructor(options: CdrDispatcherOptions<T>) {
    this.store = options.store;
    this.retryMinMs = options.retryMinMs;
    this.retryMaxMs = options.retryMaxMs;
    this.onFailure = options.onFailure;
    this.now = options.now ?? Date.now;
    this.states = options.sinks.map((sink) => ({
      sink,
      running: false,
      again: false,
      paused: false,
      failures: 0,
      timer: null,
      loop: null,
    }));
  }

  /** Starts delivering what the spool holds (call once after construction). */
  start(): void {
    this.kick();
  }

  /** Tells the dispatcher that new records were committed. */
  kick(): void {
    for (const s of this.states) {
      if (s.paused) {
        continue;
      }
      if (s.running) {
        s.again = true;
        continue;
      }
      if (s.timer !== null) {
        clearTimeout(s.timer);
        s.timer = null;
      }
      this.run(s);
    }
  }

  private run(s: SinkState<T>): void {
    if (this.closed || s.running) {
      return;
    }
    s.running = true;
    s.again = false;
    s.loop = this.pump(s).finally(() => {
      s.running = false;
      if (s.again && !s.paused) {
        this.run(s);
      }
    });
  }

  private schedule(s: SinkState<T>, delayMs: number, paused: boolean): void {
    if (this.closed) {
      return;
    }
    if (s.timer !== null) {
      clearTimeout(s.timer);
    }
    s.paused = paused;
    s.timer = setTimeout(
      () => {
        s.timer = null;
        s.paused = false;
        this.run(s);
      },
      Math.max(0, delayMs),
    );
    s.timer.unref();
  }

  private async pump(s: SinkState<T>): Promise<void> {
    const name = s.sink.name;
    while (!this.closed) {
      const now = this.now();
      const batch = this.store.dueDeliveries(name, now, s.sink.maxBatch);
      if (batch.length === 0) {
        const next = this.store.nextDueMs(name);
        if (next !== null) {
          this.schedule(s, next - now, false);
        }
        return;
      }
      const ids = batch.map((b) => b.recordId);
      try {
        await s.sink.deliver(batch.map((b) => b.record));
      } catch (err) {
        if (this.closed) {
          return;
        }
        s.failures++;
        const attempts = Math.max(...batch.map((b) => b.attempts)) + 1;
        const at = this.now();
        this.store.markFailed(name, ids, at + backoffMs(attempts, this.retryMinMs, this.retryMaxMs), String(err));
        this.onFailure?.(name, err, attempts);
        this.schedule(s, backoffMs(s.failures, this.retryMinMs, this.retryMaxMs), true);
        return;
      }
      // The receiver has the records: record that even when closing, so they are not offered again.
      this.store.markDelivered(name, ids, this.now());
      if (this.closed) {
        return;
      }
      if (s.failures > 0) {
        s.failures = 0;
        this.store.resetBackoff(name);
      }
    }
  }

  /** Undelivered records per sink. */
  pending(): Record<string, number> {
    return Object.fromEntries(this.states.map((s) => [s.sink.name, this.store.pendingCount(s.sink.name)]));
  }

  /** Stops scheduling, waits for deliveries in flight, and closes the sinks. The spool keeps what is left. */
  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.states) {
      if (s.timer !== null) {
        clearTimeout(s.timer);
        s.timer = null;
      }
    }
    await Promise.all(this.states.map((s) => s.loop ?? Promise.resolve()));
    await Promise.all(this.states.map((s) => s.sink.close()));
  }
}
