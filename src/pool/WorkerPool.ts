/**
 * The media worker pool (architecture.md §2): one worker per core by default, each with a disjoint slice of the
 * RTP port range. A new pipeline goes to the least-loaded worker (element count, then event-loop utilisation).
 * A worker that dies is replaced by a fresh one on the same slice; the pool reports the pipelines it held.
 */
import type { JsonObject, WorkerSettings } from "../../media/index.js";
import type { Logger } from "../logging/logger.js";
import { MediaWorkerHandle } from "./MediaWorkerHandle.js";

export interface PoolOptions {
  workers: number;
  script: URL;
  base: Omit<WorkerSettings, "workerIndex" | "rtpPortMin" | "rtpPortMax">;
  rtpPortMin: number;
  rtpPortMax: number;
  requestTimeoutMs: number;
  execArgv?: string[];
}

export interface PoolCallbacks {
  onEvent(objectId: string, event: string, data: JsonObject): void;
  onReleased(objectId: string): void;
  /** A worker died; `pipelines` were on it and are gone. */
  onWorkerDied(index: number, pipelines: string[], reason: string): void;
}

/** Splits [min, max] into `n` disjoint slices of whole even/odd pairs. */
export function splitPortRange(min: number, max: number, n: number): [number, number][] {
  const first = min % 2 === 0 ? min : min + 1;
  const pairs = Math.floor((max - first + 1) / 2);
  if (pairs < n) {
    throw new RangeError(`RTP range ${min}-${max} has ${pairs} port pairs, fewer than the ${n} workers`);
  }
  const per = Math.floor(pairs / n);
  const out: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const lo = first + i * per * 2;
    const hi = i === n - 1 ? first + pairs * 2 - 1 : lo + per * 2 - 1;
    out.push([lo, hi]);
  }
  return out;
}

export class WorkerPool {
  readonly #opts: PoolOptions;
  readonly #logger: Logger;
  readonly #callbacks: PoolCallbacks;
  readonly #workers: MediaWorkerHandle[] = [];
  readonly #slices: [number, number][];
  #closing = false;
  /** A worker that dies before the pool started is not replaced: start-up fails instead. */
  #started = false;
  /** Number of workers that died and were replaced since start. */
  respawns = 0;

  constructor(opts: PoolOptions, logger: Logger, callbacks: PoolCallbacks) {
    this.#opts = opts;
    this.#logger = logger.child({ ns: "pool" });
    this.#callbacks = callbacks;
    this.#slices = splitPortRange(opts.rtpPortMin, opts.rtpPortMax, opts.workers);
  }

  get workers(): readonly MediaWorkerHandle[] {
    return this.#workers;
  }

  /**
   * Starts every worker and waits for each to be ready (its modules loaded).
   * @throws (rejects) the first worker's failure, e.g. a module whose worker entry fails; the pool is closed then.
   */
  async start(): Promise<void> {
    for (let i = 0; i < this.#opts.workers; i++) {
      this.#workers.push(this.#spawn(i));
    }
    try {
      await Promise.all(this.#workers.map((w) => w.ready));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#started = true;
    this.#logger.info({ workers: this.#workers.length }, "media workers ready");
  }

  #spawn(index: number): MediaWorkerHandle {
    const [lo, hi] = this.#slices[index] ?? [0, 0];
    const settings: WorkerSettings = { ...this.#opts.base, workerIndex: index, rtpPortMin: lo, rtpPortMax: hi };
    return new MediaWorkerHandle(
      this.#opts.script,
      settings,
      this.#logger,
      {
        onEvent: (id, ev, data) => this.#callbacks.onEvent(id, ev, data),
        onReleased: (id) => this.#callbacks.onReleased(id),
        onDeath: (h, reason) => this.#onDeath(h, reason),
      },
      this.#opts.requestTimeoutMs,
      this.#opts.execArgv,
    );
  }

  #onDeath(handle: MediaWorkerHandle, reason: string): void {
    const pipelines = [...handle.pipelines];
    handle.pipelines.clear();
    if (this.#closing || !this.#started) {
      return;
    }
    this.#logger.error({ worker: handle.index, pipelines: pipelines.length, reason }, "media worker died");
    const fresh = this.#spawn(handle.index);
    this.#workers[this.#workers.indexOf(handle)] = fresh;
    this.respawns++;
    fresh.ready.then(
      () => this.#logger.info({ worker: handle.index }, "replacement media worker ready"),
      (err: unknown) => this.#logger.error({ err }, "replacement media worker failed to start"),
    );
    this.#callbacks.onWorkerDied(handle.index, pipelines, reason);
  }

  /** The live worker with the least load, for a new pipeline. */
  pick(): MediaWorkerHandle {
    let best: MediaWorkerHandle | undefined;
    for (const w of this.#workers) {
      if (w.dead) {
        continue;
      }
      if (
        best === undefined ||
        w.pipelines.size < best.pipelines.size ||
        (w.pipelines.size === best.pipelines.size && w.load.elu < best.load.elu)
      ) {
        best = w;
      }
    }
    if (best === undefined) {
      throw new Error("no media worker is alive");
    }
    return best;
  }

  /** Terminates every worker (shutdown). */
  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#workers.map((w) => w.terminate().catch(() => undefined)));
  }
}
