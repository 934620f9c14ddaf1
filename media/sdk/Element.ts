/**
 * The base class of an element written against the element SDK (docs/modules.md). It is a {@link MediaElement}
 * with Kurento's connection semantics, plus what a module needs and nothing it must import:
 *
 * - `this.context`: its id, pipeline and type, a logger bound to it, typed `emit`, `lookup(id)` of another object
 *   of its pipeline, and {@link ElementTimers} that are cleared on release;
 * - `this.params`: its constructor parameters, validated by the control plane against the module's kmd;
 * - media: by default a plain element forwards every packet it receives (`onMedia` → `sendToSinks`); override
 *   `onMedia(packet)` to do something else, and call `this.sendToSinks(packet)` to send;
 * - data (kind DATA: data-channel messages): forwarded likewise (`onData` → `sendDataToSinks`);
 * - Kurento methods and properties: override `operations()` and add `name: (args) => value` entries to
 *   `super.operations()` (a property `period` is `getPeriod`/`setPeriod {period}`);
 * - release contract: `release()` is idempotent; on release the element is disconnected, its timers are cleared,
 *   then `dispose()` runs exactly once (free what you opened there; it must not throw — an exception is logged).
 *   A released element gets no more media and its `emit` does nothing.
 */
import type { JsonObject } from "../channel/protocol.js";
import { MediaElement, type Connection, type ElementContext } from "../core/MediaElement.js";
import type { MediaObject } from "../core/MediaObject.js";
import type { DataMessage, MediaPacket } from "../core/types.js";
import type { Logger } from "../logger.js";
import { ElementTimers } from "./ElementTimers.js";

/** Event name → payload of the events an element raises (the kmd's events, without the Kurento base fields). */
export type EventMap = Record<string, JsonObject>;

/** What an SDK element gets from its worker instead of references to it. */
export interface SdkContext<E extends EventMap = EventMap> {
  readonly id: string;
  readonly pipelineId: string;
  /** The Kurento type it was created as. */
  readonly type: string;
  readonly logger: Logger;
  /** Raises event `name` on this element for the subscribed sessions. Does nothing once released. */
  emit<K extends keyof E & string>(name: K, data: E[K]): void;
  /** Another live object (element or the pipeline) of this element's pipeline, or undefined. */
  lookup(id: string): MediaObject | undefined;
  /** Timers cleared when this element is released. */
  readonly timers: ElementTimers;
}

export class Element<E extends EventMap = EventMap> extends MediaElement {
  readonly context: SdkContext<E>;
  readonly params: JsonObject;

  constructor(ctx: ElementContext, params: JsonObject) {
    super(ctx);
    this.params = params;
    const timers = new ElementTimers(ctx.logger);
    this.context = {
      id: ctx.id,
      pipelineId: ctx.pipelineId,
      type: ctx.type,
      logger: ctx.logger,
      emit: (name, data) => {
        if (!this.released) {
          ctx.emitDescribed(name, data);
        }
      },
      lookup: (id) => ctx.lookup?.(id),
      timers,
    };
  }

  /** A packet from a connected source. A plain element forwards it; subclasses override. */
  protected override onMedia(packet: MediaPacket, _conn: Connection): void {
    this.sendToSinks(packet);
  }

  /** A data-channel message from a source connected for DATA. A plain element forwards it; subclasses override. */
  protected override onData(msg: DataMessage, _conn: Connection): void {
    this.sendDataToSinks(msg);
  }

  /** Frees what the element opened. Runs once, on release, after it was disconnected and its timers cleared. */
  protected override dispose(): void {
    // Subclasses override.
  }

  /** Release, first step (MediaObject's contract): the graph connections go, then this element's timers. */
  protected override unlink(): void {
    try {
      super.unlink();
    } finally {
      this.context.timers.closeAll();
    }
  }
}
