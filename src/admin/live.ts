/**
 * The console's live views, gathered on the main thread from what it already knows (the worker pool's load
 * reports, the object registry, the SIP service), plus worker round-trips made on demand when the page polls: one
 * `getFinalMedia` per live call (stats, transcoding, codec: src/cdr/finalStats.ts), and per pipeline element its
 * sink connections and whether media flows in. Never anything per packet. Every list is capped.
 */
import type { JsonObject, JsonValue } from "../../media/index.js";
import { estimateMos } from "../cdr/emodel.js";
import { fetchStats } from "../cdr/finalStats.js";
import type { KurentoServer } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { WorkerPool } from "../pool/WorkerPool.js";
import type { SipCallInfo, SipService, TrunkDetail } from "../sip/SipService.js";
import { negotiatedCodecs } from "./codecs.js";

export const MAX_CALLS = 200;
export const MAX_PIPELINES = 50;
export const MAX_ELEMENTS = 400;

export interface LiveSources {
  pool: WorkerPool;
  kurento: KurentoServer;
  sip: SipService | undefined;
}

export interface WorkerView {
  index: number;
  threadId: number;
  dead: boolean;
  pipelines: number;
  elements: number;
  /** Event-loop utilisation, 0..1, from the worker's last load report. */
  elu: number;
}

/** What a live-calls row is: a SIP leg (its SipEndpoint), or a WebRtcEndpoint or RtpEndpoint of a pipeline. */
export type CallKind = "sip" | "webrtc" | "rtp";

/** The endpoint types listed as calls of their own (a SipEndpoint is listed through its SIP leg). */
const CALL_ELEMENTS: ReadonlyMap<string, CallKind> = new Map([
  ["WebRtcEndpoint", "webrtc"],
  ["RtpEndpoint", "rtp"],
]);

export interface CallView extends Omit<SipCallInfo, "direction"> {
  kind: CallKind;
  direction: string | null;
  /** The codecs negotiated with the peer (the answer's first of each kind), null when none (or not yet). */
  audioCodec: string | null;
  videoCodec: string | null;
  pipelineCodec: string | null;
  /** Whether the pipeline transcodes what it sends this endpoint (audio, video); null when unknown. */
  transcoded: boolean | null;
  transcoding: { audio: boolean; video: boolean } | null;
  rxPackets: number | null;
  txPackets: number | null;
  jitterMs: number | null;
  lossPercent: number | null;
  rttMs: number | null;
  mos: number | null;
}

export interface GraphElement {
  id: string;
  type: string;
  name: string;
  flowingIn: { audio: boolean; video: boolean };
}

export interface GraphEdge {
  source: string;
  sink: string;
  type: string;
  flowing: boolean;
}

export interface PipelineView {
  id: string;
  worker: number | null;
  elements: GraphElement[];
  edges: GraphEdge[];
}

export function workerViews(pool: WorkerPool): WorkerView[] {
  return pool.workers.map((w) => ({
    index: w.index,
    threadId: w.threadId,
    dead: w.dead,
    pipelines: w.pipelines.size,
    elements: w.load.elements,
    elu: Math.round(w.load.elu * 1000) / 1000,
  }));
}

export function trunkViews(sip: SipService | undefined): TrunkDetail[] {
  return sip?.trunkDetails() ?? [];
}

/** An element's operation on its worker; undefined when it fails (the element went away meanwhile). */
async function invoke(obj: KObject, operation: string, args: JsonObject = {}): Promise<JsonValue | undefined> {
  if (obj.worker === null || obj.worker.dead) {
    return undefined;
  }
  return obj.worker.request("object.invoke", { objectId: obj.id, operation, args }).catch(() => undefined);
}

