/**
 * Base of every object that lives in a media worker (pipelines and elements).
 *
 * Release contract (architecture.md §6): `release()` is idempotent; it runs the subclass' `onRelease()` exactly
 * once, then fires the internal `@release` listeners (the pipeline forgets the element). Operations on a released
 * object throw {@link InvalidStateError}, which the control plane maps to Kurento 40101.
 */
import type { JsonObject, JsonValue, WorkerSettings } from "../channel/protocol.js";
import { InvalidStateError, UnsupportedError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { PortAllocator } from "../net/PortAllocator.js";

/** What a worker object gets from its owner instead of a reference to it (architecture.md §5.2). */
export interface ObjectContext {
  readonly id: string;
  readonly pipelineId: string;
  readonly settings: WorkerSettings;
  readonly ports: PortAllocator;
  readonly logger: Logger;
  /** Raises a Kurento event on this object; the control plane adds source, tags and timestamp. */
  emit(event: string, data: JsonObject): void;
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
    this.ctx = ctx;
  }

  get released(): boolean {
    return this.#released;
  }

  /** Registers an internal `@release` listener. */
  onReleased(listener: () => void): void {
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

  release(): void {
    if (this.#released) {
      return;
    }
    this.#released = true;
    try {
      this.onRelease();
    } catch (err) {
      this.ctx.logger.error("release failed", { error: String(err) });
    }
    for (const l of this.#releaseListeners.splice(0)) {
      l();
    }
  }

  /** Frees sockets, ports, timers and peers. Called once. Must not throw. */
  protected abstract onRelease(): void;

  protected assertAlive(): void {
    if (this.#released) {
      throw new InvalidStateError(`Object '${this.id}' is released`);
    }
  }
}
