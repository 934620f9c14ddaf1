/**
 * Issue 11's recording benchmark, measured from outside like the rest of bench/outside (docs/benchmarks.md
 * "Recording"): the external generator (rtpgen.c) sends real payloads into RtpEndpoints of a Korus started as its
 * own process with `media.workers: 1` (a fresh one per measurement, so memory figures start clean); the server's CPU
 * is read from /proc over all its threads, its write system calls from /proc/<pid>/io.
 *
 * 1. Recording against forwarding, the same streams in the same run: N streams each forwarded RtpEndpoint →
 *    RtpEndpoint (the baseline), or recorded RtpEndpoint → RecorderEndpoint. Opus passthrough (WEBM_AUDIO_ONLY),
 *    G.711 → Opus (a PCMU source; the baseline forwards it into an Opus RtpEndpoint: the same transcoding) and VP8
 *    passthrough (WEBM_VIDEO_ONLY, ~530 kbit/s at 30 frames/s). CPU per stream and the ratio (target: ≤ 1.5× for
 *    passthrough).
 * 2. Concurrent audio recordings per core: a ramp of N recordings, with PCMU forwarding probes on the same worker
 *    whose one-way delay shows whether the recorder makes the worker late; RSS per recording, its growth over the
 *    window, write system calls per second (batched: one per flush, no fsync) and what reached the files.
 *
 *   node dist/bench/outside/recording.js [--part ratio|ramp] [--rounds N] [--seconds S] [--probes N]
 *                                        [--streams opus=50,pcmu=20,vp8=10] [--ramp 50,100,200,300] [--codec opus|pcmu]
 *                                        [--profile DIR] [--baseline OTHER_TREE/dist/src/main.js]
 *
 * `--baseline` also records with another tree's build in the same rounds (a before/after beside the forwarding);
 * `--profile DIR` runs each server with `--cpu-prof` (`node dist/bench/outside/profile.js DIR/…/*.cpuprofile`).
 *   node dist/bench/outside/run.js --only recording [--rounds N] [--seconds S]
 */
import { arg, isMain, printReport } from "./cli.js";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuUs, rssKiB, sleep } from "../lib/korus.js";
import { buildGenerator, Generator, type GenResult } from "./gen.js";
import { opusSpeech, pcmuSpeech, vp8 } from "./payloads.js";
import { procIo, RecordingRig, type RecMedia, type RecMode } from "./recordingRig.js";

export interface RecordingBenchOptions {
  part?: "ratio" | "ramp" | "";
  rounds?: number;
  seconds?: number;
  /** Streams per medium in part 1. */
  streams?: Partial<Record<RecMedia, number>>;
  /** Concurrent recordings of part 2. */
  ramp?: readonly number[];
  codec?: "opus" | "pcmu";
  /** PCMU forwarding probes beside the recordings of part 2. */
  probes?: number;
  /** Korus runs with `--cpu-prof` into a subfolder of this one per measurement (`<media>-<mode>-<n>-<k>`). */
  profile?: string;
  /** Another tree's built dist/src/main.js: its recordings are measured in the same rounds (a before/after). */
  baseline?: string;
}

/** What one measurement runs: forwarding, recording, or recording with the baseline build. */
type BenchMode = RecMode | "baseline";

interface Sample {
  media: RecMedia;
  mode: BenchMode;
  n: number;
  probes: number;
  cpuUs: number;
  wallUs: number;
  gen: GenResult;
  /** RSS (KiB) before the pipelines were made, when the window opened, when it closed. */
  rss: [number, number, number];
  syscw: number;
  wchar: number;
  /** Growth of the recording files over the window (bytes). */
  fileBytes: number;
}

/** Packets per second of one stream of each medium (VP8: 30 frames/s of 2 packets). */
const PPS: Record<RecMedia, number> = { opus: 50, pcmu: 50, vp8: 60 };
const PAYLOAD_ID: Record<RecMedia, number> = { pcmu: 0, opus: 1, vp8: 2 };

