/**
 * A small typed event emitter (architecture.md §5.3, after mediasoup's EnhancedEventEmitter): events are declared as
 * a map of argument tuples, and a listener that throws cannot break the emitter's own state machine; its error is
 * logged and the remaining listeners still run.
 */

import { getLogger } from "../logger.js";

/** Event map: event name → argument tuple. */
export type EventMap = Record<string, unknown[]>;

type Listener<A extends unknown[]> = (...args: A) => void;

const logger = getLogger("sip:trunk");

export class TypedEmitter<E extends EventMap> {
  readonly #listeners = new Map<keyof E, Set<Listener<never>>>();

  /** Adds a listener. */
  on<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof E>(event: K, listener: Listener<E[K]>): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  /** Resolves with the arguments of the next emission of `event`. */
  once<K extends keyof E>(event: K): Promise<E[K]> {
    return new Promise((resolve) => {
      const listener = (...args: E[K]): void => {
        this.off(event, listener);
        resolve(args);
      };
      this.on(event, listener);
    });
  }

  /** Calls every listener; a throwing listener is logged and skipped. */
  protected safeEmit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) {
      return;
    }
    for (const listener of [...set]) {
      try {
        (listener as Listener<E[K]>)(...args);
      } catch (error) {
        logger.error("event listener threw", { event: String(event), error });
      }
    }
  }
}
