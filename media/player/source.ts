/**
 * Where a PlayerEndpoint's media comes from, and the one place its failures to open are mapped to the Error events
 * KMS raises (GStreamer error domains and codes):
 *
 * - `file:` URIs and paths: confined to `files.mediaRoots` and opened by Korus (media/files/confine.ts);
 * - `http(s):` URLs: fetched by Korus under the http media policy (media/files/httpMedia.ts);
 * - any other scheme is refused.
 */
import type { MediaAccessSettings } from "../channel/protocol.js";
import { openConfined } from "../files/confine.js";
import { CompiledHttpPolicy, HttpMediaError, HttpMediaRefusedError, openHttpMedia } from "../files/httpMedia.js";
import { PlayerUriError } from "../mixer/errors.js";
import type { DecoderInput } from "./MediaReader.js";

export interface ErrorKind {
  readonly type: string;
  readonly errorCode: number;
}

/** GStreamer error codes as KMS reports them in Error events. */
export const NOT_FOUND: ErrorKind = { type: "RESOURCE_ERROR_NOT_FOUND", errorCode: 3 };
export const DECODE: ErrorKind = { type: "STREAM_ERROR_DECODE", errorCode: 7 };
export const OPEN_READ: ErrorKind = { type: "RESOURCE_ERROR_OPEN_READ", errorCode: 5 };
export const NOT_AUTHORIZED: ErrorKind = { type: "RESOURCE_ERROR_NOT_AUTHORIZED", errorCode: 15 };
export const CODEC_NOT_FOUND: ErrorKind = { type: "STREAM_ERROR_CODEC_NOT_FOUND", errorCode: 6 };

/** Without settings (tests): no media roots, default http policy. */
const NO_ACCESS: MediaAccessSettings = {
  mediaRoots: [],
  recordingsRoot: "",
  httpAllowHosts: [],
  httpAllowNetworks: [],
};

/** Where a PlayerEndpoint's media comes from: a file (confined to the media roots) or an http(s) URL. */
export type PlayerSource = { kind: "file"; uri: string } | { kind: "http"; url: string };

/**
 * Classifies a PlayerEndpoint URI; nothing is opened here.
 * @throws PlayerUriError for an empty URI and any scheme but file:, http: and https:.
 */
export function playerSource(uri: unknown): PlayerSource {
  if (typeof uri !== "string" || uri === "") {
    throw new PlayerUriError("PlayerEndpoint needs a 'uri'");
  }
  if (/^https?:/i.test(uri)) {
    return { kind: "http", url: uri };
  }
  if (/^file:/i.test(uri) || !/^[a-z][a-z0-9+.-]*:/i.test(uri)) {
    return { kind: "file", uri };
  }
  throw new PlayerUriError(`unsupported URI '${uri}': Korus plays file:// URIs, paths and http(s) URLs`);
}

/** Extensions of containers that hold audio only (Ogg and MP4/M4V may hold video: not listed). */
const AUDIO_ONLY = /\.(wav|w64|mp3|flac|aac|m4a|amr|awb|au|gsm|g722|opus|oga|aiff?|caf)$/i;

/** True when the URI's path names an audio-only container, which the player starts without waiting for ffprobe. */
export function isAudioOnlyUri(uri: string): boolean {
  return AUDIO_ONLY.test(uri.replace(/[?#].*$/, ""));
}

/** Media ready for ffmpeg; `fh` is the player's own handle of an opened file, closed once ffmpeg has its copy. */
export type OpenedMedia = DecoderInput & { fh?: { close(): Promise<void> } };

/** Closes media that will not be read (a stop or a seek came first). */
export function closeOpened(input: OpenedMedia): void {
  void input.fh?.close().catch(() => undefined);
  if ("body" in input) {
    input.body.close();
  }
}

/**
 * Opens `uri` for one reader (each ffprobe and ffmpeg gets its own descriptor or fetch).
 * @throws PlayerUriError, MediaFileNotFoundError, HttpMediaRefusedError, HttpMediaError (as a rejection).
 */
export async function openMedia(
  uri: string,
  access: MediaAccessSettings | undefined,
  signal: AbortSignal,
): Promise<OpenedMedia> {
  const source = playerSource(uri);
  const a = access ?? NO_ACCESS;
  if (source.kind === "file") {
    const fh = await openConfined(source.uri, a.mediaRoots);
    return { label: uri, fd: fh.fd, fh };
  }
  const policy = new CompiledHttpPolicy({ allowHosts: a.httpAllowHosts, allowNetworks: a.httpAllowNetworks });
  return { label: uri, body: await openHttpMedia(source.url, policy, signal) };
}

/** The Error event kind for a failure to open the media. */
export function openErrorKind(err: unknown): ErrorKind {
  if (err instanceof HttpMediaRefusedError) {
    return NOT_AUTHORIZED;
  }
  if (err instanceof HttpMediaError) {
    return err.status === 404 || err.status === 410 ? NOT_FOUND : OPEN_READ;
  }
  return NOT_FOUND; // MediaFileNotFoundError, PlayerUriError
}