async function measure(
  bin: string,
  files: readonly string[],
  media: RecMedia,
  mode: BenchMode,
  n: number,
  probes: number,
  warmMs: number,
  ms: number,
  profileDir?: string,
  baseline?: string,
): Promise<Sample> {
  const root = mkdtempSync(join(tmpdir(), "korus-recbench-"));
  const rig = await RecordingRig.start(join(root, "rec"), profileDir, mode === "baseline" ? baseline : undefined);
  const gen = new Generator(bin);
  try {
    const pid = rig.pid();
    await sleep(500);
    const rss0 = rssKiB(pid);
    const ports = await gen.sockets(2 * (n + probes));
    const dests = await rig.setup(media, mode === "baseline" ? "record" : mode, n, probes, ports);
    files.forEach((f, i) => gen.payload(i, f));
    for (let i = 0; i < n + probes; i++) {
      const probe = i >= n;
      const d = dests[2 * i] ?? { port: -1, pt: 0 };
      gen.tx({
        sock: 2 * i,
        dstPort: d.port,
        pt: d.pt,
        ssrc: (probe ? 0x7000 : 0x3000) + i,
        payload: probe ? PAYLOAD_ID.pcmu : PAYLOAD_ID[media],
        pps: probe ? 50 : PPS[media],
        stamp: probe || media !== "pcmu",
        impulse: 0,
      });
      if (probe) {
        gen.rx(2 * i + 1, "stamp");
      } else if (mode === "forward") {
        gen.rx(2 * i + 1, media === "pcmu" ? "count" : "stamp");
      }
    }
    let cpu0 = 0;
    let cpu1 = 0;
    let w0 = 0;
    let w1 = 0;
    let rss1 = 0;
    let rss2 = 0;
    let io0 = { syscw: 0, wchar: 0 };
    let io1 = io0;
    let bytes0 = 0;
    let bytes1 = 0;
    const r = await gen.run(warmMs, ms, (open) => {
      if (open) {
        cpu0 = cpuUs(pid);
        io0 = procIo(pid);
        w0 = performance.now();
        rss1 = rssKiB(pid);
        bytes0 = rig.recordedBytes();
      } else {
        cpu1 = cpuUs(pid);
        io1 = procIo(pid);
        w1 = performance.now();
        rss2 = rssKiB(pid);
        bytes1 = rig.recordedBytes();
      }
    });
    return {
      media,
      mode,
      n,
      probes,
      cpuUs: cpu1 - cpu0,
      wallUs: (w1 - w0) * 1000,
      gen: r,
      rss: [rss0, rss1, rss2],
      syscw: io1.syscw - io0.syscw,
      wchar: io1.wchar - io0.wchar,
      fileBytes: bytes1 - bytes0,
    };
  } finally {
    gen.kill();
    await rig.close();
    rmSync(root, { recursive: true, force: true });
  }
}

// ------------------------------------------------------------------------------------------------- figures

const corePct = (x: Sample): number => (x.cpuUs / x.wallUs) * 100;
/** % of a core per stream. */
const perStream = (x: Sample): number => corePct(x) / Math.max(1, x.n);
const perSec = (v: number, x: Sample): number => v / (x.wallUs / 1e6);

