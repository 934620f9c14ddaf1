/**
 * What a hub (Composite) and its ports (HubPort) know of each other. A HubPort finds its hub through its context's
 * `lookup(id)` (the worker's objects of the same pipeline) and checks it with {@link isHub}; it never imports the
 * Composite class (architecture.md §5.2).
 */
import type { MediaPacket } from "../core/types.js";
import type { AudioMixer, MixerPort } from "./AudioMixer.js";

/** A HubPort as its hub sees it: a mixer participant that the hub releases when it is released itself. */
export interface HubMember extends MixerPort {
  release(): void;
}

export interface Hub {
  readonly id: string;
  readonly pipelineId: string;
  readonly mixer: AudioMixer;
  /** Registers a port (it joins the mix) and returns a function that removes it. */
  join(port: HubMember): () => void;
}

/** True when `o` is a live hub (an object with a mixer that ports can join). */
export function isHub(o: unknown): o is Hub {
  if (typeof o !== "object" || o === null) {
    return false;
  }
  const h = o as Partial<Hub> & { released?: unknown };
  return typeof h.join === "function" && typeof h.mixer === "object" && h.released !== true;
}

/**
 * A hub that routes its ports' media instead of mixing it (Dispatcher, DispatcherOneToMany): a port's output is
 * another port's input, forwarded as it is (no decoding). A HubPort finds it through `lookup(id)` as it finds a
 * mixing hub, and checks it with {@link isRoutingHub}.
 */
export interface RoutingHub {
  readonly id: string;
  readonly pipelineId: string;
  /** Registers a port; the link it returns carries the port's media and keyframe requests to the hub. */
  attach(port: RoutedPort): RouteLink;
}

/** A HubPort as a routing hub sees it. */
export interface RoutedPort {
  readonly id: string;
  /** Sends a packet routed to this port (the input of the port it is connected to) to its sinks. */
  deliver(packet: MediaPacket): void;
  /** Asks whatever feeds this port's input for a keyframe (a port routed from it switched to it, or needs one). */
  requestSourceKeyframe(): void;
  release(): void;
}

/** A port's side of a routing hub: one object per port, so forwarding costs a field read, not a lookup. */
export interface RouteLink {
  /** Media connected into the port. */
  input(packet: MediaPacket): void;
  /** A sink of the port needs a keyframe: the hub asks the port whose media this one sends. */
  keyframe(): void;
  /** The port leaves the hub (it is released). */
  leave(): void;
}

/** True when `o` is a live routing hub. */
export function isRoutingHub(o: unknown): o is RoutingHub {
  if (typeof o !== "object" || o === null) {
    return false;
  }
  const h = o as Partial<RoutingHub> & { released?: unknown };
  return typeof h.attach === "function" && h.released !== true;
}
