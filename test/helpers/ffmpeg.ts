/**
 * ffmpeg as a real peer in tests: runs it to completion with a hard limit (SIGKILL after 30 s, so the child is gone
 * when this returns) and returns its stdout; a non-zero exit throws with the arguments and ffmpeg's stderr.
 */
import { spawnSync } from "node:child_process";

export function ffmpegSync(args: readonly string[], input?: Uint8Array): Buffer {
  const r = spawnSync("ffmpeg", ["-hide_banner", "-loglevel", "error", ...args], {
    ...(input === undefined ? {} : { input }),
    timeout: 30_000,
    maxBuffer: 32 << 20,
    killSignal: "SIGKILL",
  });
  if (r.status !== 0) {
    throw new Error(`ffmpeg ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.toString()}`);
  }
  return r.stdout;
}
