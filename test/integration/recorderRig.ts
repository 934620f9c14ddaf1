/**
 * Shared rig of the recorder tests: a built Korus with its recordings root, a raw JSON-RPC app, an RtpEndpoint fed
 * by ffmpeg (real RTP: Opus, PCMU, VP8, H.264) connected into a RecorderEndpoint, and ffprobe/ffmpeg checks of the
 * file by content.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { Test } from "tap";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { openAppSession, type RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { startKorus, type KorusProcess } from "../helpers/server.js";
import { goertzelPower } from "../helpers/tone.js";

export interface Rig {
  k: KorusProcess;
  app: RpcClient;
  root: string;
  pipeline: string;
  call(method: string, params: Record<string, unknown>): Promise<unknown>;
}

export async function startRig(t: Test): Promise<Rig> {
  // The test machine is shared and often loaded: a start may take far longer than on a quiet one.
  const k = await startKorus(t, { workers: 1, startTimeoutMs: 60_000 });
  const { app, pipeline, call } = await openAppSession(t, k.url);
  return { k, app, root: path.join(k.dataDir, "data", "recordings"), pipeline, call };
}

export type AudioCodec = "opus" | "pcmu";
export type VideoCodec = "vp8" | "h264" | undefined;

/** An RtpEndpoint that receives what {@link sendMedia} sends; returns its id and the ports of its answer. */
export async function rtpSource(
  rig: Rig,
  audio: AudioCodec | undefined,
  video: VideoCodec,
): Promise<{ id: string; aport: number; vport: number }> {
  const id = String(
    await rig.call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: rig.pipeline } }),
  );
  const sdp = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"];
  if (audio === "opus") {
    sdp.push("m=audio 9 RTP/AVP 111", "a=rtpmap:111 opus/48000/2", "a=sendonly");
  } else if (audio === "pcmu") {
    sdp.push("m=audio 9 RTP/AVP 0", "a=rtpmap:0 PCMU/8000", "a=sendonly");
  }
  if (video === "vp8") {
    sdp.push("m=video 9 RTP/AVP 97", "a=rtpmap:97 VP8/90000", "a=sendonly");
  } else if (video === "h264") {
    sdp.push(
      "m=video 9 RTP/AVP 96",
      "a=rtpmap:96 H264/90000",
      "a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
      "a=sendonly",
    );
  }
  const answer = String(
    await rig.call("invoke", {
      object: id,
      operation: "processOffer",
      operationParams: { offer: `${sdp.join("\r\n")}\r\n` },
    }),
  );
  return {
    id,
    aport: Number(/m=audio (\d+)/.exec(answer)?.[1] ?? 0),
    vport: Number(/m=video (\d+)/.exec(answer)?.[1] ?? 0),
  };
}

/**
 * ffmpeg sending a 440 Hz tone and a moving test pattern (320x240 unless `opts.size`) as RTP in real time for
 * `seconds`. The media is encoded
 * first (into a temporary file) and then sent with `-re -c copy`, so a loaded machine cannot make the sender fall
 * behind real time.
 */
export function sendMedia(
  t: Test,
  ports: { aport: number; vport: number },
  audio: AudioCodec | undefined,
  video: VideoCodec,
  seconds: number,
  gop = 25,
  opts: { size?: string; ssrc?: number } = {},
): ChildProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-rec-src-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, "src.mkv");
  const enc = ["-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${seconds}`];
  enc.push("-f", "lavfi", "-i", `testsrc2=size=${opts.size ?? "320x240"}:rate=25:duration=${seconds}`);
  const send = ["-hide_banner", "-loglevel", "error", "-re", "-i", src];
  if (audio !== undefined) {
    enc.push("-map", "0:a", "-ac", "1");
    enc.push(...(audio === "opus" ? ["-c:a", "libopus", "-b:a", "48k"] : ["-c:a", "pcm_mulaw", "-ar", "8000"]));
    send.push("-map", "0:a", "-c", "copy", "-payload_type", audio === "opus" ? "111" : "0", "-ssrc", "11111");
    send.push("-f", "rtp", `rtp://127.0.0.1:${ports.aport}`);
  }
  if (video !== undefined) {
    enc.push("-map", "1:v", "-g", String(gop), "-pix_fmt", "yuv420p");
    enc.push(
      ...(video === "vp8"
        ? ["-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "300k"]
        : ["-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-profile:v", "baseline"]),
    );
    send.push("-map", "0:v", "-c", "copy");
    if (video === "h264") {
      send.push("-bsf:v", "h264_mp4toannexb"); // SPS/PPS in band before each IDR, as browsers send them
    }
    send.push("-payload_type", video === "vp8" ? "97" : "96", "-ssrc", String(opts.ssrc ?? 22222));
    send.push("-f", "rtp", `rtp://127.0.0.1:${ports.vport}`);
  }
  ffmpegSync([...enc, "-y", src]);
  const child = spawn("ffmpeg", send, { stdio: "ignore" });
  const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  child.on("exit", () => clearTimeout(timer));
  t.teardown(() => {
    child.kill("SIGKILL");
  });
  return child;
}

export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once("exit", () => resolve()));
}

