/**
 * Video codec cost (issue 12 §1 benchmark): CPU ms per frame to encode and decode VP8, VP9 and H.264 at 640×480
 * and 1280×720 through Korus's native codecs (media/codecs/video/, on their video threads; the process's CPU over
 * all threads), next to the ffmpeg CLI doing the same work with the same settings in the same run (its user+sys
 * CPU from the shell's `times`, with a short run subtracted so that start-up and codec set-up do not count).
 * Overhead = Korus / ffmpeg − 1; the target is ≤ 10 %.
 *
 * Then the audio hop: a 20 ms timer (an audio frame's tick) in the same event loop, idle and while a 720p30 VP8 →
 * H.264 transcode runs on the video threads; its p99 lateness (target: added ≤ 5 ms).
 *
 * Run alone after `npm run build:native && npm run build`: `node dist/bench/video.js`
 * (BENCH_VIDEO_ROUNDS: rounds, Korus and ffmpeg alternated, medians reported, default 3; BENCH_VIDEO_FRAMES: frames
 * per measurement at 480p, default 300, half that at 720p, 0 for the audio hop only; BENCH_VIDEO_SECONDS: the
 * audio-hop run, default 5).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { VideoDecoder, VideoEncoder, type VideoCodecName } from "../media/codecs/video/index.js";
import type { BenchResult } from "./lib/measure.js";
import { container, movingI420 } from "./lib/video.js";

const BITRATE = 1_000_000;

/** The ffmpeg CLI's encoder options equal to Korus's real-time settings (media/codecs/video/native/venc.c). */
function ffmpegEncoderArgs(codec: VideoCodecName): string[] {
  // -g 3000: Korus's libvpx keyframe safety net (ffmpeg's default GOP is 12); x264: keyframes on request only.
  const vpx = ["-deadline", "realtime", "-cpu-used", "8", "-error-resilient", "1", "-lag-in-frames", "0", "-g", "3000"];
  const cbr = ["-b:v", `${BITRATE}`, "-minrate", `${BITRATE}`, "-maxrate", `${BITRATE}`, "-qmin", "2", "-qmax", "56"];
  const shoot = ["-undershoot-pct", "100", "-overshoot-pct", "15", "-static-thresh", "1", "-noise-sensitivity", "0"];
  switch (codec) {
    case "vp8":
      return ["-c:v", "libvpx", ...vpx, ...cbr, ...shoot];
    case "vp9":
      return [
        "-c:v",
        "libvpx-vp9",
        ...vpx,
        ...cbr,
        "-undershoot-pct",
        "100",
        "-overshoot-pct",
        "15",
        "-aq-mode",
        "3",
        "-row-mt",
        "1",
      ];
    case "h264":
      return [
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-tune",
        "zerolatency",
        "-profile:v",
        "baseline",
        "-level",
        "3.1",
        "-b:v",
        `${BITRATE}`,
        "-maxrate",
        `${BITRATE}`,
        "-bufsize",
        `${BITRATE}`,
        "-x264-params",
        "repeat-headers=1:keyint=infinite",
      ];
  }
}

