/**
 * The control plane's view of every Kurento object: its class, place in the tree, the MediaObject properties kept
 * on the main thread (name, tags, sendTagsInEvents, creationTime) and the worker that runs it.
 *
 * Ids follow kurento-protocol.md §6: `<uuid>_kurento.MediaPipeline`, `<pipelineId>/<uuid>_kurento.<Type>`,
 * `_<module>.<Type>` for plugin modules, HubPorts nested under their hub, and `manager_ServerManager`.
 */
import { randomUUID } from "node:crypto";
import type { MediaWorkerHandle } from "../pool/MediaWorkerHandle.js";
import { KmdRegistry, type ClassInfo } from "./kmd.js";

export const SERVER_MANAGER_ID = "manager_ServerManager";

export interface KObject {
  readonly id: string;
  readonly cls: ClassInfo;
  /** The pipeline (a pipeline's own id), or null for the ServerManager. */
  readonly pipelineId: string | null;
  readonly parentId: string | null;
  readonly children: Set<string>;
  name: string;
  readonly tags: Map<string, string>;
  sendTagsInEvents: boolean;
  /** Seconds since the epoch. */
  readonly creationTime: number;
  readonly worker: MediaWorkerHandle | null;
  /**
   * The application whose session created the pipeline (elements inherit it): with isolation, only that
   * application's sessions see the object. null for server-wide singletons (ServerManager, SipGateway), seen by all.
   */
  readonly application: string | null;
}

export function newObjectId(cls: ClassInfo, parentId: string | null): string {
  const prefix = cls.qualifiedName.slice(0, cls.qualifiedName.lastIndexOf("."));
  const own = `${randomUUID()}_${prefix}.${cls.name}`;
  return parentId === null ? own : `${parentId}/${own}`;
}

export class ObjectRegistry {
  readonly #objects = new Map<string, KObject>();

  constructor(kmd: KmdRegistry) {
    const cls = kmd.classByType("ServerManager");
    if (cls === undefined) {
      throw new TypeError("kmd: ServerManager is not described");
    }
    this.add({ id: SERVER_MANAGER_ID, cls, pipelineId: null, parentId: null, worker: null });
  }

  add(o: {
    id: string;
    cls: ClassInfo;
    pipelineId: string | null;
    parentId: string | null;
    worker: MediaWorkerHandle | null;
    application?: string | null;
  }): KObject {
    const obj: KObject = {
      ...o,
      application: o.application ?? null,
      children: new Set(),
      name: o.id,
      tags: new Map(),
      sendTagsInEvents: false,
      creationTime: Math.floor(Date.now() / 1000),
    };
    this.#objects.set(o.id, obj);
    if (o.parentId !== null) {
      this.#objects.get(o.parentId)?.children.add(o.id);
    }
    return obj;
  }

  get(id: string): KObject | undefined {
    return this.#objects.get(id);
  }

  has(id: string): boolean {
    return this.#objects.has(id);
  }

  get size(): number {
    return this.#objects.size;
  }

  /** Removes `id` and its subtree; returns the removed ids, children first. */
  remove(id: string): string[] {
    const obj = this.#objects.get(id);
    if (obj === undefined) {
      return [];
    }
    const removed: string[] = [];
    for (const child of [...obj.children]) {
      removed.push(...this.remove(child));
    }
    this.#objects.delete(id);
    if (obj.parentId !== null) {
      this.#objects.get(obj.parentId)?.children.delete(id);
    }
    removed.push(id);
    return removed;
  }

  pipelines(): KObject[] {
    return [...this.#objects.values()].filter((o) => o.cls.name === "MediaPipeline");
  }

  /** Every object of a worker's pipelines. */
  onWorker(worker: MediaWorkerHandle): KObject[] {
    return [...this.#objects.values()].filter((o) => o.worker === worker);
  }
}
