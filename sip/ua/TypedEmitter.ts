/**
 * A minimal typed event emitter (architecture.md: typed events). Listener exceptions are caught and logged so an
 * application bug never breaks the SIP machinery that emitted the event.
 */

import { getLogger } from "../logger.js";

const LOGGER = getLogger("sip:ua");

type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<Events extends { [K in keyof Events]: unknown[] }> {
  readonly #listeners = new Map<keyof Events, Listener<never[]>[]>();

  /** Adds a listener. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners.get(event) ?? [];
    list.push(listener as unknown as Listener<never[]>);
    this.#listeners.set(event, list);
    return this;
  }

  /** Adds a listener that runs once. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper = (...args: Events[K]): void => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  /** Removes a listener. */
  off<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const list = this.#listeners.get(event);
    if (list !== undefined) {
      const i = list.indexOf(listener as unknown as Listener<never[]>);
      if (i >= 0) {
        list.splice(i, 1);
      }
      if (list.length === 0) {
        this.#listeners.delete(event);
      }
    }
    return this;
  }

  /** Calls every listener of `event`; returns whether there was one. */
  protected emit<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    const list = this.#listeners.get(event);
    if (list === undefined) {
      return false;
    }
    for (const listener of [...list]) {
      try {
        (listener as unknown as Listener<Events[K]>)(...args);
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
