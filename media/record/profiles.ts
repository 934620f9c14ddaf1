/**
 * RecorderEndpoint's media profiles (Kurento's MediaProfileSpecType) that Korus writes, and what each one means for
 * the writer: the container, the tracks, and the codecs that go in without transcoding. Profiles Kurento has but
 * Korus does not write (KURENTO_SPLIT_RECORDER, JPEG_VIDEO_ONLY, FLV) are refused on `create`.
 *
 * Korus adds two audio-only profiles (module "korus" extends the enum): `WAV` (G.711 µ-law or A-law, format tags
 * 7 and 6, as the sources send it) and `OGG` (Opus).
 */
import { MediaOperationError } from "../errors.js";

export type Container = "webm" | "mkv" | "mp4" | "wav" | "ogg";

export interface RecordingProfile {
  /** The Kurento name, e.g. "WEBM_AUDIO_ONLY". */
  readonly name: string;
  readonly container: Container;
  readonly audio: boolean;
  readonly video: boolean;
  /** File extension without the dot. */
  readonly ext: Container;
  /** Video codecs written as they arrive (lower-case RTP encoding names). */
  readonly videoCodecs: ReadonlySet<string>;
}

const VIDEO_CODECS: Record<Container, ReadonlySet<string>> = {
  webm: new Set(["vp8", "vp9"]),
  mkv: new Set(["vp8", "vp9", "h264"]),
  mp4: new Set(["vp9", "h264"]),
  wav: new Set(),
  ogg: new Set(),
};

/** Korus's audio-only profiles (not in Kurento's enum; the korus module descriptor adds them). */
export const KORUS_PROFILES: readonly string[] = ["WAV", "OGG"];

/** Kurento profiles Korus writes. */
export const SUPPORTED_PROFILES: readonly string[] = ["WEBM", "MKV", "MP4"]
  .flatMap((c) => [c, `${c}_AUDIO_ONLY`, `${c}_VIDEO_ONLY`])
  .concat(KORUS_PROFILES);

/**
 * The profile for Kurento's `mediaProfile` value (default WEBM).
 * @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR (40107) for a profile Korus does not write.
 */
export function recordingProfile(name: unknown): RecordingProfile {
  const n = name ?? "WEBM";
  if (typeof n !== "string" || !SUPPORTED_PROFILES.includes(n)) {
    throw new MediaOperationError(
      "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
      `mediaProfile ${JSON.stringify(n).slice(0, 64)} is not supported: Korus records ${SUPPORTED_PROFILES.join(", ")}`,
    );
  }
  const base = n.split("_")[0]?.toLowerCase() as Container;
  const audioOnly = KORUS_PROFILES.includes(n);
  return {
    name: n,
    container: base,
    audio: !n.endsWith("_VIDEO_ONLY"),
    video: !n.endsWith("_AUDIO_ONLY") && !audioOnly,
    ext: base,
    videoCodecs: VIDEO_CODECS[base],
  };
}
