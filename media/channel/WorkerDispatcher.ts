/**
 * Worker side of the channel: owns every pipeline of this worker and serves {@link ToWorker} requests.
 *
 * Edge rule (architecture.md §5.7): a malformed message is logged and rejected, never thrown out of the handler.
 * Events raised synchronously while a request is handled are held back and posted after its response, so the
 * control plane never sees an event before the response that caused it.
 */
import { monitorEventLoopDelay, performance } from "node:perf_hooks";
import { MediaElement, type ElementContext } from "../core/MediaElement.js";
import { MediaPipeline } from "../core/MediaPipeline.js";
import type { MediaObject } from "../core/MediaObject.js";
import { InvalidStateError, serializeError, UnsupportedError } from "../errors.js";
import { createLogger, type Logger } from "../logger.js";
import { PortAllocator } from "../net/PortAllocator.js";
import { rtpTotalsReport } from "../rtp/rtpTotals.js";
import type { ElementRegistry } from "../sdk/ElementRegistry.js";
import type {
  ConnectParams,
  FromWorker,
  JsonObject,
  JsonValue,
  MediaKind,
  ReleaseResult,
  ToWorker,
  WorkerSettings,
} from "./protocol.js";
import { MEDIA_KINDS } from "./protocol.js";

export type Post = (msg: FromWorker) => void;

/** Sampling period of the event-loop delay histogram (ms). */
const LAG_RESOLUTION_MS = 20;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (o: Record<string, unknown>, k: string): string => {
  const v = o[k];
  if (typeof v !== "string" || v === "") {
    throw new TypeError(`'${k}' must be a non-empty string`);
  }
  return v;
};

export class WorkerDispatcher {
  readonly #settings: WorkerSettings;
  readonly #post: Post;
  readonly #ports: PortAllocator;
  readonly #logger: Logger;
  readonly #registry: ElementRegistry;
  readonly #objects = new Map<string, MediaObject>();
  readonly #pipelines = new Map<string, MediaPipeline>();
  #held: FromWorker[] | null = null;
  #flowTimer: NodeJS.Timeout | undefined;
  #loadTimer: NodeJS.Timeout | undefined;
  #elu = performance.eventLoopUtilization();
  /** Event-loop delay between load reports (metrics: korus_worker_event_loop_lag_seconds). */
  readonly #lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });

  /** `registry`: the element types of this worker (built-in ones and every module's), filled before any request. */
  constructor(settings: WorkerSettings, post: Post, registry: ElementRegistry) {
    this.#settings = settings;
    this.#registry = registry;
    this.#post = post;
    this.#ports = new PortAllocator(settings.rtpPortMin, settings.rtpPortMax);
    this.#logger = createLogger("media.worker", { worker: settings.workerIndex });
    this.#flowTimer = setInterval(() => this.#checkFlows(), Math.max(100, Math.floor(settings.flowTimeoutMs / 4)));
    this.#flowTimer.unref();
    this.#loadTimer = setInterval(() => this.#reportLoad(), settings.loadReportMs);
    this.#loadTimer.unref();
    this.#lag.enable();
  }

  get ports(): PortAllocator {
    return this.#ports;
  }

  /** Serves one message from the main thread. Never throws. */
  handle(raw: unknown): void {
    if (!isObject(raw) || raw["kind"] !== "request" || typeof raw["id"] !== "number") {
      this.#logger.warn("dropping malformed channel message");
      return;
    }
    const id = raw["id"];
    const held: FromWorker[] = [];
    this.#held = held;
    let result: Promise<JsonValue>;
    try {
      result = Promise.resolve(this.#dispatch(raw as ToWorker));
    } catch (err) {
      result = Promise.reject(err instanceof Error ? err : new Error(String(err)));
    } finally {
      this.#held = null;
    }
    result.then(
      (value) => {
        this.#post({ kind: "response", id, ok: true, value });
        this.#flush(held);
      },
      (err: unknown) => {
        this.#post({ kind: "response", id, ok: false, error: serializeError(err) });
        this.#flush(held);
      },
    );
  }

  #flush(held: FromWorker[]): void {
    for (const m of held) {
      this.#post(m);
    }
  }

