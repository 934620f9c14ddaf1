/**
 * The hubs (Composites) alive in this worker, so that a HubPort built from `create HubPort {hub}` finds its hub by
 * id. Each media worker is its own thread with its own module instance, so this map only ever holds the hubs of
 * that worker, which are exactly the hubs its HubPorts can belong to (the control plane creates a HubPort in its
 * hub's worker).
 */
import type { AudioMixer, MixerPort } from "./AudioMixer.js";
import { InvalidStateError } from "../errors.js";

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

const hubs = new Map<string, Hub>();

export function registerHub(hub: Hub): void {
  hubs.set(hub.id, hub);
}

export function unregisterHub(hub: Hub): void {
  if (hubs.get(hub.id) === hub) {
    hubs.delete(hub.id);
  }
}

/**
 * The hub `id` of pipeline `pipelineId`.
 * @throws InvalidStateError (Kurento 40101) when no such hub lives in this worker.
 */
export function findHub(id: unknown, pipelineId: string): Hub {
  const hub = typeof id === "string" ? hubs.get(id) : undefined;
  if (hub?.pipelineId !== pipelineId) {
    throw new InvalidStateError(`Hub '${String(id)}' not found in pipeline '${pipelineId}'`);
  }
  return hub;
}
