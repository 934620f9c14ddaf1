/**
 * The records of Kurento's `getStats` shape (kurento-protocol.md §8) that every RTP endpoint returns: one
 * `inboundrtp` / `outboundrtp` record per SSRC, computed from the stream statistics (RtpStreamStats.ts), and the
 * element's `endpoint` record with its E2E latencies.
 */
import type { JsonObject, MediaKind } from "../channel/protocol.js";
import { RecvStreamStats, type SendStreamStats } from "./RtpStreamStats.js";

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

/**
 * The `inboundrtp` record of a stream we receive (RFC 3550 loss and jitter, and the keyframe requests and NACKs
 * *we* sent about it; `fractionLost`, 0..1, is the endpoint's choice of interval) or the `outboundrtp` record of a
 * stream we send (counts, the peer's reported loss, the round-trip time in seconds, which the endpoint may take
 * from elsewhere, and the PLI/FIR/NACK/REMB the peer sent).
 */
export function streamRecord(
  st: RecvStreamStats | SendStreamStats,
  timestampMillis: number,
  transportId: string,
  measured: { fractionLost?: number; roundTripTime?: number | undefined } = {},
): JsonObject {
  const inbound = st instanceof RecvStreamStats;
  const { pli, fir, nack } = st.feedback;
  const common = {
    ...rtpStreamRecord(st.ssrc, inbound ? "inboundrtp" : "outboundrtp", timestampMillis, transportId),
    firCount: fir,
    pliCount: pli,
    nackCount: nack,
  };
  if (inbound) {
    const fractionLost = measured.fractionLost ?? st.fractionLost;
    const { packets: packetsReceived, bytes: bytesReceived, jitterSeconds: jitter, cumulativeLost } = st;
    return { ...common, packetsReceived, bytesReceived, jitter, packetsLost: cumulativeLost, fractionLost };
  }
  return {
    ...common,
    packetsSent: st.packets,
    bytesSent: st.bytes,
    targetBitrate: st.remb,
    roundTripTime: measured.roundTripTime ?? st.roundTripTime ?? 0,
    packetsLost: st.remoteCumulativeLost,
    fractionLost: st.remoteFractionLost,
    remb: st.remb,
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
