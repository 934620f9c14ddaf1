/**
 * DispatcherOneToMany (Kurento elements module): a hub whose every HubPort sends the media connected into one port,
 * the source (KMS's "main" port, kmsdispatcheronetomany.c). `setSource(port)` routes all ports from it (the source
 * port itself included, as KMS does) and asks it for a keyframe; a port created later is routed from it at once;
 * `removeSource()`, or the release of the source port, stops the media of every port. No mixing, no decoding.
 *
 * Written against the element SDK like {@link Dispatcher}, whose routing table it shares (DispatcherRoutes.ts).
 */
import type { JsonValue } from "../channel/protocol.js";
import type { Connection } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import type { MediaPacket } from "../core/types.js";
import { MediaOperationError } from "../errors.js";
import type { RouteLink, RoutedPort, RoutingHub } from "../mixer/hub.js";
import { Element } from "../sdk/Element.js";
import { portArg } from "./Dispatcher.js";
import { DispatcherRoutes } from "./DispatcherRoutes.js";

export class DispatcherOneToMany extends Element implements RoutingHub {
  readonly #routes = new DispatcherRoutes((portId) => {
    if (portId === this.#source) {
      // KMS: the main port's removal sets main to none, and every port stops.
      this.#source = undefined;
      this.#routes.unrouteAll();
    }
  });
  #source: string | undefined;

  attach(port: RoutedPort): RouteLink {
    this.assertAlive();
    const link = this.#routes.attach(port);
    if (this.#source !== undefined) {
      this.#routes.routeAll(this.#source);
    }
    return link;
  }

  /** The current source port (tests, diagnostics). */
  get source(): string | undefined {
    return this.#source;
  }

  /**
   * DispatcherOneToMany.setSource.
   * @throws MediaOperationError CONNECT_ERROR when `source` is not a HubPort of this hub.
   */
  setSource(source: string): null {
    if (!this.#routes.routeAll(source)) {
      throw new MediaOperationError(
        "CONNECT_ERROR",
        `Can not set source: '${source}' is not a HubPort of DispatcherOneToMany '${this.id}'`,
      );
    }
    this.#source = source;
    this.context.logger.debug("dispatcher source", { source });
    return null;
  }

  /** DispatcherOneToMany.removeSource: every port stops sending. */
  removeSource(): null {
    this.#source = undefined;
    this.#routes.unrouteAll();
    return null;
  }

  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      setSource: (a): JsonValue => this.setSource(portArg(a, "source")),
      removeSource: (): JsonValue => this.removeSource(),
    };
  }

  protected override onMedia(_packet: MediaPacket, _conn: Connection): void {
    // A hub takes no media itself: its ports do.
  }

  protected override dispose(): void {
    this.#source = undefined;
    this.#routes.releaseAll();
  }
}
