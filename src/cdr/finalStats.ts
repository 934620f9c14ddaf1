/**
 * The media facts a leg's CDR takes from its element at the end of the leg: RTP stats, whether the pipeline
 * transcoded for it, and the codec the pipeline fed it, as the worker returns them with the element's release (or
 * with one `getFinalMedia` request while the element lives). Used by the SIP legs' CDR tracking
 * (src/sip/SipCdr.ts) and the WebRTC legs' (src/cdr/webrtcCdr.ts).
 */
import type { FinalMedia as ElementFinalMedia, JsonValue } from "../../media/index.js";
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
 * The final media facts of a live element (one internal `getFinalMedia` request: the same facts a release
 * returns), for the CDR; empty when the element or its worker is gone. Posted at once, so it precedes a release
 * that follows (docs/closures.md).
 */
export async function fetchStats(obj: KObject): Promise<FinalMedia> {
  if (obj.worker === null || obj.worker.dead) {
    return {};
  }
  const v = await obj.worker
    .request("object.invoke", { objectId: obj.id, operation: "getFinalMedia", args: {} })
    .catch(() => undefined);
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return {};
  }
  const { stats, transcoding, pipelineAudioCodec } = v;
  return cdrMedia({
    stats: typeof stats === "object" && stats !== null && !Array.isArray(stats) ? stats : {},
    transcoding: transcoding === true,
    pipelineAudioCodec: typeof pipelineAudioCodec === "string" ? pipelineAudioCodec : null,
  });
}

/** An element's final media facts (returned with its release, or by `getFinalMedia`) → what the CDR takes. */
export function cdrMedia(f: ElementFinalMedia | undefined): FinalMedia {
  if (f === undefined) {
    return {};
  }
  const stats = toLegStats(f.stats);
  return {
    ...(stats === undefined ? {} : { stats }),
    transcoded: f.transcoding,
    ...(f.pipelineAudioCodec === null ? {} : { pipelineCodec: sdpCodecName(f.pipelineAudioCodec) }),
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
