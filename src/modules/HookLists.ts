/**
 * The control plane's hook lists (docs/modules.md, fastify's model): one entry per module, in registration order.
 * The answer rules of each hook are in types.ts.
 */
import type { FinalMedia, JsonObject, JsonValue } from "../../media/index.js";
import type { ClassInfo } from "../kurento/kmd.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { Logger } from "../logging/logger.js";
import type { ControlHooks, GoneReason, HttpRoute } from "./types.js";

interface Entry {
  readonly module: string;
  readonly hooks: ControlHooks;
}

export class HookLists {
  #entries: readonly Entry[] = [];
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  /**
   * Appends `module`'s hooks.
   * @throws TypeError when `module` already added hooks.
   */
  add(module: string, hooks: ControlHooks): void {
    if (this.#entries.some((e) => e.module === module)) {
      throw new TypeError(`module '${module}' already added its control hooks`);
    }
    this.#entries = [...this.#entries, { module, hooks }];
  }

  /** Removes `module`'s hooks (its service stopped). Unknown modules are ignored. */
  remove(module: string): void {
    this.#entries = this.#entries.filter((e) => e.module !== module);
  }

  /** The modules with hooks, in order. */
  get modules(): string[] {
    return this.#entries.map((e) => e.module);
  }

  /** True when some module defines hook `name` (lets callers skip building its arguments). */
  has(name: keyof ControlHooks): boolean {
    return this.#entries.some((e) => e.hooks[name] !== undefined);
  }

  createSingleton(cls: ClassInfo): string | undefined {
    for (const e of this.#entries) {
      const id = e.hooks.createSingleton?.(cls);
      if (id !== undefined) {
        return id;
      }
    }
    return undefined;
  }

  async elementCreated(obj: KObject, ctor: JsonObject): Promise<void> {
    for (const e of this.#entries) {
      await e.hooks.elementCreated?.(obj, ctor);
    }
  }

  operation(obj: KObject, opName: string, args: JsonObject): (() => JsonValue | Promise<JsonValue>) | undefined {
    for (const e of this.#entries) {
      const run = e.hooks.operation?.(obj, opName, args);
      if (run !== undefined) {
        return run;
      }
    }
    return undefined;
  }

  objectsGone(
    objects: readonly KObject[],
    reason: GoneReason,
    final: Promise<Readonly<Record<string, FinalMedia>>>,
  ): void {
    for (const e of this.#entries) {
      try {
        e.hooks.objectsGone?.(objects, reason, final);
      } catch (err) {
        this.#logger.error({ err, module: e.module }, "module hook objectsGone failed");
      }
    }
  }

  workerEvent(objectId: string, event: string, data: JsonObject): boolean {
    for (const e of this.#entries) {
      if (e.hooks.workerEvent?.(objectId, event, data) === true) {
        return true;
      }
    }
    return false;
  }

  sessionClosed(sessionId: string): void {
    for (const e of this.#entries) {
      try {
        e.hooks.sessionClosed?.(sessionId);
      } catch (err) {
        this.#logger.error({ err, module: e.module }, "module hook sessionClosed failed");
      }
    }
  }

  /** Every module's routes, in order. */
  routes(): HttpRoute[] {
    return this.#entries.flatMap((e) => [...(e.hooks.routes ?? [])]);
  }

  /**
   * Runs every `start` hook in order.
   * @throws (rejects) Error naming the module whose hook failed.
   */
  async start(): Promise<void> {
    for (const e of this.#entries) {
      try {
        await e.hooks.start?.();
      } catch (err) {
        throw new Error(`module '${e.module}': start hook failed: ${String(err)}`, { cause: err });
      }
    }
  }

  /** Runs every `shutdown` hook in reverse order; failures are logged. */
  async shutdown(): Promise<void> {
    for (const e of [...this.#entries].reverse()) {
      try {
        await e.hooks.shutdown?.();
      } catch (err) {
        this.#logger.error({ err, module: e.module }, "module hook shutdown failed");
      }
    }
  }
}
