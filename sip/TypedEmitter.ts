/**
 * The typed event emitter of sip/ (architecture.md §5.3, after mediasoup's EnhancedEventEmitter): events are declared
 * as a map of argument tuples, and a listener that throws cannot break the emitter's own state machine (a dialog, a
 * transaction, a REGISTER client); its error is logged and the remaining listeners still run.
 */

import { getLogger } from "./logger.js";

/** Event map: event name → argument tuple. Interfaces qualify as well as type aliases. */
export type EventMap<Events> = { [K in keyof Events]: unknown[] };

type Listener<A extends unknown[]> = (...args: A) => void;

const LOGGER = getLogger("sip");

export class TypedEmitter<Events extends EventMap<Events>> {
  /** Listeners in registration order; one added twice runs twice (as with Node's EventEmitter). */
  readonly #listeners = new Map<keyof Events, Listener<never>[]>();

  /** Adds a listener. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners.get(event);
    if (list === undefined) {
      this.#listeners.set(event, [listener]);
    } else {
      list.push(listener);
    }
    return this;
  }

  /** Adds a listener that runs once; without a listener, a promise of the next emission's arguments. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this;
  once<K extends keyof Events>(event: K): Promise<Events[K]>;
  once<K extends keyof Events>(event: K, listener?: Listener<Events[K]>): this | Promise<Events[K]> {
    if (listener === undefined) {
      return new Promise((resolve) => {
        this.once(event, (...args: Events[K]) => resolve(args));
      });
    }
    const wrapper = (...args: Events[K]): void => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  /** Removes a listener (its first registration). */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners.get(event);
    if (list !== undefined) {
      const i = list.indexOf(listener);
      if (i >= 0) {
        list.splice(i, 1);
      }
      if (list.length === 0) {
        this.#listeners.delete(event);
      }
    }
    return this;
  }

  /** Calls every listener of `event`; a throwing listener is logged and skipped. Returns whether there was one. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.#listeners.get(event);
    if (list === undefined) {
      return false;
    }
    for (const listener of [...list]) {
      try {
        (listener as Listener<Events[K]>)(...args);
      } catch (error) {
        LOGGER.error("event listener threw", { event: String(event), error });
      }
    }
    return true;
  }

  /** Drops every listener. */
  removeAllListeners(): void {
    this.#listeners.clear();
  }
}
