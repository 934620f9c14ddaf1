/**
 * The records of Kurento's `getStats` shape (kurento-protocol.md §8) that every RTP endpoint returns: one
 * `inboundrtp` / `outboundrtp` record per SSRC and the element's `endpoint` record with its E2E latencies. The
 * endpoints fill in their own counters on top of {@link rtpStreamRecord}.
 */
import type { JsonObject, MediaKind } from "../channel/protocol.js";

/** The fields an RTCInbound/OutboundRTPStreamStats record always has, with Kurento's defaults. */
export function rtpStreamRecord(
  ssrc: number,
  type: "inboundrtp" | "outboundrtp",
  timestampMillis: number,
  transportId = "",
): JsonObject {
  return {
    __module__: "kurento",
    __type__: type === "inboundrtp" ? "RTCInboundRTPStreamStats" : "RTCOutboundRTPStreamStats",
    id: String(ssrc),
    type,
    timestampMillis,
    ssrc: String(ssrc),
    associateStatsId: "",
    isRemote: false,
    mediaTrackId: "",
    transportId,
    codecId: "",
    firCount: 0,
    pliCount: 0,
    nackCount: 0,
    sliCount: 0,
    remb: 0,
  };
}

/** One E2E latency entry of an endpoint record: `avgMs` from source edge to hand-off, reported in nanoseconds. */
export function latencyStat(kind: MediaKind, avgMs: number): JsonObject {
  return { __module__: "kurento", __type__: "MediaLatencyStat", name: "default", type: kind, avg: avgMs * 1e6 };
}

/** The element's own `endpoint` record. */
export function endpointRecord(id: string, timestampMillis: number, e2e: JsonObject[]): JsonObject {
  return {
    __module__: "kurento",
    __type__: "EndpointStats",
    id,
    type: "endpoint",
    timestampMillis,
    inputLatency: [],
    E2ELatency: e2e,
  };
}