  #emit(objectId: string, event: string, data: JsonObject): void {
    const msg: FromWorker = { kind: "event", objectId, event, data };
    if (this.#held !== null) {
      this.#held.push(msg);
    } else {
      this.#post(msg);
    }
  }

  #dispatch(msg: ToWorker): JsonValue | Promise<JsonValue> {
    const p: unknown = msg.params;
    if (!isObject(p)) {
      throw new TypeError("'params' must be an object");
    }
    switch (msg.method) {
      case "pipeline.create": {
        return this.#createPipeline(str(p, "pipelineId"));
      }
      case "element.create": {
        return this.#createElement(str(p, "pipelineId"), str(p, "elementId"), str(p, "type"), p["ctor"]);
      }
      case "object.invoke": {
        const args = p["args"];
        return this.#object(str(p, "objectId")).invoke(str(p, "operation"), isObject(args) ? (args as JsonObject) : {});
      }
      case "element.connect":
      case "element.disconnect": {
        return this.#connect(msg.method === "element.connect", this.#connectParams(p));
      }
      case "object.release": {
        return this.#release(str(p, "objectId"));
      }
      case "worker.dump": {
        let elements = 0;
        for (const pl of this.#pipelines.values()) {
          elements += pl.elements.size;
        }
        return { pipelines: this.#pipelines.size, elements, portsInUse: this.#ports.inUse };
      }
      default: {
        throw new UnsupportedError(`unknown channel method '${(msg as { method: string }).method}'`);
      }
    }
  }

  #connectParams(p: Record<string, unknown>): ConnectParams {
    const mt = p["mediaType"];
    if (mt !== undefined && !(typeof mt === "string" && (MEDIA_KINDS as readonly string[]).includes(mt))) {
      throw new TypeError("'mediaType' must be AUDIO, VIDEO or DATA");
    }
    return {
      sourceId: str(p, "sourceId"),
      sinkId: str(p, "sinkId"),
      ...(mt === undefined ? {} : { mediaType: mt as MediaKind }),
      sourceDescription: typeof p["sourceDescription"] === "string" ? p["sourceDescription"] : "default",
      sinkDescription: typeof p["sinkDescription"] === "string" ? p["sinkDescription"] : "default",
    };
  }

  #object(id: string): MediaObject {
    const o = this.#objects.get(id);
    if (o === undefined) {
      throw new InvalidStateError(`Object '${id}' not found`);
    }
    return o;
  }

  #element(id: string): MediaElement {
    const o = this.#object(id);
    if (!(o instanceof MediaElement)) {
      throw new TypeError(`Object '${id}' is not a MediaElement`);
    }
    return o;
  }

  #context(id: string, pipelineId: string): Omit<ElementContext, "type"> {
    return {
      id,
      pipelineId,
      settings: this.#settings,
      ports: this.#ports,
      logger: this.#logger.child({ pipelineId, elementId: id === pipelineId ? undefined : id }),
      emit: (event, data) => this.#emit(id, event, data),
      emitDescribed: (event, data) => this.#emit(id, event, data),
      lookup: (other) => {
        const o = this.#objects.get(other);
        return o?.pipelineId === pipelineId ? o : undefined;
      },
    };
  }

  #createPipeline(pipelineId: string): null {
    if (this.#objects.has(pipelineId)) {
      throw new TypeError(`Object '${pipelineId}' already exists`);
    }
    const pipeline = new MediaPipeline(this.#context(pipelineId, pipelineId));
    this.#objects.set(pipelineId, pipeline);
    this.#pipelines.set(pipelineId, pipeline);
    pipeline.whenReleased(() => {
      this.#objects.delete(pipelineId);
      this.#pipelines.delete(pipelineId);
    });
    return null;
  }

  async #createElement(pipelineId: string, elementId: string, type: string, ctor: unknown): Promise<null> {
    const pipeline = this.#pipelines.get(pipelineId);
    if (pipeline === undefined) {
      throw new InvalidStateError(`Object '${pipelineId}' not found`);
    }
    if (this.#objects.has(elementId)) {
      throw new TypeError(`Object '${elementId}' already exists`);
    }
    const cls = this.#registry.get(type);
    if (cls === undefined) {
      throw new UnsupportedError(`Korus does not implement element type '${type}'`);
    }
    const ctx: ElementContext = { ...this.#context(elementId, pipelineId), type };
    // Registered once init has finished; a pipeline released meanwhile is caught inside createElement().
    const element = await pipeline.createElement(cls, ctx, isObject(ctor) ? (ctor as JsonObject) : {});
    this.#objects.set(elementId, element);
    element.whenReleased(() => this.#objects.delete(elementId));
    return null;
  }

  /**
   * One request releases an object and its subtree (a pipeline: every element, silently). The answer carries the
   * final media facts of the elements it closed, taken just before, for the CDRs of their legs (docs/closures.md).
   */
  #release(objectId: string): ReleaseResult {
    const o = this.#objects.get(objectId);
    if (o === undefined) {
      return { final: {} };
    }
    let final: ReleaseResult["final"] = {};
    try {
      final = o instanceof MediaPipeline ? o.finalMedia() : o instanceof MediaElement ? { [o.id]: o.finalMedia() } : {};
    } catch (err) {
      this.#logger.warn("final media facts failed", { objectId, error: String(err) });
    }
    o.release();
    return { final };
  }

  #connect(connect: boolean, p: ConnectParams): null {
    const source = this.#element(p.sourceId);
    const sink = this.#element(p.sinkId);
    const pipeline = this.#pipelines.get(source.pipelineId);
    if (pipeline === undefined) {
      throw new InvalidStateError(`pipeline of '${source.id}' not found`);
    }
    if (connect) {
      pipeline.connect(source, sink, p.mediaType, p.sourceDescription, p.sinkDescription);
    } else {
      pipeline.disconnect(source, sink, p.mediaType, p.sourceDescription, p.sinkDescription);
    }
    return null;
  }

  #checkFlows(): void {
    const now = performance.now();
    for (const p of this.#pipelines.values()) {
      try {
        p.checkFlows(now);
      } catch (err) {
        this.#logger.error("flow check failed", { error: String(err) });
      }
    }
  }

  #reportLoad(): void {
    const elu = performance.eventLoopUtilization(this.#elu);
    this.#elu = performance.eventLoopUtilization();
    let elements = 0;
    let recordings = 0;
    const transcoders: Record<string, number> = {};
    const count = (from: string, to: string): void => {
      const key = `${from}>${to}`;
      transcoders[key] = (transcoders[key] ?? 0) + 1;
    };
    const walk = this.#settings.metrics !== false;
    for (const p of this.#pipelines.values()) {
      elements += p.elements.size;
      for (const e of walk ? p.elements.values() : []) {
        e.forEachTranscoding(count);
        if (e.recordingActive()) {
          recordings++;
        }
      }
    }
    const lagNs = this.#lag.mean;
    this.#lag.reset();
    this.#post({
      kind: "load",
      elements,
      pipelines: this.#pipelines.size,
      elu: elu.utilization,
      metrics: {
        rtp: rtpTotalsReport(),
        transcoders,
        recordings,
        // The histogram measures the sampling timer's period: the lag is what exceeds its resolution.
        lagSeconds: Number.isFinite(lagNs) ? Math.max(0, lagNs / 1e6 - LAG_RESOLUTION_MS) / 1000 : 0,
      },
    });
  }

  /** Releases everything (worker shutdown). */
  close(): void {
    clearInterval(this.#flowTimer);
    clearInterval(this.#loadTimer);
    this.#lag.disable();
    for (const p of [...this.#pipelines.values()]) {
      p.release();
    }
  }
}
