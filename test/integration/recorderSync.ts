/**
 * Lip-sync measurement for the recorder tests: a source that flashes (a white frame) and beeps (a 1 kHz burst)
 * together once a second, sent by ffmpeg as RTP with RTCP SRs, and the analysis of a recorded file: the time of
 * each flash (per-frame luma, ffmpeg `signalstats`) and of each beep onset (RMS per 5 ms, ffmpeg `astats`), on the
 * file's own timestamps (`-copyts`), and the offset of each beep to its flash.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Test } from "tap";

export type SyncVideo = "vp8" | "h264";

/**
 * Encodes `seconds` of the flash+beep source (Opus mono; VP8 or H.264 160x120 at 25 fps, a keyframe a second) into
 * `dir`. Encoding is slow on a loaded machine: up to 3 minutes.
 */
export function encodeSyncSource(dir: string, video: SyncVideo, seconds: number): string {
  const src = path.join(dir, `src-${video}.mkv`);
  const args = [
    ...["-hide_banner", "-loglevel", "error"],
    ...["-f", "lavfi", "-i", `aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${seconds}`],
    ...["-f", "lavfi", "-i"],
    `color=c=black:s=160x120:r=25:d=${seconds},drawbox=c=white:t=fill:enable='eq(mod(n\\,25)\\,0)'`,
    ...["-map", "0:a", "-ac", "1", "-c:a", "libopus", "-b:a", "48k"],
    ...["-map", "1:v", "-g", "25", "-pix_fmt", "yuv420p"],
    ...(video === "vp8"
      ? ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "200k"]
      : ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline"]),
    ...["-y", src],
  ];
  const r = spawnSync("ffmpeg", args, { timeout: 180_000, killSignal: "SIGKILL" });
  if (r.status !== 0) {
    throw new Error(`ffmpeg ${args.join(" ")} failed (${r.status ?? r.signal}): ${r.stderr.toString()}`);
  }
  return src;
}

/** A temporary folder for the encoded sources, removed at the end of `t`. */
export function syncDir(t: Test): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-rec-sync-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export interface SyncSend {
  /** Audio and/or video RTP destinations (RTCP goes to port + 1, as ffmpeg's RTP muxer does). */
  aport?: number;
  vport?: number;
  video: SyncVideo;
  /**
   * Wall-clock time (ms since the Unix epoch) the sender's SRs give to pts 0 (ffmpeg `-start_time_realtime`):
   * two processes given the same origin are one clock, whenever each really starts.
   */
  originMs: number;
}

/** ffmpeg sending the encoded source in real time (`-re -c copy`) as RTP with SRs. */
export function sendSyncSource(t: Test, src: string, o: SyncSend, seconds: number): ChildProcess {
  const args = ["-hide_banner", "-loglevel", "error", "-re", "-i", src];
  const origin = ["-start_time_realtime", String(Math.round(o.originMs * 1000))];
  if (o.aport !== undefined) {
    args.push("-map", "0:a", "-c", "copy", "-payload_type", "111", "-ssrc", "31111", ...origin);
    args.push("-f", "rtp", `rtp://127.0.0.1:${o.aport}`);
  }
  if (o.vport !== undefined) {
    args.push("-map", "0:v", "-c", "copy");
    if (o.video === "h264") {
      args.push("-bsf:v", "h264_mp4toannexb");
    }
    args.push("-payload_type", o.video === "vp8" ? "97" : "96", "-ssrc", "32222", ...origin);
    args.push("-f", "rtp", `rtp://127.0.0.1:${o.vport}`);
  }
  const child = spawn("ffmpeg", args, { stdio: "ignore" });
  const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  child.on("exit", () => clearTimeout(timer));
  t.teardown(() => {
    child.kill("SIGKILL");
  });
  return child;
}

/** ffmpeg's `metadata=print` output: the pts_time and the value of each frame. */
function metadataSeries(file: string, args: string[], key: string): { t: number; v: number }[] {
  const r = spawnSync("ffmpeg", ["-hide_banner", "-v", "error", "-copyts", "-i", file, ...args, "-f", "null", "-"], {
    timeout: 60_000,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0) {
    throw new Error(`ffmpeg ${args.join(" ")} ${file}: ${r.stderr.toString()}`);
  }
  const out: { t: number; v: number }[] = [];
  let t = NaN;
  for (const line of r.stdout.toString().split("\n")) {
    const m = /pts_time:(-?[\d.]+)/.exec(line);
    if (m !== null) {
      t = Number(m[1]);
    } else if (line.startsWith(`${key}=`)) {
      const v = Number(line.slice(key.length + 1));
      out.push({ t, v: Number.isFinite(v) ? v : -Infinity });
    }
  }
  return out;
}

/** Times (s) of the frames that turn white after a dark one. */
export function flashTimes(file: string): number[] {
  const key = "lavfi.signalstats.YAVG";
  const frames = metadataSeries(file, ["-map", "0:v:0", "-vf", `signalstats,metadata=print:key=${key}:file=-`], key);
  const out: number[] = [];
  let dark = true;
  for (const f of frames) {
    if (f.v > 128 && dark) {
      out.push(f.t);
    }
    dark = f.v < 64;
  }
  return out;
}

/** Times (s) where the audio goes from silence to the beep (RMS per 5 ms over −30 dBFS after one under −50). */
export function beepTimes(file: string): number[] {
  const key = "lavfi.astats.Overall.RMS_level";
  const chunks = metadataSeries(
    file,
    [
      "-map",
      "0:a:0",
      "-af",
      `aresample=48000,asetnsamples=n=240,astats=metadata=1:reset=1,ametadata=print:key=${key}:file=-`,
    ],
    key,
  );
  const out: number[] = [];
  let silent = false;
  for (const c of chunks) {
    if (c.v > -30 && silent) {
      out.push(c.t);
    }
    silent = c.v < -50 ? true : c.v > -30 ? false : silent;
  }
  return out;
}

/** The offset (ms, audio − video) of each beep to the flash nearest to it (within 0.5 s). */
export function syncOffsets(file: string): { offsets: number[]; flashes: number; beeps: number } {
  const flashes = flashTimes(file);
  const beeps = beepTimes(file);
  const offsets: number[] = [];
  for (const b of beeps) {
    let best = Infinity;
    for (const f of flashes) {
      if (Math.abs(b - f) < Math.abs(best)) {
        best = b - f;
      }
    }
    if (Math.abs(best) < 0.5) {
      offsets.push(Math.round(best * 1000));
    }
  }
  return { offsets, flashes: flashes.length, beeps: beeps.length };
}
