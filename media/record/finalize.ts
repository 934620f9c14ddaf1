/**
 * Finalising a recording after a clean stop: ffmpeg re-muxes the file once (`-c copy`, no decoding) into a sibling
 * temporary file, which then replaces the live file by `rename` (atomic on one file system). WebM/MKV get Duration
 * and Cues (mediabunny's append-only mode cannot go back to write them); a fragmented MP4 becomes a plain MP4 with
 * its index first (`+faststart`) and track durations players agree on (a fragmented track that starts late, e.g.
 * video waiting for its first keyframe, is otherwise reported as lasting its start offset longer). ffmpeg runs in a child process, so the
 * worker's event loop (and the media it forwards) does not pay for it; the cost is about the time to read and
 * write the file once (docs/recording.md).
 *
 * If ffmpeg fails (a full disk, a killed child), the live file stays as it is: playable, without Duration.
 *
 * WAV and Ogg need no pass: mediabunny rewrites the WAV header's sizes when it finalises, and an Ogg stream's
 * duration is its last page's granule position.
 */
import { spawn } from "node:child_process";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Container } from "./profiles.js";

/** The longest a finalising pass may take before it is killed (ms). */
export const FINALIZE_TIMEOUT_MS = 120_000;
/**
 * Finalising passes (ffmpeg children) running at once per thread; the others queue. Releasing a pipeline with
 * hundreds of recorders would otherwise start hundreds of ffmpeg processes at the same moment.
 */
export const FINALIZE_CONCURRENCY = 4;

let running = 0;
const waiting: (() => void)[] = [];

/** Finalising passes running now on this thread (tests, diagnostics). */
export function finalizing(): number {
  return running;
}

async function slot<T>(work: () => Promise<T>): Promise<T> {
  if (running >= FINALIZE_CONCURRENCY) {
    await new Promise<void>((resolve) => waiting.push(resolve)); // a finishing pass hands its slot over
  } else {
    running++;
  }
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next === undefined) {
      running--;
    } else {
      next();
    }
  }
}

export interface FinalizeResult {
  ok: boolean;
  ms: number;
  error?: string;
}

/** Re-muxes the recording at `path` (queued behind {@link FINALIZE_CONCURRENCY} passes running on this thread). */
export function finalizeRecording(path: string, container: Container): Promise<FinalizeResult> {
  if (container === "wav" || container === "ogg") {
    return Promise.resolve({ ok: true, ms: 0 }); // complete as written: nothing to re-mux
  }
  return slot(() => finalizeNow(path, container));
}

async function finalizeNow(path: string, container: Container): Promise<FinalizeResult> {
  const format: string[] =
    container === "mkv"
      ? ["-f", "matroska"]
      : container === "mp4"
        ? ["-movflags", "+faststart", "-f", "mp4"]
        : ["-f", "webm"];
  const started = performance.now();
  const tmp = join(dirname(path), `.${basename(path)}.finalize`);
  const error = await new Promise<string | undefined>((resolve) => {
    let stderr = "";
    const child = spawn(
      "ffmpeg",
      ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-i", path, "-map", "0", "-c", "copy", ...format, tmp],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    const timer = setTimeout(() => child.kill("SIGKILL"), FINALIZE_TIMEOUT_MS);
    timer.unref();
    child.stderr.on("data", (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve(String(err));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `ffmpeg exited ${code ?? signal}: ${stderr.trim()}`);
    });
  });
  if (error !== undefined) {
    await rm(tmp, { force: true }).catch(() => undefined);
    return { ok: false, ms: performance.now() - started, error };
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    return { ok: false, ms: performance.now() - started, error: String(err) };
  }
  return { ok: true, ms: performance.now() - started };
}
