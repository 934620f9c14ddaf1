/**
 * The routing table shared by Dispatcher and DispatcherOneToMany (KMS kmsdispatcher.c, kmsdispatcheronetomany.c):
 * each HubPort's output is the input of at most one port (its source), and a port's input may feed any number of
 * ports. Packets are forwarded as they are, without decoding: the input of a port goes to the ports routed from it
 * (their `deliver` sends it to their sinks; audio a sink cannot take is transcoded on the way, as for any element).
 *
 * Every change of a port's source asks the new source for a keyframe (PLI/FIR upstream), so that a video receiver
 * switched to it does not wait for the next periodic one; a keyframe request from a port's sinks goes to its source.
 *
 * Hot path: a packet into a port costs the port's link (a field of the HubPort) and an index loop over its sinks;
 * the sink arrays are rebuilt on a routing change only.
 */
import type { MediaPacket } from "../core/types.js";
import type { RouteLink, RoutedPort } from "../mixer/hub.js";

/** One port of a dispatcher and its place in the routing table. */
class PortLink implements RouteLink {
  readonly port: RoutedPort;
  readonly #table: DispatcherRoutes;
  /** The ports whose output is this port's input (rebuilt on a routing change). */
  sinks: readonly RoutedPort[] = [];
  /** The port whose input this port sends, if any. */
  source: PortLink | undefined;

  constructor(port: RoutedPort, table: DispatcherRoutes) {
    this.port = port;
    this.#table = table;
  }

  input(packet: MediaPacket): void {
    const sinks = this.sinks;
    for (let i = 0, n = sinks.length; i < n; i++) {
      sinks[i]!.deliver(packet);
    }
  }

  keyframe(): void {
    this.source?.port.requestSourceKeyframe();
  }

  leave(): void {
    this.#table.remove(this);
  }
}

export class DispatcherRoutes {
  readonly #links = new Map<string, PortLink>();
  readonly #onLeave: ((portId: string) => void) | undefined;

  /** @param onLeave called after a port left (DispatcherOneToMany forgets its source). */
  constructor(onLeave?: (portId: string) => void) {
    this.#onLeave = onLeave;
  }

  /** Registers a port (nothing routed to or from it yet). */
  attach(port: RoutedPort): PortLink {
    const link = new PortLink(port, this);
    this.#links.set(port.id, link);
    return link;
  }

  /** The port of this dispatcher with id `id`, if it has one. */
  has(id: string): boolean {
    return this.#links.has(id);
  }

  get size(): number {
    return this.#links.size;
  }

  /** The ids of the live ports. */
  ids(): string[] {
    return [...this.#links.keys()];
  }

  /** The id of the port whose input `sinkId` sends, if any (tests, diagnostics). */
  sourceOf(sinkId: string): string | undefined {
    return this.#links.get(sinkId)?.source?.port.id;
  }

  /**
   * Makes `sinkId`'s output the input of `sourceId` (replacing its previous source) and asks the new source for a
   * keyframe. Returns false when either is not a port of this dispatcher.
   */
  route(sourceId: string, sinkId: string): boolean {
    const source = this.#links.get(sourceId);
    const sink = this.#links.get(sinkId);
    if (source === undefined || sink === undefined) {
      return false;
    }
    if (sink.source !== source) {
      this.#detach(sink);
      sink.source = source;
      source.sinks = [...source.sinks, sink.port];
    }
    source.port.requestSourceKeyframe();
    return true;
  }

  /** Routes every port from `sourceId` (DispatcherOneToMany's main port, itself included, as KMS does). */
  routeAll(sourceId: string): boolean {
    const source = this.#links.get(sourceId);
    if (source === undefined) {
      return false;
    }
    for (const link of this.#links.values()) {
      if (link.source !== source) {
        this.#detach(link);
        link.source = source;
      }
    }
    source.sinks = [...this.#links.values()].map((l) => l.port);
    source.port.requestSourceKeyframe();
    return true;
  }

  /** Stops sending anything from every port. */
  unrouteAll(): void {
    for (const link of this.#links.values()) {
      link.source = undefined;
      link.sinks = [];
    }
  }

  /** A port left: whatever it fed stops, and it leaves its source's sinks. */
  remove(link: PortLink): void {
    if (this.#links.get(link.port.id) !== link) {
      return;
    }
    this.#links.delete(link.port.id);
    this.#detach(link);
    for (const l of this.#links.values()) {
      if (l.source === link) {
        l.source = undefined;
      }
    }
    link.sinks = [];
    this.#onLeave?.(link.port.id);
  }

  /** Releases every port (the dispatcher is released); each one's release removes it. */
  releaseAll(): void {
    for (const link of [...this.#links.values()]) {
      link.port.release();
    }
    this.#links.clear();
  }

  /** Takes `link` out of its source's sinks. */
  #detach(link: PortLink): void {
    const from = link.source;
    if (from !== undefined) {
      from.sinks = from.sinks.filter((p) => p !== link.port);
      link.source = undefined;
    }
  }
}
