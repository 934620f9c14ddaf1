/**
 * The media facts a leg's CDR takes from its element at the end of the leg: RTP stats from a final getStats, whether
 * the pipeline transcoded for it, and the codec the pipeline fed it. Used by the SIP legs' CDR tracking
 * (src/sip/SipCdr.ts) and the WebRTC legs' (src/cdr/webrtcCdr.ts).
 */
import type { JsonValue } from "../../media/index.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { LegStats } from "./CdrRecorder.js";

/** What the CDR takes from an element at the end of its leg. */
export interface FinalMedia {
  readonly stats?: LegStats | undefined;
  readonly transcoded?: boolean;
  /** SDP-style name of the codec the pipeline fed the element (`opus`, `PCMA`…). */
  readonly pipelineCodec?: string;
}

/** MediaPacket codec names (lower case) as SDP spells them, for CDRs. */
function sdpCodecName(codec: string): string {
  return codec === "opus" || codec === "telephone-event" ? codec : codec.toUpperCase();
}

/**
 * getStats and isMediaTranscoding of the element in its worker, for the CDR; empty when the element or its worker
 * is gone. Both requests are posted at once, so they precede a release that follows in the same turn.
 */
export async function fetchStats(obj: KObject): Promise<FinalMedia> {
  if (obj.worker === null || obj.worker.dead) {
    return {};
  }
  const ask = (operation: string): Promise<JsonValue | undefined> =>
    obj.worker === null
      ? Promise.resolve(undefined)
      : obj.worker
          .request("object.invoke", { objectId: obj.id, operation, args: { mediaType: "AUDIO" } })
          .catch(() => undefined);
  const [stats, transcoding, pipelineCodec] = await Promise.all([
    ask("getStats"),
    ask("isMediaTranscoding"),
    ask("getPipelineAudioCodec"),
  ]);
  return {
    ...(stats === undefined ? {} : { stats: toLegStats(stats) }),
    ...(typeof transcoding === "boolean" ? { transcoded: transcoding } : {}),
    ...(typeof pipelineCodec === "string" ? { pipelineCodec: sdpCodecName(pipelineCodec) } : {}),
  };
}

/** Kurento getStats records → CDR RTP stats (jitter in ms). */
function toLegStats(v: JsonValue): LegStats | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return undefined;
  }
  let rxPackets = 0;
  let rxLost = 0;
  let jitter = 0;
  let txPackets = 0;
  let txLost = 0;
  let rtt: number | null = null;
  for (const r of Object.values(v)) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      continue;
    }
    const num = (k: string): number => (typeof r[k] === "number" ? r[k] : 0);
    if (r["type"] === "inboundrtp") {
      rxPackets += num("packetsReceived");
      rxLost += Math.max(0, num("packetsLost"));
      jitter = Math.max(jitter, num("jitter") * 1000);
    } else if (r["type"] === "outboundrtp") {
      txPackets += num("packetsSent");
      txLost += Math.max(0, num("packetsLost"));
      if (typeof r["roundTripTime"] === "number" && r["roundTripTime"] > 0) {
        rtt = r["roundTripTime"] * 1000;
      }
    }
  }
  return {
    rx: { packets: rxPackets, lost: rxLost, jitterMs: jitter, maxJitterMs: jitter },
    tx: { packets: txPackets, lost: txLost },
    rttMs: rtt,
  };
}
