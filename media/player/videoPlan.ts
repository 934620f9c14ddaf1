/**
 * How a player serves its file's video to the sinks connected to it, decided when it starts playing:
 *
 * - **copy**: the file's VP8 or VP9 goes out as it is in the file when every sink that negotiated takes that codec
 *   (no re-encoding);
 * - **vp8**: otherwise, when every such sink takes VP8, ffmpeg transcodes to VP8;
 * - otherwise no plan: the player raises an Error naming the codecs (never a silent drop).
 *
 * A sink that is not an SDP endpoint, or one not negotiated yet, takes any codec (a RecorderEndpoint, a
 * PassThrough…).
 */
import { SessionDescription } from "../../sdp/index.js";
import type { MediaElement } from "../core/MediaElement.js";
import { NegotiationState, SdpEndpoint } from "../endpoint/SdpEndpoint.js";
import type { VideoMode } from "./MediaReader.js";

/** Payload formats of a video m-line that are not codecs. */
const NOT_CODECS = new Set(["rtx", "red", "ulpfec", "flexfec-03"]);
/** Video codecs the player can send as they are in a file. */
const COPYABLE = new Set(["vp8", "vp9"]);

/** The video codecs `sink` negotiated with its peer (lower case), or undefined when it takes any. */
export function sinkVideoCodecs(sink: MediaElement): string[] | undefined {
  if (!(sink instanceof SdpEndpoint) || sink.negotiationState !== NegotiationState.Negotiated) {
    return undefined;
  }
  let sdp: SessionDescription;
  try {
    sdp = SessionDescription.parse(sink.localSessionDescriptor());
  } catch {
    return undefined;
  }
  const codecs: string[] = [];
  for (const m of sdp.media) {
    if (m.kind === "video" && m.port !== 0) {
      for (const c of m.codecs) {
        const name = c.name.toLowerCase();
        if (!NOT_CODECS.has(name)) {
          codecs.push(name);
        }
      }
    }
  }
  return codecs;
}

export type VideoPlan = { mode: VideoMode } | { error: string };

/** Chooses copy or VP8 for a file's video codec and what each sink takes (undefined: anything). */
export function planVideo(fileCodec: string, sinks: readonly (readonly string[] | undefined)[]): VideoPlan {
  const file = fileCodec.toLowerCase();
  const known = sinks.filter((s): s is readonly string[] => s !== undefined);
  if (COPYABLE.has(file) && known.every((s) => s.includes(file))) {
    return { mode: "copy" };
  }
  if (known.every((s) => s.includes("vp8"))) {
    return { mode: "vp8" };
  }
  const wanted = [...new Set(known.flat())].join(",") || "none";
  return {
    error: `cannot serve the file's ${file} video: its sinks take only ${wanted} (Korus's player sends VP8 or VP9)`,
  };
}