/** Every element of a pipeline (hub ports under their hub included), depth first, at most `limit`. */
function elementsOf(k: KurentoServer, pipeline: KObject, limit: number): KObject[] {
  const out: KObject[] = [];
  const walk = (o: KObject): void => {
    for (const id of o.children) {
      const child = k.objects.get(id);
      if (child !== undefined && out.length < limit) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pipeline);
  return out;
}

const round = (v: number, digits: number): number => Math.round(v * 10 ** digits) / 10 ** digits;

const str = (v: JsonValue | undefined): string | undefined => (typeof v === "string" ? v : undefined);

async function callView(k: KurentoServer, base: SipCallInfo, kind: CallKind): Promise<CallView> {
  const obj = k.objects.get(base.elementId);
  const [media, local, remote, videoTranscoding] =
    obj === undefined
      ? [{}, undefined, undefined, undefined]
      : await Promise.all([
          fetchStats(obj),
          invoke(obj, "getLocalSessionDescriptor"),
          invoke(obj, "getRemoteSessionDescriptor"),
          invoke(obj, "isMediaTranscoding", { mediaType: "VIDEO" }),
        ]);
  const codecs = negotiatedCodecs(str(local), str(remote));
  const audioCodec = base.peerCodec ?? codecs.audio;
  const rx = media.stats?.rx;
  const rxPackets = rx?.packets ?? null;
  const lost = rx?.lost ?? null;
  const lossPercent =
    rxPackets === null || lost === null || rxPackets + lost === 0 ? null : (100 * lost) / (rxPackets + lost);
  const jitterMs = rx?.jitterMs ?? null;
  const rttMs = media.stats?.rttMs ?? null;
  const codec = audioCodec ?? media.pipelineCodec ?? null;
  const mos =
    codec === null || rxPackets === null || rxPackets === 0
      ? null
      : estimateMos({ codec, lossPercent: lossPercent ?? 0, jitterMs: jitterMs ?? 0, rttMs: rttMs ?? 0 }).mos;
  const transcoding =
    media.transcoded === undefined ? null : { audio: media.transcoded, video: videoTranscoding === true };
  return {
    ...base,
    kind,
    audioCodec,
    videoCodec: codecs.video,
    pipelineCodec: media.pipelineCodec ?? null,
    transcoded: transcoding === null ? null : transcoding.audio || transcoding.video,
    transcoding,
    rxPackets,
    txPackets: media.stats?.tx?.packets ?? null,
    jitterMs: jitterMs === null ? null : round(jitterMs, 1),
    lossPercent: lossPercent === null ? null : round(lossPercent, 2),
    rttMs: rttMs === null ? null : round(rttMs, 1),
    mos: mos === null ? null : round(mos, 2),
  };
}

/** The live calls: SIP legs, then the WebRTC and RTP endpoints, each with its codecs, stats and MOS estimate. */
export async function callViews(src: LiveSources): Promise<CallView[]> {
  const legs: { base: SipCallInfo; kind: CallKind }[] = (src.sip?.calls() ?? []).map((base) => ({
    base,
    kind: "sip",
  }));
  for (const p of src.kurento.objects.pipelines()) {
    for (const e of elementsOf(src.kurento, p, MAX_ELEMENTS)) {
      const kind = CALL_ELEMENTS.get(e.cls.name);
      if (kind !== undefined && legs.length < MAX_CALLS) {
        legs.push({
          kind,
          base: {
            elementId: e.id,
            pipelineId: p.id,
            state: "ACTIVE",
            direction: null,
            trunk: null,
            callId: "",
            remote: "",
            peerCodec: null,
          },
        });
      }
    }
  }
  return Promise.all(legs.slice(0, MAX_CALLS).map((l) => callView(src.kurento, l.base, l.kind)));
}

async function elementView(e: KObject): Promise<{ element: GraphElement; edges: GraphEdge[] }> {
  const [sinks, audio, video] = await Promise.all([
    invoke(e, "getSinkConnections"),
    invoke(e, "isMediaFlowingIn", { mediaType: "AUDIO" }),
    invoke(e, "isMediaFlowingIn", { mediaType: "VIDEO" }),
  ]);
  const edges: GraphEdge[] = [];
  if (Array.isArray(sinks)) {
    for (const c of sinks) {
      if (typeof c === "object" && c !== null && !Array.isArray(c)) {
        const { source, sink, type } = c;
        if (typeof source === "string" && typeof sink === "string" && typeof type === "string") {
          edges.push({ source, sink, type, flowing: false });
        }
      }
    }
  }
  return {
    element: { id: e.id, type: e.cls.name, name: e.name, flowingIn: { audio: audio === true, video: video === true } },
    edges,
  };
}

/** The live pipelines as graphs: elements, connections, and whether media flows into each connection's sink. */
export async function pipelineViews(k: KurentoServer): Promise<PipelineView[]> {
  let budget = MAX_ELEMENTS;
  const out: PipelineView[] = [];
  for (const p of k.objects.pipelines().slice(0, MAX_PIPELINES)) {
    const elements = elementsOf(k, p, budget);
    budget -= elements.length;
    const views = await Promise.all(elements.map(elementView));
    const byId = new Map(views.map((v) => [v.element.id, v.element]));
    const seen = new Set<string>();
    const edges: GraphEdge[] = [];
    for (const v of views) {
      for (const edge of v.edges) {
        const key = `${edge.source}|${edge.sink}|${edge.type}`;
        if (seen.has(key) || !byId.has(edge.source) || !byId.has(edge.sink)) {
          continue;
        }
        seen.add(key);
        const sink = byId.get(edge.sink);
        edge.flowing =
          (edge.type === "AUDIO" && sink?.flowingIn.audio === true) ||
          (edge.type === "VIDEO" && sink?.flowingIn.video === true);
        edges.push(edge);
      }
    }
    out.push({ id: p.id, worker: p.worker?.index ?? null, elements: views.map((v) => v.element), edges });
    if (budget <= 0) {
      break;
    }
  }
  return out;
}
