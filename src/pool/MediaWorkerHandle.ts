/**
 * Main-thread handle of one media worker: typed requests with timeouts, event fan-out, log forwarding, and death
 * detection. When the worker exits or errors, every pending request is rejected with InvalidStateError and the
 * `onDeath` callback runs once (the pool then reports the worker's pipelines released and starts a replacement).
 */
import { Worker } from "node:worker_threads";
import type {
  FromWorker,
  JsonObject,
  JsonValue,
  MediaMethod,
  MediaParams,
  MediaResults,
  WorkerMetricsReport,
  WorkerSettings,
} from "../../media/index.js";
import type { Logger } from "../logging/logger.js";

interface Pending {
  resolve: (v: JsonValue) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  method: string;
}

/** An error a worker answered with, rebuilt from its serialised form. */
export class WorkerRequestError extends Error {
  override readonly name: string;
  readonly kurentoType: string | undefined;
  constructor(name: string, message: string, kurentoType?: string) {
    super(message);
    this.name = name;
    this.kurentoType = kurentoType;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface WorkerCallbacks {
  onEvent(objectId: string, event: string, data: JsonObject): void;
  onReleased(objectId: string): void;
  onDeath(handle: MediaWorkerHandle, reason: string): void;
}

export class MediaWorkerHandle {
  readonly index: number;
  readonly settings: WorkerSettings;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  readonly #logger: Logger;
  readonly #callbacks: WorkerCallbacks;
  readonly #timeoutMs: number;
  readonly ready: Promise<void>;
  /** The element types the worker registered (its `ready` message); empty until then. */
  elementTypes: readonly string[] = [];
  #nextId = 1;
  #dead = false;
  /** Pipelines placed on this worker. */
  readonly pipelines = new Set<string>();
  load = { elements: 0, pipelines: 0, elu: 0 };
  /** The metrics of the worker's last load report (src/metrics/ sums them over the workers); null before the first. */
  metrics: WorkerMetricsReport | null = null;

  constructor(
    script: URL,
    settings: WorkerSettings,
    logger: Logger,
    callbacks: WorkerCallbacks,
    timeoutMs: number,
    execArgv?: string[],
  ) {
    this.index = settings.workerIndex;
    this.settings = settings;
    this.#logger = logger.child({ worker: settings.workerIndex });
    this.#callbacks = callbacks;
    this.#timeoutMs = timeoutMs;
    this.#worker = new Worker(script, { workerData: settings, ...(execArgv ? { execArgv } : {}) });
    let markReady: () => void = () => undefined;
    let failReady: (e: Error) => void = () => undefined;
    this.ready = new Promise<void>((res, rej) => {
      markReady = res;
      failReady = rej;
    });
    this.ready.catch(() => undefined);
    this.#worker.on("message", (msg: FromWorker) => {
      if (msg.kind === "ready") {
        this.elementTypes = msg.types;
        markReady();
        return;
      }
      this.#onMessage(msg);
    });
    this.#worker.on("error", (err) => {
      this.#logger.error({ err }, "media worker error");
      failReady(err);
      this.#die(`error: ${err.message}`);
    });
    this.#worker.on("exit", (code) => {
      failReady(new Error(`media worker exited with code ${code}`));
      this.#die(`exit code ${code}`);
    });
  }

  get dead(): boolean {
    return this.#dead;
  }

  get threadId(): number {
    return this.#worker.threadId;
  }

  /**
   * Sends a typed request to the worker.
   * @throws (rejects) WorkerRequestError as the worker answered; InvalidStateError-named error on timeout or death.
   */
  request<M extends MediaMethod>(method: M, params: MediaParams<M>): Promise<MediaResults[M]> {
    if (this.#dead) {
      return Promise.reject(new WorkerRequestError("InvalidStateError", "media worker is gone"));
    }
    const id = this.#nextId++;
    return new Promise<MediaResults[M]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new WorkerRequestError("InvalidStateError", `media worker did not answer '${method}' in time`));
      }, this.#timeoutMs);
      this.#pending.set(id, { resolve: resolve as (v: JsonValue) => void, reject, timer, method });
      this.#worker.postMessage({ kind: "request", id, method, params });
    });
  }

  #onMessage(msg: FromWorker): void {
    switch (msg.kind) {
      case "response": {
        const p = this.#pending.get(msg.id);
        if (p === undefined) {
          return;
        }
        this.#pending.delete(msg.id);
        clearTimeout(p.timer);
        if (msg.ok) {
          p.resolve(msg.value);
        } else {
          p.reject(new WorkerRequestError(msg.error.name, msg.error.message, msg.error.kurentoType));
        }
        return;
      }
      case "event": {
        // Deferred one turn so a response always reaches the client before the events that follow it.
        setImmediate(() => this.#callbacks.onEvent(msg.objectId, msg.event, msg.data));
        return;
      }
      case "released": {
        setImmediate(() => this.#callbacks.onReleased(msg.objectId));
        return;
      }
      case "log": {
        this.#logger[msg.level]({ ns: msg.namespace, ...msg.context }, msg.message);
        return;
      }
      case "load": {
        this.load = { elements: msg.elements, pipelines: msg.pipelines, elu: msg.elu };
        this.metrics = msg.metrics;
        return;
      }
      default: {
        this.#logger.warn("unknown message from media worker");
      }
    }
  }

  #die(reason: string): void {
    if (this.#dead) {
      return;
    }
    this.#dead = true;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new WorkerRequestError("InvalidStateError", `media worker died during '${p.method}' (${reason})`));
      this.#pending.delete(id);
    }
    this.#callbacks.onDeath(this, reason);
  }

  /** Kills the worker thread (shutdown, or a failure drill). */
  async terminate(): Promise<void> {
    await this.#worker.terminate();
  }
}
