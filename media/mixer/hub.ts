/**
 * What a hub (Composite) and its ports (HubPort) know of each other. A HubPort finds its hub through its context's
 * `lookup(id)` (the worker's objects of the same pipeline) and checks it with {@link isHub}; it never imports the
 * Composite class (architecture.md §5.2).
 */
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
