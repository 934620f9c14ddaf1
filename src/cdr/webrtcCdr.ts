/**
 * CDRs of WebRTC legs (issue 5 §5): each WebRtcEndpoint's life is one CDR leg, started and answered when the element
 * is created, ended when it is released (with the final RTP stats its release returns) or gone with its media worker. These hooks work
 * whether or not the SIP service runs; main.ts installs them when `cdr.enabled`.
 */
import type { KurentoExtension } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import { CdrDirection, HangupSide } from "./CdrRecord.js";
import type { CdrRecorder } from "./CdrRecorder.js";
import { cdrMedia } from "./finalStats.js";

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
    objectsGone: (objects: readonly KObject[], reason: "released" | "worker-died", final) => {
      for (const obj of objects) {
        if (legs.delete(obj.id)) {
          // The final media facts come with the release itself (docs/closures.md); none when the worker died.
          void final.then((all) => {
            const { stats: s, transcoded, pipelineCodec } = cdrMedia(all[obj.id]);
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
