/**
 * The typed, serialisable channel between the control plane (main thread) and a media worker (architecture.md §2).
 *
 * Everything here is plain data that survives structured cloning: no class instances, functions, Maps or Errors.
 * Errors travel as {@link SerializedError}. This file imports types only, so src/ may import it through the barrel.
 *
 * Ordering invariant: a worker posts the response to a request before any event that the request caused, on the
 * same port; the main thread defers event delivery by one `setImmediate` turn.
 */
import type { SerializedError } from "../errors.js";
import type { LogLevel } from "../logger.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = Record<string, JsonValue>;

/** Kurento's MediaType. */
export type MediaKind = "AUDIO" | "VIDEO" | "DATA";
export const MEDIA_KINDS: readonly MediaKind[] = ["AUDIO", "VIDEO", "DATA"];

/** WebRTC network settings a worker applies to every WebRtcEndpoint (from config `webrtc`). */
export interface WebRtcSettings {
  /** Local addresses to gather host candidates on; empty = every non-internal IPv4 interface. */
  interfaces: string[];
  /** Public address announced instead of the local one (1:1 NAT), or "" for none. */
  externalIPv4: string;
  /** "host:port" of a STUN server, or "". */
  stunServer: string;
  /** TURN url `turn:host:port?transport=udp` with credentials, or "". */
  turnServer: string;
  turnUsername: string;
  turnPassword: string;
}

/** Where file media may be read and recordings written, and what http(s) media may reach (config files, httpMedia). */
export interface MediaAccessSettings {
  /** Absolute folders file media may be read from (compared by real path); relative URIs resolve against the first. */
  mediaRoots: string[];
  /** Absolute folder recordings are written under. */
  recordingsRoot: string;
  /** Host names http(s) media may be fetched from ("example.org", "*.example.org"); empty = any host. */
  httpAllowHosts: string[];
  /** CIDRs that http(s) media may reach although private, loopback or link-local. */
  httpAllowNetworks: string[];
}

/** Configuration handed to a worker by value in `workerData`; workers never import src/config. */
export interface WorkerSettings {
  workerIndex: number;
  /** This worker's disjoint slice of the RTP port range (inclusive). */
  rtpPortMin: number;
  rtpPortMax: number;
  logLevel: LogLevel;
  webrtc: WebRtcSettings;
  /** Time without packets after which a media flow is reported NOT_FLOWING. */
  flowTimeoutMs: number;
  /** Interval of the periodic load report (element count, event-loop utilisation). */
  loadReportMs: number;
  /** False: the load report leaves out the metrics that walk the elements (config `metrics.enabled`; default on). */
  metrics?: boolean;
  /** Absent (tests, benchmarks): no media roots, and http(s) media under the default policy. */
  mediaAccess?: MediaAccessSettings;
  /** Korus modules whose worker entries this worker imports at start-up, in order (docs/modules.md). */
  modules?: WorkerModule[];
}

/** A module as a media worker loads it: its name, its worker entry and the element types its kmd describes. */
export interface WorkerModule {
  name: string;
  /** `file:` URL of the ESM worker entry. */
  worker: string;
  /** Concrete remote classes of its descriptor: the only types its entry may register. */
  types: string[];
  /** Its configuration section, validated on the main thread (`{}` when it declares none): `WorkerSdk.config`. */
  settings?: JsonObject;
}

export interface ConnectParams {
  sourceId: string;
  sinkId: string;
  /** Absent: AUDIO, VIDEO and DATA. */
  mediaType?: MediaKind;
  sourceDescription: string;
  sinkDescription: string;
}

/**
 * What an element's audio looked like when it was released, for the CDR of its leg (docs/closures.md): its
 * getStats(AUDIO) records, whether it transcoded, and the codec the pipeline last fed it (MediaPacket spelling).
 */
export type FinalMedia = {
  stats: JsonObject;
  transcoding: boolean;
  pipelineAudioCodec: string | null;
};

/** The answer to `object.release`: the final media facts of every element the release closed, by element id. */
export type ReleaseResult = { final: Record<string, FinalMedia> };

export type MediaRequest =
  | { method: "pipeline.create"; params: { pipelineId: string } }
  | {
      method: "element.create";
      params: { pipelineId: string; elementId: string; type: string; ctor: JsonObject };
    }
  | { method: "object.invoke"; params: { objectId: string; operation: string; args: JsonObject } }
  | { method: "element.connect"; params: ConnectParams }
  | { method: "element.disconnect"; params: ConnectParams }
  | { method: "object.release"; params: { objectId: string } }
  | { method: "worker.dump"; params: Record<string, never> };

export interface WorkerDump {
  pipelines: number;
  elements: number;
  portsInUse: number;
}

export interface MediaResults {
  "pipeline.create": null;
  "element.create": null;
  "object.invoke": JsonValue;
  "element.connect": null;
  "element.disconnect": null;
  "object.release": ReleaseResult;
  "worker.dump": WorkerDump;
}

export type MediaMethod = MediaRequest["method"];
export type MediaParams<M extends MediaMethod> = Extract<MediaRequest, { method: M }>["params"];

export type ToWorker = { kind: "request"; id: number } & MediaRequest;

export type FromWorker =
  | { kind: "response"; id: number; ok: true; value: JsonValue }
  | { kind: "response"; id: number; ok: false; error: SerializedError }
  /** A Kurento event raised by an object; `data` holds the event's own fields (no source/tags/timestamp). */
  | { kind: "event"; objectId: string; event: string; data: JsonObject }
  /** An object the worker released on its own (e.g. a fatal error), so the main thread forgets it. */
  | { kind: "released"; objectId: string }
  | { kind: "log"; level: LogLevel; namespace: string; message: string; context: Record<string, unknown> }
  | { kind: "load"; elements: number; pipelines: number; elu: number; metrics: WorkerMetricsReport }
  /** Start-up done; `types`: the element types registered in the worker (Kurento's and the modules'), for getInfo. */
  | { kind: "ready"; types: string[] };

/** What a worker's load report carries for the Prometheus metrics (src/metrics/), summed on the main thread. */
export interface WorkerMetricsReport {
  /** RTP packets since the worker started (media/rtp/rtpTotals.ts); `lost`: receive-side sequence gaps. */
  rtp: { audioIn: number; videoIn: number; audioOut: number; videoOut: number; lost: number };
  /** Live transcoding chains by "from>to" codec names (lower case, as in MediaPacket.codec). */
  transcoders: Record<string, number>;
  /** RecorderEndpoints recording or paused. */
  recordings: number;
  /** Mean event-loop delay since the previous report, in seconds. */
  lagSeconds: number;
}

/**
 * Internal event of a SipEndpoint in `info` DTMF mode (never sent to clients): a digit the control plane sends as a
 * SIP INFO request, `{digit, durationMs, gapMs}`.
 */
export const DTMF_OUT_EVENT = "korus:DtmfOut";
