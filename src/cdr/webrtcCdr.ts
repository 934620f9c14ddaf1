/**
 * CDRs of WebRTC legs (issue 5 §5): each WebRtcEndpoint's life is one CDR leg, started and answered when the element
 * is created, ended when it is released (with its final RTP stats) or gone with its media worker. These hooks work
 * whether or not the SIP service runs; main.ts installs them when `cdr.enabled`.
 */
import type { KurentoExtension } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import { CdrDirection, HangupSide } from "./CdrRecord.js";
import type { CdrRecorder } from "./CdrRecorder.js";
import { fetchStats, type FinalMedia } from "./finalStats.js";

/** The control-plane hooks that keep a CDR leg per WebRtcEndpoint. */
export function webrtcCdrHooks(cdr: CdrRecorder): KurentoExtension {
  const legs = new Set<string>();
  return {
    elementCreated: (obj) => {
      if (obj.cls.name === "WebRtcEndpoint") {
        cdr.started(obj.id, { direction: CdrDirection.WebRtc, pipelineId: obj.pipelineId, elementId: obj.id });
        cdr.answered(obj.id);
        legs.add(obj.id);
      }
    },
    objectsGone: (objects: readonly KObject[], reason: "released" | "worker-died") => {
      for (const obj of objects) {
        if (legs.delete(obj.id)) {
          const final = reason === "released" ? fetchStats(obj) : Promise.resolve<FinalMedia>({});
          void final.then(({ stats: s, transcoded, pipelineCodec }) => {
            cdr.media(obj.id, {
              peerCodec: "opus",
              ...(pipelineCodec === undefined ? {} : { pipelineCodec }),
              ...(transcoded === undefined ? {} : { transcoded }),
            });
            cdr.ended(obj.id, {
              hangupSide: reason === "released" ? HangupSide.Local : HangupSide.System,
              endReason: reason === "released" ? "released" : "worker-died",
              ...(s === undefined ? {} : { stats: s }),
            });
          });
        }
      }
    },
  };
}