/** CPU ms of an ffmpeg run (user + sys of the children of a shell, from `times`). */
function ffmpegCpuMs(args: readonly string[]): number {
  const quoted = args.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
  const r = spawnSync("bash", ["-c", `ffmpeg -nostdin -hide_banner -loglevel error ${quoted} || exit 1; times`], {
    timeout: 600_000,
    killSignal: "SIGKILL",
  });
  if (r.status !== 0) {
    throw new Error(`ffmpeg ${args.join(" ")} failed: ${r.stderr.toString()}`);
  }
  const children = r.stdout.toString().trim().split("\n")[1] ?? "";
  const secs = [...children.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return ((secs[0] ?? NaN) + (secs[1] ?? NaN)) * 1000;
}

/** ffmpeg's CPU ms per frame: a run of n frames minus a run of 10, over n − 10. */
function ffmpegPerFrame(args: (frames: number) => string[], n: number): number {
  const long = ffmpegCpuMs(args(n));
  const short = ffmpegCpuMs(args(10));
  return (long - short) / (n - 10);
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

interface Row {
  codec: VideoCodecName;
  size: string;
  encodeMs: number;
  ffmpegEncodeMs: number;
  decodeMs: number;
  ffmpegDecodeMs: number;
  kbps: number;
}

async function measure(codec: VideoCodecName, w: number, h: number, n: number, dir: string): Promise<Row> {
  const frames = Array.from({ length: 30 }, (_, i) => movingI420(w, h, i));
  const raw = join(dir, `${w}x${h}.yuv`);
  writeFileSync(raw, Buffer.concat(Array.from({ length: n }, (_, i) => frames[i % frames.length] ?? new Uint8Array())));

  const enc = new VideoEncoder({ codec, width: w, height: h, bitrate: BITRATE });
  const encoded: Buffer[] = [];
  const e0 = cpuMs();
  for (let i = 0; i < n; i++) {
    const out = await enc.encode(
      { data: frames[i % frames.length] ?? new Uint8Array(), width: w, height: h },
      i * 3000,
    );
    if (out !== null) {
      encoded.push(out.data);
    }
  }
  const encodeMs = (cpuMs() - e0) / n;
  enc.close();
  const bytes = encoded.reduce((s, b) => s + b.length, 0);

  const ffEnc = ffmpegPerFrame(
    (k) => [
      "-f",
      "rawvideo",
      "-pix_fmt",
      "yuv420p",
      "-s",
      `${w}x${h}`,
      "-r",
      "30",
      "-i",
      raw,
      "-frames:v",
      `${k}`,
      "-threads",
      "1",
      ...ffmpegEncoderArgs(codec),
      "-f",
      "null",
      "-",
    ],
    n,
  );

  const dec = new VideoDecoder({ codec });
  const d0 = cpuMs();
  for (let i = 0; i < encoded.length; i++) {
    for (const f of (await dec.decode(encoded[i] ?? Buffer.alloc(1), i)) ?? []) {
      f.release();
    }
  }
  const decodeMs = (cpuMs() - d0) / encoded.length;
  dec.close();
  const file = join(dir, `${codec}-${w}.${codec === "h264" ? "h264" : "ivf"}`);
  writeFileSync(file, container(codec, w, h, 30, encoded));
  const ffDec = ffmpegPerFrame(
    (k) => ["-threads", "1", "-i", file, "-frames:v", `${k}`, "-f", "null", "-"],
    encoded.length,
  );
  rmSync(raw, { force: true });
  return {
    codec,
    size: `${w}x${h}`,
    encodeMs,
    ffmpegEncodeMs: ffEnc,
    decodeMs,
    ffmpegDecodeMs: ffDec,
    kbps: (bytes * 8 * 30) / n / 1000,
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
}

/** Lateness (ms) of a 20 ms timer over `ms`, while `work` runs alongside. */
async function timerLateness(ms: number, work?: (stop: () => boolean) => Promise<void>): Promise<number[]> {
  const late: number[] = [];
  let next = performance.now() + 20;
  let done = false;
  const tick = (): void => {
    const now = performance.now();
    late.push(Math.max(0, now - next));
    next += 20;
    if (!done) {
      setTimeout(tick, Math.max(0, next - performance.now()));
    }
  };
  setTimeout(tick, 20);
  const end = performance.now() + ms;
  await Promise.all([work?.(() => performance.now() >= end), new Promise((r) => setTimeout(r, ms))]);
  done = true;
  return late;
}

/** 2 s of 720p30 VP8, the transcoding source (made before the timer runs: the pattern is drawn in JS). */
async function vp8Source720(): Promise<Buffer[]> {
  const src = new VideoEncoder({ codec: "vp8", width: 1280, height: 720, bitrate: 2_000_000 });
  const vp8: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    const e = await src.encode({ data: movingI420(1280, 720, i), width: 1280, height: 720 }, i * 3000);
    if (e !== null) {
      vp8.push(e.data);
    }
  }
  src.close();
  return vp8;
}

/** 720p30 VP8 → H.264 in real time until stop(): decode on one video thread, encode on another. */
async function transcode720(vp8: readonly Buffer[], stop: () => boolean): Promise<void> {
  const w = 1280;
  const h = 720;
  const dec = new VideoDecoder({ codec: "vp8" });
  const enc = new VideoEncoder({ codec: "h264", width: w, height: h, bitrate: 2_000_000 });
  const t0 = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; !stop(); i++) {
    const au = vp8[i % vp8.length] ?? Buffer.alloc(1);
    pending.push(
      dec.decode(au, i * 3000).then(async (frames) => {
        for (const f of frames ?? []) {
          await enc.encode(f, f.timestamp);
          f.release();
        }
      }),
    );
    const wait = t0 + (i + 1) * (1000 / 30) - performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, wait)));
  }
  await Promise.allSettled(pending);
  dec.close();
  enc.close();
}

