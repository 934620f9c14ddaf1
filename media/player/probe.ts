/**
 * What a PlayerEndpoint's media holds, from ffprobe in a child process (`-show_format -show_streams -of json`):
 * duration, the first video stream's codec and size, whether there is audio. Like the player's ffmpeg, ffprobe
 * never gets a path or a URL: its stdin is an open descriptor or a pipe fed by the caller (media/player/input.ts).
 */
import { spawn } from "node:child_process";
import type { JsonObject } from "../channel/protocol.js";
import { inputArgs } from "./input.js";
import type { DecoderInput } from "./MediaReader.js";

export interface MediaInfo {
  /** Milliseconds; 0 when the container does not say (a live stream). */
  readonly durationMs: number;
  readonly audio: boolean;
  readonly video: { readonly codec: string; readonly width: number; readonly height: number } | undefined;
}

const PROBE_TIMEOUT_MS = 15_000;
const OUT_LIMIT = 1024 * 1024;

export class ProbeError extends Error {
  override readonly name = "ProbeError";
}

interface ProbeJson {
  format?: { duration?: string };
  streams?: { codec_type?: string; codec_name?: string; width?: number; height?: number }[];
}

/** Kurento's VideoInfo for what ffprobe found (all zero before the first probe, or for a live stream). */
export function videoInfo(info: MediaInfo | undefined): JsonObject {
  const duration = info?.durationMs ?? 0;
  return {
    __module__: "kurento",
    __type__: "VideoInfo",
    isSeekable: duration > 0,
    seekableInit: 0,
    seekableEnd: duration,
    duration,
  };
}

/** Parses ffprobe's JSON. @throws ProbeError when it is not ffprobe's output. */
export function parseProbe(json: string): MediaInfo {
  let data: ProbeJson;
  try {
    data = JSON.parse(json) as ProbeJson;
  } catch {
    throw new ProbeError("ffprobe printed no JSON");
  }
  const streams = Array.isArray(data.streams) ? data.streams : [];
  const v = streams.find((s) => s.codec_type === "video" && s.codec_name !== "mjpeg" && s.codec_name !== "png");
  const seconds = Number(data.format?.duration ?? 0);
  return {
    durationMs: Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0,
    audio: streams.some((s) => s.codec_type === "audio"),
    video:
      v === undefined
        ? undefined
        : { codec: String(v.codec_name ?? "unknown"), width: Number(v.width ?? 0), height: Number(v.height ?? 0) },
  };
}

/**
 * Probes `input` (its descriptor is ffprobe's stdin; a body is piped in). Resolves with what ffprobe found.
 * @throws ProbeError when ffprobe fails (not media, ffprobe absent) or takes longer than 15 s.
 */
export function probeMedia(input: DecoderInput, ffprobe = "ffprobe"): Promise<MediaInfo> {
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-show_format",
    "-show_streams",
    "-of",
    "json",
    ...inputArgs("fd" in input ? "fd" : "pipe"),
  ];
  return new Promise((resolve, reject) => {
    const proc = spawn(ffprobe, args, { stdio: ["fd" in input ? input.fd : "pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    const timer = setTimeout(() => proc.kill("SIGKILL"), PROBE_TIMEOUT_MS);
    if ("body" in input && proc.stdin !== null) {
      proc.stdin.on("error", () => undefined); // ffprobe may stop reading early
      input.body.pipeInto(proc.stdin, () => undefined);
    }
    proc.stdout?.on("data", (c: Buffer) => {
      out = (out + c.toString("utf8")).slice(0, OUT_LIMIT);
    });
    proc.stderr?.on("data", (c: Buffer) => {
      err = (err + c.toString("utf8")).slice(-2000);
    });
    proc.on("error", (e) => {
      clearTimeout(timer);
      reject(new ProbeError(`cannot run ffprobe: ${e.message}`));
    });
    proc.on("close", (code, signal) => {
      clearTimeout(timer);
      if ("body" in input) {
        input.body.close();
      }
      if (code !== 0) {
        const last = err.trim().split("\n").at(-1)?.trim() ?? "";
        reject(new ProbeError(`ffmpeg could not decode '${input.label}' (${signal ?? `exit ${code}`}): ${last}`));
        return;
      }
      try {
        resolve(parseProbe(out));
      } catch (e) {
        reject(e instanceof Error ? e : new ProbeError(String(e)));
      }
    });
  });
}
