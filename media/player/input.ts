/**
 * How ffmpeg and ffprobe read a player's media: never from a path or a URL of the application.
 *
 * - A file was opened (and confined) by Korus and is the child's stdin. The child reads it as
 *   `/proc/self/fd/0`, which re-opens that same open file (not a path lookup), so it can seek: an MP4 whose
 *   `moov` is at the end plays, and `-ss` seeks instead of decoding up to the position. `-protocol_whitelist file`
 *   with `-format_whitelist` (container demuxers only: no HLS, DASH, concat or other playlist format, which could
 *   name other files) keeps it on that file; MP4 external data references stay off (ffmpeg's default).
 * - An http(s) body fetched by Korus is piped in: `pipe:0` with `-protocol_whitelist pipe` (not seekable: an MP4
 *   needs its `moov` first, i.e. `-movflags +faststart`).
 */

/** The demuxers a player may use on a file. */
export const FILE_FORMATS =
  "mov,matroska,webm,wav,w64,mp3,ogg,flac,aac,aiff,au,caf,amr,avi,flv,asf,mpeg,mpegts,ivf,g722,gsm";

export function inputArgs(kind: "fd" | "pipe", startMs = 0): string[] {
  const seek = startMs > 0 ? ["-ss", (startMs / 1000).toFixed(3)] : [];
  return kind === "fd"
    ? ["-protocol_whitelist", "file", "-format_whitelist", FILE_FORMATS, ...seek, "-i", "/proc/self/fd/0"]
    : ["-protocol_whitelist", "pipe", ...seek, "-i", "pipe:0"];
}