export async function run(): Promise<BenchResult[]> {
  const n = Number(process.env["BENCH_VIDEO_FRAMES"] ?? 300);
  const seconds = Number(process.env["BENCH_VIDEO_SECONDS"] ?? 5);
  const dir = mkdtempSync(join(tmpdir(), "korus-bench-video-"));
  const results: BenchResult[] = [];
  try {
    const rounds = Math.max(1, Number(process.env["BENCH_VIDEO_ROUNDS"] ?? 3));
    const runs = new Map<string, Row[]>();
    for (let round = 0; round < rounds; round++) {
      for (const [w, h, k] of n === 0
        ? []
        : ([
            [640, 480, n],
            [1280, 720, Math.max(20, n >> 1)],
          ] as const)) {
        for (const codec of ["vp8", "vp9", "h264"] as const) {
          const r = await measure(codec, w, h, k, dir);
          runs.set(`${codec} ${r.size}`, [...(runs.get(`${codec} ${r.size}`) ?? []), r]);
        }
      }
    }
    const med = (xs: number[]): number => pct(xs, 0.5);
    const rows: Row[] = [...runs.values()].map((rs) => ({
      codec: rs[0]?.codec ?? "vp8",
      size: rs[0]?.size ?? "",
      encodeMs: med(rs.map((r) => r.encodeMs)),
      ffmpegEncodeMs: med(rs.map((r) => r.ffmpegEncodeMs)),
      decodeMs: med(rs.map((r) => r.decodeMs)),
      ffmpegDecodeMs: med(rs.map((r) => r.ffmpegDecodeMs)),
      kbps: med(rs.map((r) => r.kbps)),
    }));
    console.log(
      `\nvideo codecs: CPU ms per frame (median of ${rounds} rounds), Korus (video threads + JS) vs the ffmpeg CLI, same settings, 1 thread`,
    );
    console.log("codec  size      encode  ffmpeg  overhead  decode  ffmpeg  overhead  kbit/s");
    for (const r of rows) {
      const eo = (r.encodeMs / r.ffmpegEncodeMs - 1) * 100;
      const dO = (r.decodeMs / r.ffmpegDecodeMs - 1) * 100;
      console.log(
        `${r.codec.padEnd(6)} ${r.size.padEnd(9)} ${r.encodeMs.toFixed(2).padStart(6)}  ${r.ffmpegEncodeMs.toFixed(2).padStart(6)}  ` +
          `${eo.toFixed(1).padStart(7)}%  ${r.decodeMs.toFixed(2).padStart(6)}  ${r.ffmpegDecodeMs.toFixed(2).padStart(6)}  ` +
          `${dO.toFixed(1).padStart(7)}%  ${r.kbps.toFixed(0).padStart(6)}`,
      );
      results.push(
        { name: `video ${r.codec} ${r.size} encode`, value: Number(r.encodeMs.toFixed(2)), unit: "ms CPU/frame" },
        {
          name: `video ${r.codec} ${r.size} encode, ffmpeg CLI`,
          value: Number(r.ffmpegEncodeMs.toFixed(2)),
          unit: "ms CPU/frame",
        },
        { name: `video ${r.codec} ${r.size} decode`, value: Number(r.decodeMs.toFixed(2)), unit: "ms CPU/frame" },
        {
          name: `video ${r.codec} ${r.size} decode, ffmpeg CLI`,
          value: Number(r.ffmpegDecodeMs.toFixed(2)),
          unit: "ms CPU/frame",
        },
      );
    }
    const idle = await timerLateness(seconds * 1000);
    const source = await vp8Source720();
    const busy = await timerLateness(seconds * 1000, (stop) => transcode720(source, stop));
    const added = pct(busy, 0.99) - pct(idle, 0.99);
    console.log(
      `audio hop (20 ms timer) lateness p50/p99: idle ${pct(idle, 0.5).toFixed(2)}/${pct(idle, 0.99).toFixed(2)} ms, ` +
        `during 720p30 VP8→H.264 ${pct(busy, 0.5).toFixed(2)}/${pct(busy, 0.99).toFixed(2)} ms: added p99 ${added.toFixed(2)} ms`,
    );
    results.push(
      { name: "audio hop p99 lateness, idle", value: Number(pct(idle, 0.99).toFixed(2)), unit: "ms" },
      {
        name: "audio hop p99 lateness, 720p30 VP8→H.264 transcoding",
        value: Number(pct(busy, 0.99).toFixed(2)),
        unit: "ms",
      },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