function range(xs: readonly number[], digits: number): string {
  if (xs.length === 0) {
    return "–";
  }
  const lo = Math.min(...xs).toFixed(digits);
  const hi = Math.max(...xs).toFixed(digits);
  return lo === hi ? lo : `${lo}–${hi}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => c.padEnd(w[i] ?? 0)).join(" | ")} |`;
  return [line(header), `|${w.map((x) => "-".repeat(x + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

const LABEL: Record<RecMedia, string> = {
  opus: "Opus passthrough (WEBM_AUDIO_ONLY)",
  pcmu: "G.711 → Opus (PCMU source, WEBM_AUDIO_ONLY)",
  vp8: "VP8 passthrough ~530 kbit/s (WEBM_VIDEO_ONLY)",
};

function renderRatio(samples: readonly Sample[]): string {
  const rows: string[][] = [];
  for (const media of ["opus", "pcmu", "vp8"] as const) {
    const fwd = samples.filter((x) => x.media === media && x.mode === "forward");
    const rec = samples.filter((x) => x.media === media && x.mode === "record");
    const base = samples.filter((x) => x.media === media && x.mode === "baseline");
    if (fwd.length === 0 || rec.length === 0) {
      continue;
    }
    // Ratios pair the measurements of one round (adjacent in time); the cell shows their range.
    const ratios = rec.map((x, i) => perStream(x) / perStream(fwd[i] ?? fwd[0] ?? x));
    const baseRatios = base.map((x, i) => perStream(x) / perStream(fwd[i] ?? fwd[0] ?? x));
    const n = rec[0]?.n ?? 0;
    const baseCells =
      base.length === 0
        ? []
        : [
            `${range(base.map(perStream), 2)} % (${range(
              base.map((x) => x.cpuUs / Math.max(1, x.gen.sent)),
              1,
            )} µs/pkt)`,
            `${range(baseRatios, 2)}×`,
          ];
    rows.push([
      `${LABEL[media]}, ${n} streams`,
      `${range(fwd.map(perStream), 2)} % (${range(
        fwd.map((x) => x.cpuUs / Math.max(1, x.gen.sent)),
        1,
      )} µs/pkt)`,
      `${range(rec.map(perStream), 2)} % (${range(
        rec.map((x) => x.cpuUs / Math.max(1, x.gen.sent)),
        1,
      )} µs/pkt)`,
      `${range(ratios, 2)}×${media === "pcmu" ? "" : " (≤ 1.5)"}`,
      `${range(
        rec.map((x) => (perSec(x.fileBytes, x) * 8) / 1000 / Math.max(1, x.n)),
        1,
      )} kbit/s`,
      ...baseCells,
    ]);
  }
  const baseline = samples.some((x) => x.mode === "baseline")
    ? ["baseline build: recording, % core per stream", "baseline ratio"]
    : [];
  return table(
    [
      "recording vs forwarding, same streams",
      "forwarding: % core per stream",
      "recording: % core per stream",
      "ratio",
      "written per recording",
      ...baseline,
    ],
    rows,
  );
}

function renderRamp(samples: readonly Sample[], codec: string, probes: number): string {
  const rows: string[][] = [];
  for (const n of [...new Set(samples.map((x) => x.n))].sort((a, b) => a - b)) {
    const xs = samples.filter((x) => x.n === n);
    rows.push([
      `${n}`,
      `${range(xs.map(corePct), 0)} %`,
      range(
        xs.map((x) => n / (corePct(x) / 100)),
        0,
      ),
      `${range(
        xs.map((x) => (x.gen.received / Math.max(1, (x.probes * 50 * x.wallUs) / 1e6)) * 100),
        0,
      )} %; ${range(
        xs.map((x) => (x.gen.late / Math.max(1, x.gen.latN)) * 100),
        2,
      )} %; ${range(
        xs.map((x) => x.gen.p99Us / 1000),
        1,
      )} ms`,
      `${range(
        xs.map((x) => (x.rss[2] - x.rss[0]) / n),
        0,
      )} KiB`,
      `${range(
        xs.map((x) => ((x.rss[2] - x.rss[1]) / n) * (60e6 / x.wallUs)),
        1,
      )} KiB/min`,
      `${range(
        xs.map((x) => perSec(x.syscw, x)),
        0,
      )} (${range(
        xs.map((x) => perSec(x.syscw, x) / n),
        2,
      )})`,
      `${range(
        xs.map((x) => (perSec(x.fileBytes, x) * 8) / 1000 / n),
        1,
      )} kbit/s`,
    ]);
  }
  return table(
    [
      `${codec === "pcmu" ? "G.711 → Opus" : "Opus"} recordings`,
      "server CPU",
      "recordings per core",
      `${probes} probes: delivered; > 20 ms; p99`,
      "RSS per recording",
      "RSS growth per recording",
      "write syscalls/s (per recording)",
      "written per recording",
    ],
    rows,
  );
}

// ------------------------------------------------------------------------------------------------- driver

/** The profile folder of one measurement, when profiling. */
function profileFolder(root: string | undefined, name: string): string | undefined {
  if (root === undefined) {
    return undefined;
  }
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Runs the recording benchmark; returns the printed tables. */
export async function runRecording(opts: RecordingBenchOptions = {}): Promise<string> {
  const rounds = opts.rounds ?? 2;
  const seconds = opts.seconds ?? 4;
  const streams: Record<RecMedia, number> = { opus: 50, pcmu: 20, vp8: 10, ...opts.streams };
  const ramp = opts.ramp ?? [50, 100, 200, 300];
  const codec = opts.codec ?? "opus";
  const probes = opts.probes ?? 10;
  const dir = mkdtempSync(join(tmpdir(), "korus-recbench-gen-"));
  const log = (x: Sample): void => {
    console.error(
      `  [recording] ${x.mode.padEnd(7)} ${x.media.padEnd(4)} ${String(x.n).padStart(4)}: cpu ${corePct(x).toFixed(1)} % core, ` +
        `sent ${x.gen.sent} recv ${x.gen.received}, late ${x.gen.late}/${x.gen.latN} p99 ${(x.gen.p99Us / 1000).toFixed(1)} ms, ` +
        `rss ${x.rss.map((k) => (k / 1024).toFixed(1)).join("/")} MiB, syscw ${x.syscw}, files +${x.fileBytes} B`,
    );
  };
  try {
    const bin = buildGenerator(dir);
    const files = [pcmuSpeech(dir), opusSpeech(dir), vp8(dir, 2)];
    const out: string[] = [];
    if (opts.part !== "ramp") {
      const samples: Sample[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const media of ["opus", "pcmu", "vp8"] as const) {
          if (streams[media] <= 0) {
            continue;
          }
          const modes: BenchMode[] = r % 2 === 0 ? ["forward", "record"] : ["record", "forward"];
          if (opts.baseline !== undefined) {
            modes.splice(1, 0, "baseline"); // between the two: each is next in time to the other two
          }
          for (const mode of modes) {
            // VP8 warms up past its first keyframe interval (2 s): an RtpEndpoint's first packets may not reach the recorder.
            const warm = media === "vp8" ? 3000 : 1000;
            const n = streams[media];
            const prof = profileFolder(opts.profile, `${media}-${mode}-${n}-${r}`);
            const x = await measure(bin, files, media, mode, n, 0, warm, seconds * 1000, prof, opts.baseline);
            log(x);
            samples.push(x);
          }
        }
      }
      out.push(renderRatio(samples));
    }
    if (opts.part !== "ratio") {
      const samples: Sample[] = [];
      for (let r = 0; r < rounds; r++) {
        for (const n of ramp) {
          const prof = profileFolder(opts.profile, `${codec}-record-${n}-${r}`);
          const x = await measure(bin, files, codec, "record", n, probes, 2000, seconds * 1000, prof);
          log(x);
          samples.push(x);
        }
      }
      out.push(renderRamp(samples, codec, probes));
    }
    out.push(
      "CPU over all the server's threads (media.workers: 1, so per core); RSS per recording = (RSS at the end − RSS",
      "before the pipelines) ÷ N, pipeline and endpoints included; its growth over a few seconds is mostly heap not",
      "yet collected (a longer --seconds shows the trend). Probes delivered below ~99 % or written below the stream's",
      "bitrate mean the server was starved of CPU by other load. Compare within one run only (performance.md §1).",
    );
    return out.join("\n");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Options from the command line (also `bench/outside/run.ts --only recording`). */
export function recordingArgs(): RecordingBenchOptions {
  const num = (n: string): number | undefined => (arg(n) === undefined ? undefined : Number(arg(n)));
  const part = arg("--part");
  const codec = arg("--codec");
  const streams: Partial<Record<RecMedia, number>> = {};
  for (const kv of (arg("--streams") ?? "").split(",").filter((s) => s !== "")) {
    const [k, v] = kv.split("=");
    if (k === "opus" || k === "pcmu" || k === "vp8") {
      streams[k] = Number(v);
    }
  }
  return {
    ...(part === "ratio" || part === "ramp" ? { part } : {}),
    ...(codec === "pcmu" || codec === "opus" ? { codec } : {}),
    ...(num("--rounds") !== undefined ? { rounds: num("--rounds") } : {}),
    ...(num("--seconds") !== undefined ? { seconds: num("--seconds") } : {}),
    ...(num("--probes") !== undefined ? { probes: num("--probes") } : {}),
    ...(arg("--profile") !== undefined ? { profile: resolve(arg("--profile") ?? ".") } : {}),
    ...(arg("--baseline") !== undefined ? { baseline: resolve(arg("--baseline") ?? ".") } : {}),
    ...(arg("--ramp") !== undefined ? { ramp: (arg("--ramp") ?? "").split(",").map(Number) } : {}),
    streams,
  };
}

if (isMain(import.meta.url)) {
  printReport(runRecording(recordingArgs()));
}