export interface Probe {
  durationSec: number;
  streams: { codec_type: string; codec_name: string; width?: number; height?: number }[];
}

export function ffprobe(file: string): Probe {
  const r = spawnSync("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", file], {
    timeout: 30_000,
  });
  if (r.status !== 0) {
    throw new Error(`ffprobe ${file}: ${r.stderr.toString()}`);
  }
  const j = JSON.parse(r.stdout.toString()) as { format: { duration?: string }; streams: Probe["streams"] };
  return { durationSec: Number(j.format.duration ?? NaN), streams: j.streams };
}

/** The file's audio decoded to mono 8 kHz s16 (ffmpeg), or throws if it does not decode. */
export function decodeAudio(file: string): Int16Array {
  const r = spawnSync(
    "ffmpeg",
    ["-hide_banner", "-v", "error", "-i", file, "-map", "0:a:0", "-ac", "1", "-ar", "8000", "-f", "s16le", "-"],
    { timeout: 30_000, maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) {
    throw new Error(`ffmpeg decode ${file}: ${r.stderr.toString()}`);
  }
  const b = r.stdout;
  return new Int16Array(b.buffer, b.byteOffset, b.length >> 1);
}

/** True when a 440 Hz tone dominates the middle of the audio. */
export function has440(pcm: Int16Array): boolean {
  const mid = pcm.subarray(Math.floor(pcm.length / 4), Math.floor(pcm.length / 4) + 4000);
  return goertzelPower(mid, 8000, 440) > 100 * goertzelPower(mid, 8000, 1000);
}

/** MD5s of the first video frames (`frames` of them), decoded by ffmpeg: a moving pattern gives distinct ones. */
export function frameHashes(file: string, frames: number): string[] {
  const r = spawnSync(
    "ffmpeg",
    ["-hide_banner", "-v", "error", "-i", file, "-map", "0:v:0", "-frames:v", String(frames), "-f", "framemd5", "-"],
    { timeout: 30_000 },
  );
  if (r.status !== 0) {
    throw new Error(`ffmpeg framemd5 ${file}: ${r.stderr.toString()}`);
  }
  return r.stdout
    .toString()
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => l.split(",").at(-1)?.trim() ?? "");
}

/**
 * The recorded span as a test can know it: between `lo` (a lower bound, e.g. Recording event → stop request sent)
 * and `hi` (an upper bound, e.g. record request sent → stop answered), in ms. The file's duration must lie within
 * 100 ms of that interval: the recorder's own error, whatever the RPC and event latencies of a loaded machine.
 */
export function checkSpan(t: Test, durationSec: number, loMs: number, hiMs: number): void {
  const d = durationSec * 1000;
  t.ok(
    d >= loMs - 100 && d <= hiMs + 100,
    `duration ${durationSec.toFixed(3)} s, recorded span between ${(loMs / 1000).toFixed(3)} and ${(hiMs / 1000).toFixed(3)} s (±100 ms)`,
  );
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The Kurento event type of an onEvent message. */
export function eventType(m: RpcMessage): string | undefined {
  const v = m.params?.["value"] as { type?: string } | undefined;
  return v?.type;
}
