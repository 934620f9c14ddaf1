/**
 * The external tools the recording service runs on a finished or interrupted file (libraries.md §9): ffmpeg to
 * re-mux (`-c copy`, so the file gets its Duration and Cues/index), ffprobe to measure the duration, and a streamed
 * SHA-256. Every child runs without a shell, with its arguments as an array, input and output named `file:<abs>`
 * (no protocol or option can hide in a name), and is killed (SIGKILL) when it outlives its time limit.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { pipeline } from "node:stream/promises";

/** ffmpeg muxer names by file extension; others are re-muxed by the profile's container. */
const MUXERS: Readonly<Record<string, string>> = {
  ".webm": "webm",
  ".mkv": "matroska",
  ".mka": "matroska",
  ".mp4": "mp4",
  ".m4a": "mp4",
  ".ogg": "ogg",
  ".opus": "ogg",
  ".wav": "wav",
};

/** The container of a media profile (WEBM, MP4_AUDIO_ONLY, korus WAV…), as a file extension. */
export function profileExtension(profile: string): string {
  const p = profile.toUpperCase();
  for (const [prefix, ext] of [
    ["WEBM", ".webm"],
    ["MKV", ".mkv"],
    ["MP4", ".mp4"],
    ["OGG", ".ogg"],
    ["WAV", ".wav"],
  ] as const) {
    if (p.startsWith(prefix)) {
      return ext;
    }
  }
  return ".webm";
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs `cmd args` to its end or its time limit; stdout/stderr kept up to 64 KiB each. */
export function run(cmd: string, args: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const keep = (buf: string, d: Buffer): string => (buf.length < 65_536 ? buf + d.toString("utf8") : buf);
    child.stdout.on("data", (d: Buffer) => (stdout = keep(stdout, d)));
    child.stderr.on("data", (d: Buffer) => (stderr = keep(stderr, d)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}`, timedOut });
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

/** The duration of a media file in ms (ffprobe's format duration), or null when it cannot be read. */
export async function probeDurationMs(file: string, timeoutMs: number): Promise<number | null> {
  const r = await run(
    "ffprobe",
    ["-v", "error", "-show_entries", "format=duration", "-of", "json", `file:${file}`],
    timeoutMs,
  );
  if (r.code !== 0) {
    return null;
  }
  try {
    const parsed = JSON.parse(r.stdout) as { format?: { duration?: string } };
    const s = Number(parsed.format?.duration);
    return Number.isFinite(s) && s > 0 ? Math.round(s * 1000) : null;
  } catch {
    return null;
  }
}

/** SHA-256 (hex) and size of a file, streamed. */
export async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) {
      bytes += chunk.length;
      hash.update(chunk);
    }
  });
  return { sha256: hash.digest("hex"), bytes };
}

export type RemuxResult = { ok: true; durationMs: number } | { ok: false; error: string };

/**
 * Re-muxes an interrupted recording in place: `ffmpeg -c copy` into a temporary file next to it, checked with
 * ffprobe, then renamed over the original (atomic). On any failure the original is left as it was.
 */
export async function remuxInPlace(file: string, profile: string, timeoutMs: number): Promise<RemuxResult> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    return { ok: false, error: `cannot read the file: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (size === 0) {
    return { ok: false, error: "the file is empty" };
  }
  const ext = extname(file).toLowerCase();
  const muxExt = MUXERS[ext] === undefined ? profileExtension(profile) : ext;
  const muxer = MUXERS[muxExt] ?? "webm";
  const tmp = join(dirname(file), `.${basename(file)}.recover${muxExt}`);
  const r = await run(
    "ffmpeg",
    [
      "-hide_banner",
      "-nostdin",
      "-loglevel",
      "error",
      "-y",
      "-i",
      `file:${file}`,
      "-map",
      "0",
      "-c",
      "copy",
      "-f",
      muxer,
      `file:${tmp}`,
    ],
    timeoutMs,
  );
  const fail = async (error: string): Promise<RemuxResult> => {
    await rm(tmp, { force: true });
    return { ok: false, error };
  };
  if (r.timedOut) {
    return fail(`ffmpeg did not finish within ${timeoutMs} ms`);
  }
  if (r.code !== 0) {
    return fail(`ffmpeg failed (${r.code}): ${r.stderr.trim().split("\n").slice(-3).join(" | ")}`);
  }
  const durationMs = await probeDurationMs(tmp, timeoutMs);
  if (durationMs === null) {
    return fail("the re-muxed file has no readable duration");
  }
  await rename(tmp, file);
  return { ok: true, durationMs };
}
