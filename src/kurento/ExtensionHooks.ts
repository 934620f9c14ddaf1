/**
 * A stop-gap combinator over KurentoServer's one extension slot (`setExtension`), so that the WebRTC legs' CDR hooks
 * (src/cdr/webrtcCdr.ts) and the SIP service's hooks are installed together. The hook lists of the module door
 * replace it; its rules are theirs: `createSingleton` and `operation` take the first answer, `elementCreated` and
 * `objectsGone` run every hook in order, `workerEvent` stops at the first hook that consumes the event.
 */
import type { KurentoExtension, KurentoServer } from "./KurentoServer.js";

export class ExtensionHooks {
  readonly #k: Pick<KurentoServer, "setExtension">;
  readonly #list: KurentoExtension[] = [];

  constructor(k: Pick<KurentoServer, "setExtension">) {
    this.#k = k;
  }

  /** Adds hooks after those already added; returns the function that removes them again. */
  add(ext: KurentoExtension): () => void {
    this.#list.push(ext);
    this.#install();
    return () => {
      const i = this.#list.indexOf(ext);
      if (i >= 0) {
        this.#list.splice(i, 1);
        this.#install();
      }
    };
  }

  #install(): void {
    const list = [...this.#list];
    this.#k.setExtension(list.length === 0 ? undefined : list.length === 1 ? list[0] : combine(list));
  }
}

/** One extension that runs `list` in order. */
function combine(list: readonly KurentoExtension[]): KurentoExtension {
  return {
    createSingleton: (cls) => {
      for (const e of list) {
        const id = e.createSingleton?.(cls);
        if (id !== undefined) {
          return id;
        }
      }
      return undefined;
    },
    elementCreated: (obj, ctor) => {
      // Synchronous while every hook is (as a single extension would be); a promise chains the hooks after it.
      let chain: Promise<void> | undefined;
      for (const e of list) {
        if (chain === undefined) {
          const r = e.elementCreated?.(obj, ctor);
          chain = r instanceof Promise ? r : undefined;
        } else {
          chain = chain.then(() => e.elementCreated?.(obj, ctor));
        }
      }
      return chain;
    },
    operation: (obj, op, args) => {
      for (const e of list) {
        const run = e.operation?.(obj, op, args);
        if (run !== undefined) {
          return run;
        }
      }
      return undefined;
    },
    objectsGone: (objects, reason) => {
      for (const e of list) {
        e.objectsGone?.(objects, reason);
      }
    },
    workerEvent: (objectId, event, data) => list.some((e) => e.workerEvent?.(objectId, event, data) === true),
  };
}
