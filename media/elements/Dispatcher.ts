/**
 * Dispatcher (Kurento elements module): a hub that routes between arbitrary pairs of its HubPorts, without mixing or
 * decoding. `connect(source, sink)` makes the sink port's output the media connected into the source port (audio and
 * video alike, as KMS's kmsdispatcher.c links both agnosticbins); a port has one source at a time, a source feeds
 * any number of ports, and each switch asks the new source for a keyframe (DispatcherRoutes.ts).
 *
 * Written against the element SDK (docs/modules.md) as a module's element would be: the ports find it through their
 * context's `lookup(id)` and attach to it as a routing hub (mixer/hub.ts); in Kurento a Hub is a MediaObject, and
 * the control plane never lets a client connect it as an element (its kmd type has no MediaElement `connect`).
 * Releasing the Dispatcher releases its ports.
 */
import type { JsonObject, JsonValue } from "../channel/protocol.js";
import type { Connection } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { MediaOperationError } from "../errors.js";
import type { RouteLink, RoutedPort, RoutingHub } from "../mixer/hub.js";
import { Element } from "../sdk/Element.js";
import { DispatcherRoutes } from "./DispatcherRoutes.js";

/** The id a port parameter names, as the control plane validated it (a HubPort id). */
export function portArg(args: JsonObject, name: string): string {
  const v = args[name];
  if (typeof v !== "string") {
    throw new TypeError(`'${name}' must be a HubPort`);
  }
  return v;
}

export class Dispatcher extends Element implements RoutingHub {
  readonly #routes = new DispatcherRoutes();

  attach(port: RoutedPort): RouteLink {
    this.assertAlive();
    return this.#routes.attach(port);
  }

  /** Live ports (tests, diagnostics). */
  get portCount(): number {
    return this.#routes.size;
  }

  /**
   * Dispatcher.connect: `sink` sends what is connected into `source`.
   * @throws MediaOperationError CONNECT_ERROR when either is not a HubPort of this Dispatcher (KMS: "Can not connect
   *   ports").
   */
  connectPorts(source: string, sink: string): null {
    if (!this.#routes.route(source, sink)) {
      const missing = this.#routes.has(source) ? sink : source;
      throw new MediaOperationError(
        "CONNECT_ERROR",
        `Can not connect ports: '${missing}' is not a HubPort of Dispatcher '${this.id}'`,
      );
    }
    this.context.logger.debug("dispatcher route", { source, sink });
    return null;
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      connect: (a): JsonValue => this.connectPorts(portArg(a, "source"), portArg(a, "sink")),
    };
  }

  protected override onMedia(_packet: MediaPacket, _conn: Connection): void {
    // A hub takes no media itself: its ports do.
  }

  protected override dispose(): void {
    this.#routes.releaseAll();
  }
}
