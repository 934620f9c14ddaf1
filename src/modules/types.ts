/**
 * The control-plane side of a Korus module (docs/modules.md): the hooks a module's control entry returns, and the
 * API that entry is called with. Korus's own SIP service adds its hooks through the same lists (module "korus").
 *
 * Order and answers (fastify's model: hooks are lists, run in registration order; modules register in dependency
 * order, Korus's own first):
 * - `createSingleton`, `operation`: the first hook that answers wins; later ones are not asked.
 * - `workerEvent`: the first hook that returns true consumes the event (no later hook and no client sees it).
 * - `elementCreated`, `start`: every hook in order, awaited one by one; the first that throws stops the chain (the
 *   `create` fails and the element is released; start-up fails naming the module).
 * - `objectsGone`, `sessionClosed`: every hook in order; one that throws is logged and the next still runs.
 * - `shutdown`: every hook in reverse order, awaited; errors are logged.
 * - `routes`: every module's HTTP routes, tried in order after Korus's own; the first that returns true answered.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FinalMedia, JsonObject, JsonValue } from "../../media/index.js";
import type { ClassInfo } from "../kurento/kmd.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { Logger } from "../logging/logger.js";

/** An HTTP route on Korus's listener: true when it answered the request. Same token check as the admin routes. */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

/** Why objects left the registry. */
export type GoneReason = "released" | "worker-died";

/** Every hook is optional. See the file comment for the order and answer rules. */
export interface ControlHooks {
  /** A `create` of `cls`: the id of an existing server-wide object to answer with (a singleton), or undefined. */
  createSingleton?(cls: ClassInfo): string | undefined;
  /** An element was created in its worker; throwing releases it and fails the `create` with that error. */
  elementCreated?(obj: KObject, ctor: JsonObject): Promise<void> | void;
  /** An operation about to run: a runner that takes it over, or undefined to let it proceed. */
  operation?(obj: KObject, opName: string, args: JsonObject): (() => JsonValue | Promise<JsonValue>) | undefined;
  /**
   * Objects left the registry: released by a client, or gone with their media worker. `final` settles with the
   * final media facts of the released elements, by id, which the worker returns with the release itself (empty
   * when the worker died or failed); it never rejects. See docs/closures.md.
   */
  objectsGone?(
    objects: readonly KObject[],
    reason: GoneReason,
    final: Promise<Readonly<Record<string, FinalMedia>>>,
  ): void;
  /** An event a worker raised on an object: true consumes it (an internal event no client sees). */
  workerEvent?(objectId: string, event: string, data: JsonObject): boolean;
  /** A Kurento session ended (closeSession, or dropped by garbage collection). */
  sessionClosed?(sessionId: string): void;
  /** HTTP routes served on Korus's listener. */
  readonly routes?: readonly HttpRoute[];
  /** Runs once the media workers are up, before Korus listens. */
  start?(): Promise<void> | void;
  /** Runs on shutdown, before pipelines are released. */
  shutdown?(): Promise<void> | void;
}

/** What a module's control entry is called with. */
export interface ControlApi {
  /** The module's name (its kmd `name`). */
  readonly module: string;
  readonly logger: Logger;
  /** Raises `event` on `objectId` for its subscribers, as a worker event would. */
  emitEvent(objectId: string, event: string, data: JsonObject): void;
  /**
   * Runs a Kurento operation on a live object in its worker (no validation against the kmd).
   * @throws (rejects) when the object is unknown or the worker answers an error.
   */
  invoke(objectId: string, operation: string, args: JsonObject): Promise<JsonValue>;
}

/** The signature of a control entry's default export. */
export type ControlEntry = (api: ControlApi) => ControlHooks | Promise<ControlHooks>;
