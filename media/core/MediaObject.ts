/**
 * Base of every object that lives in a media worker (pipelines and elements).
 *
 * Release contract (architecture.md §6, docs/closures.md), after mediasoup's `close()` / `routerClosed()`:
 *
 * - {@link release} is the one way an object ends, idempotent. It runs {@link unlink} (an element's graph
 *   connections), then {@link dispose} (the object's own sockets, ports, timers, peers, codec states), each once and
 *   each guarded, then the {@link whenReleased} listeners (its owner forgets it). A pipeline closes its elements
 *   through `MediaElement.pipelineClosed()`, silently.
 * - A released object raises nothing: its `ctx.emit` drops every event, because the control plane forgot the object
 *   when it asked for the release.
 * - Operations on a released object throw {@link InvalidStateError}, which the control plane maps to Kurento 40101.
 */
import type { JsonObject, JsonValue, WorkerSettings } from "../channel/protocol.js";
import { InvalidStateError, UnsupportedError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PortAllocator } from "../net/PortAllocator.js";
import type { EmitElementEvent } from "./events.js";

/** What a worker object gets from its owner instead of a reference to it (architecture.md §5.2). */
export interface ObjectContext {
  readonly id: string;
  readonly pipelineId: string;
  readonly settings: WorkerSettings;
  readonly ports: PortAllocator;
  readonly logger: Logger;
  /** Raises a Kurento event (media/core/events.ts) on this object; the control plane adds source, tags, timestamp. */
  readonly emit: EmitElementEvent;
  /**
   * Raises an event that a module's descriptor declares (media/sdk: a third-party element's own events); the
   * control plane checks its name against the element's descriptor and adds source, tags and timestamp.
   */
  readonly emitDescribed: (event: string, data: JsonObject) => void;
  /**
   * Another live object of the same pipeline in this worker (the pipeline itself included), by id; undefined for
   * unknown ids and for objects of other pipelines. Absent in harnesses that build elements alone.
   */
  lookup?(id: string): MediaObject | undefined;
}

export type Operation = (args: JsonObject) => JsonValue | Promise<JsonValue>;

export abstract class MediaObject {
  readonly id: string;
  /** The pipeline this object belongs to (a pipeline's own id for a pipeline). */
  readonly pipelineId: string;
  protected readonly ctx: ObjectContext;
  #released = false;
  readonly #releaseListeners: (() => void)[] = [];

  constructor(ctx: ObjectContext) {
    this.id = ctx.id;
    this.pipelineId = ctx.pipelineId;
    this.ctx = {
      ...ctx,
      emit: (event, data) => {
        if (!this.#released) {
          ctx.emit(event, data);
        }
      },
      emitDescribed: (event, data) => {
        if (!this.#released) {
          ctx.emitDescribed(event, data);
        }
      },
    };
  }

  get released(): boolean {
    return this.#released;
  }

  /** Runs `listener` once this object is released, by whichever path (its owner forgets it). Internal. */
  whenReleased(listener: () => void): void {
    this.#releaseListeners.push(listener);
  }

  /**
   * Runs a Kurento operation on this object. Subclasses expose their operations through {@link operations}.
   * @throws InvalidStateError when released; UnsupportedError for an operation Korus does not implement.
   */
  async invoke(operation: string, args: JsonObject): Promise<JsonValue> {
    this.assertAlive();
    const op = this.operations()[operation];
    if (op === undefined) {
      throw new UnsupportedError(`Operation '${operation}' is not supported by ${this.constructor.name}`);
    }
    const value = await op(args);
    return value;
  }

  /** The operations this object implements, keyed by Kurento operation name. Subclasses extend the parent's. */
  protected operations(): Record<string, Operation> {
    return {};
  }

  /**
   * Releases this object: unlinks it, frees its resources, tells its owner. Idempotent; never throws (a failing
   * step is logged and the next one still runs, so sockets and ports go back whatever unlinking threw).
   */
  release(): void {
    if (this.#released) {
      return;
    }
    this.#released = true;
    for (const [what, step] of [
      ["unlinking", () => this.unlink()],
      ["disposing", () => this.dispose()],
    ] as const) {
      try {
        step();
      } catch (err) {
        this.ctx.logger.error(`release failed while ${what}`, { objectId: this.id, error: String(err) });
      }
    }
    for (const l of this.#releaseListeners.splice(0)) {
      l();
    }
  }

  /** Detaches this object from the others before {@link dispose} (MediaElement: its connections). */
  protected unlink(): void {
    // Nothing to detach by default.
  }

  /** Frees this object's own sockets, ports, timers, peers and codec states. Called once, by release(). */
  protected abstract dispose(): void;

  protected assertAlive(): void {
    if (this.#released) {
      throw new InvalidStateError(`Object '${this.id}' is released`);
    }
  }
}
