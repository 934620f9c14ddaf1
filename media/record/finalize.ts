/**
 * Finalising a live WebM/MKV recording after a clean stop: ffmpeg re-muxes the file once (`-c copy`, no decoding)
 * into a sibling temporary file with Duration and Cues, which then replaces the live file by `rename` (atomic on
 * one file system). The live file is written append-only for crash safety, and mediabunny's append-only mode
 * cannot go back to write the Segment's Duration and size, hence this pass. ffmpeg runs in a child process, so the
 * worker's event loop (and the media it forwards) does not pay for it; the cost is about the time to read and
 * write the file once (docs/recording.md).
 *
 * If ffmpeg fails (a full disk, a killed child), the live file stays as it is: playable, without Duration.
 */
import { spawn } from "node:child_process";
import { rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** The longest a finalising pass may take before it is killed (ms). */
export const FINALIZE_TIMEOUT_MS = 120_000;

export interface FinalizeResult {
  ok: boolean;
  ms: number;
  error?: string;
}

export async function finalizeMatroska(path: string, format: "webm" | "matroska"): Promise<FinalizeResult> {
  const started = performance.now();
  const tmp = join(dirname(path), `.${basename(path)}.finalize`);
  const error = await new Promise<string | undefined>((resolve) => {
    let stderr = "";
    const child = spawn(
      "ffmpeg",
      [
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        path,
        "-map",
        "0",
        "-c",
        "copy",
        "-f",
        format,
        tmp,
      ],
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
