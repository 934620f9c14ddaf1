/**
 * Issue 17 §1: Korus measured from outside, as users' load sees it, beside a bare Node UDP echo and (when installed)
 * rtpengine, in one run. docs/benchmarks.md says what each figure means and how it is measured.
 *
 * One external generator (bench/outside/rtpgen.c, compiled with `cc -O2` into a temporary folder) drives every
 * target from its own process: RTP with real payloads (speech-like µ-law, browser-like Opus, VP8-shaped video), the
 * flows spread evenly over the 20 ms interval. The target's CPU is read from /proc/<pid>/stat (all its threads) over
 * the generator's measurement window; Korus runs with `media.workers: 1`, so each figure is per core. The targets
 * alternate within every round (the order reversed every other round); a cell shows the range over the rounds.
 *
 *   node dist/bench/outside/run.js [--only forwarding|fanout|transcode|recording] [--rounds N] [--seconds S]
 *                                  [--calls N] [--transcode-calls N] [--fanout 50,100,200] [--diagnose]
 *                                  [--profile DIR] [--targets korus,echo-one,echo-flow,rtpengine]
 *                                  [--baseline OTHER_TREE/dist/src/main.js]
 *
 * `--only recording` runs the recording benchmark instead (bench/outside/recording.ts, its own options); `--only
 * voicebot` the voice-bot benchmark (bench/outside/voicebot.ts: `--streams 50,100,150 --seconds S --rounds N`);
 * `--only conference` the conference-bridge benchmark (bench/outside/conference.ts, its own options).
 * `--baseline` runs another tree's build beside this one as "Korus (baseline)": a before/after in the same run.
 * `--profile DIR` runs Korus with `--cpu-prof` into DIR (main thread and media worker, written when it stops);
 * `node dist/bench/outside/profile.js DIR/*.cpuprofile` sums their self time.
 * `--diagnose` instead measures PCMU↔Opus on Korus and on bench/transcode.ts's own pipeline child, each with the
 * speech-like payloads and with that bench's steady tones: the comparison behind docs/benchmarks.md's explanation of
 * the old in-process figure.
 */
import { arg, isMain, printReport } from "./cli.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { cpuUs, userCpuUs } from "../lib/korus.js";
import { buildGenerator, Generator, type GenResult } from "./gen.js";
import { recordingArgs, runRecording } from "./recording.js";
import { runVoicebot, voicebotArgs } from "./voicebot.js";
import { conferenceArgs, runConference } from "./conference.js";
import { IMPULSE_PERIOD, opusSpeech, pcmuSpeech, tone, VP8_PPS, vp8 } from "./payloads.js";
import {
  BenchChildTarget,
  EchoTarget,
  KorusTarget,
  rtpengineInstalled,
  RtpengineTarget,
  type Scenario,
  type Target,
} from "./targets.js";

export interface OutsideOptions {
  only?: "forwarding" | "fanout" | "transcode";
  rounds?: number;
  seconds?: number;
  calls?: number;
  transcodeCalls?: number;
  fanout?: readonly number[];
  /** Korus runs with `--cpu-prof` into this folder (one .cpuprofile per thread, written when it stops). */
  profile?: string;
  /** The targets to run (default all): korus, echo-one, echo-flow, rtpengine. */
  targets?: readonly string[];
  /** Another tree's built dist/src/main.js, measured beside this one as "Korus (baseline)". */
  baseline?: string;
}

export interface Sample {
  target: string;
  scenario: Scenario;
  payload: "speech" | "tone";
  cpuUs: number;
  /** The user-mode part of cpuUs (the rest is the kernel's: the UDP stack, wake-ups). */
  userUs: number;
  wallUs: number;
  gen: GenResult;
  /** Packets the target should have delivered for the packets sent in the window. */
  expected: number;
}

export interface Payloads {
  pcmu: string;
  opus: string;
  vp8: string;
  tonePcmu: string;
  toneOpus: string;
}

export async function measure(
  bin: string,
  t: Target,
  s: Scenario,
  files: Payloads,
  payload: "speech" | "tone",
  warmMs: number,
  ms: number,
): Promise<Sample> {
  const gen = new Generator(bin);
  try {
    const n = s.kind === "fanout" ? s.n + 1 : 2 * s.calls;
    const ports = await gen.sockets(n);
    const dests = await t.setup(s, ports);
    gen.payload(0, payload === "tone" ? files.tonePcmu : files.pcmu);
    gen.payload(1, payload === "tone" ? files.toneOpus : files.opus);
    gen.payload(2, files.vp8);
    const dest = (k: number): { port: number; pt: number } => dests[k] ?? { port: -1, pt: 0 };
    if (s.kind === "fanout") {
      const d = dest(0);
      gen.tx({ sock: 0, dstPort: d.port, pt: d.pt, ssrc: 0x5000, payload: 2, pps: VP8_PPS, stamp: true, impulse: 0 });
      for (let k = 1; k < n; k++) {
        gen.rx(k, "stamp");
      }
    } else {
      for (let i = 0; i < s.calls; i++) {
        const a = dest(2 * i);
        const b = dest(2 * i + 1);
        const transcode = s.kind === "transcode";
        // Flow 2i is A's (PCMU), flow 2i + 1 is B's (PCMU, or Opus with one impulse per second).
        gen.tx({
          sock: 2 * i,
          dstPort: a.port,
          pt: a.pt,
          ssrc: 0x1000 + i,
          payload: 0,
          pps: 50,
          stamp: !transcode,
          impulse: 0,
        });
        gen.tx({
          sock: 2 * i + 1,
          dstPort: b.port,
          pt: b.pt,
          ssrc: 0x2000 + i,
          payload: transcode ? 1 : 0,
          pps: 50,
          stamp: !transcode,
          impulse: transcode && payload === "speech" ? IMPULSE_PERIOD : 0,
        });
        gen.rx(2 * i, transcode ? "ulaw" : "stamp", 2 * i + 1);
        gen.rx(2 * i + 1, transcode ? "count" : "stamp");
      }
    }
    const pid = t.pid();
    let cpu0 = 0;
    let cpu1 = 0;
    let user0 = 0;
    let user1 = 0;
    let w0 = 0;
    let w1 = 0;
    const r = await gen.run(warmMs, ms, (open) => {
      if (open) {
        cpu0 = cpuUs(pid);
        user0 = userCpuUs(pid);
        w0 = performance.now();
      } else {
        cpu1 = cpuUs(pid);
        user1 = userCpuUs(pid);
        w1 = performance.now();
      }
    });
    const expected = s.kind === "fanout" ? r.sent * s.n : r.sent;
    return {
      target: t.name,
      scenario: s,
      payload,
      cpuUs: cpu1 - cpu0,
      userUs: user1 - user0,
      wallUs: (w1 - w0) * 1000,
      gen: r,
      expected,
    };
  } finally {
    gen.kill();
    await t.teardown();
  }
}

// ------------------------------------------------------------------------------------------------- figures

export const perPacketUs = (x: Sample): number => x.cpuUs / Math.max(1, x.gen.received);
const corePercent = (x: Sample): number => (x.cpuUs / x.wallUs) * 100;
const callsOf = (s: Scenario): number => (s.kind === "fanout" ? 1 : s.calls);
const perCallFrameUs = (x: Sample): number => x.cpuUs / (callsOf(x.scenario) * (x.wallUs / 20_000));
const latePercent = (x: Sample): number => (x.gen.late / Math.max(1, x.gen.latN)) * 100;
export const deliveredPercent = (x: Sample): number => (x.gen.received / Math.max(1, x.expected)) * 100;
const ms = (us: number): string => (us / 1000).toFixed(us < 10_000 ? 2 : 1);

function range(xs: readonly number[], digits: number): string {
  if (xs.length === 0) {
    return "–";
  }
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo.toFixed(digits) === hi.toFixed(digits) ? lo.toFixed(digits) : `${lo.toFixed(digits)}–${hi.toFixed(digits)}`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]): string => `| ${r.map((c, i) => c.padEnd(w[i] ?? 0)).join(" | ")} |`;
  return [line(header), `|${w.map((x) => "-".repeat(x + 2)).join("|")}|`, ...rows.map(line)].join("\n");
}

function render(samples: readonly Sample[], targets: readonly string[], o: Required<OutsideOptions>): string {
  const of = (t: string, pred: (s: Scenario) => boolean): Sample[] =>
    samples.filter((x) => x.target === t && x.payload === "speech" && pred(x.scenario));
  const rows: string[][] = [];
  const row = (label: string, cell: (t: string) => string): void => {
    rows.push([label, ...targets.map(cell)]);
  };
  const fwd = (s: Scenario): boolean => s.kind === "forward";
  if (samples.some((x) => fwd(x.scenario))) {
    row(`plain forwarding, ${o.calls} PCMU calls = ${o.calls * 100} packets/s: CPU per forwarded packet`, (t) => {
      const xs = of(t, fwd);
      return xs.length === 0 ? "–" : `${range(xs.map(perPacketUs), 1)} µs (${range(xs.map(corePercent), 0)} % core)`;
    });
    row("  same: > 20 ms; p50 / p99 / max latency; delivered", (t) => {
      const xs = of(t, fwd);
      return xs.length === 0
        ? "–"
        : `${range(xs.map(latePercent), 2)} %; ${range(
            xs.map((x) => x.gen.p50Us / 1000),
            2,
          )} / ${range(
            xs.map((x) => x.gen.p99Us / 1000),
            2,
          )} / ${range(
            xs.map((x) => x.gen.maxUs / 1000),
            1,
          )} ms; ${range(xs.map(deliveredPercent), 1)} %`;
    });
  }
  const fan = (n: number) => (s: Scenario) => s.kind === "fanout" && s.n === n;
  if (samples.some((x) => x.scenario.kind === "fanout")) {
    row(
      `fan-out, one ~1 Mbps VP8 source → N RtpEndpoints: CPU per forwarded packet, N = ${o.fanout.join(" / ")}`,
      (t) => {
        const cells = o.fanout.map((n) => range(of(t, fan(n)).map(perPacketUs), 1));
        return cells.every((c) => c === "–") ? "–" : `${cells.join(" / ")} µs`;
      },
    );
    const top = Math.max(...o.fanout);
    row(`  fan-out consumers per core by CPU; N = ${top}: > 20 ms / delivered; p50 / p99`, (t) => {
      const xs = of(t, fan(top));
      return xs.length === 0
        ? "–"
        : `${range(
            xs.map((x) => top / (corePercent(x) / 100)),
            0,
          )}; ${range(xs.map(latePercent), 2)} % / ${range(xs.map(deliveredPercent), 1)} %; ${range(
            xs.map((x) => x.gen.p50Us / 1000),
            1,
          )} / ${range(
            xs.map((x) => x.gen.p99Us / 1000),
            1,
          )} ms`;
    });
  }
  const tc = (s: Scenario): boolean => s.kind === "transcode";
  if (samples.some((x) => tc(x.scenario))) {
    row(`PCMU ↔ Opus, ${o.transcodeCalls} calls: CPU per call per 20 ms (calls per core)`, (t) => {
      const xs = of(t, tc);
      return xs.length === 0
        ? "–"
        : `${range(xs.map(perCallFrameUs), 0)} µs (${range(
            xs.map((x) => 20_000 / perCallFrameUs(x)),
            0,
          )}); delivered ${range(xs.map(deliveredPercent), 1)} %`;
    });
    row("  transcoding latency Opus → PCMU (impulse), p50 / p99; > 20 ms", (t) => {
      const xs = of(t, tc).filter((x) => x.gen.latN > 0);
      return xs.length === 0
        ? "–"
        : `${range(
            xs.map((x) => x.gen.p50Us / 1000),
            1,
          )} / ${range(
            xs.map((x) => x.gen.p99Us / 1000),
            1,
          )} ms; ${range(xs.map(latePercent), 1)} % (${xs.reduce((a, x) => a + x.gen.latN, 0)} impulses)`;
    });
  }
  row("generator's own CPU, max over its runs (% of a core)", (t) => {
    const xs = samples.filter((x) => x.target === t);
    return xs.length === 0 ? "–" : `${Math.max(...xs.map((x) => (x.gen.genCpuUs / x.wallUs) * 100)).toFixed(0)} %`;
  });
  return [
    table(["per core", ...targets], rows),
    "Delivered below ~99 % (or latencies of hundreds of ms) means the target was starved of CPU by other load: its",
    "CPU figure then counts only what came out. Compare targets within one run, never against another run.",
  ].join("\n");
}

function renderDiagnose(samples: readonly Sample[]): string {
  const rows: string[][] = [];
  for (const t of [...new Set(samples.map((x) => x.target))]) {
    for (const p of ["speech", "tone"] as const) {
      const xs = samples.filter((x) => x.target === t && x.payload === p);
      rows.push([
        t,
        p === "speech" ? "speech-like µ-law + browser-like Opus" : "bench/transcode.ts's steady tones",
        `${range(xs.map(perCallFrameUs), 0)} µs`,
        range(
          xs.map((x) => 20_000 / perCallFrameUs(x)),
          0,
        ),
        `${range(xs.map(deliveredPercent), 1)} %`,
      ]);
    }
  }
  return table(["target (PCMU ↔ Opus)", "payloads", "CPU per call per 20 ms", "calls per core", "delivered"], rows);
}

// ------------------------------------------------------------------------------------------------- driver

/** Runs the outside benchmark; returns the printed table. */
export async function runOutside(opts: OutsideOptions = {}, diagnose = false): Promise<string> {
  const o: Required<OutsideOptions> = {
    only: opts.only ?? ("" as "forwarding"),
    rounds: opts.rounds ?? 2,
    seconds: opts.seconds ?? 4,
    calls: opts.calls ?? 100,
    transcodeCalls: opts.transcodeCalls ?? 20,
    fanout: opts.fanout ?? [50, 100, 200],
    profile: opts.profile ?? "",
    targets: opts.targets ?? ["korus", "echo-one", "echo-flow", "rtpengine"],
    baseline: opts.baseline ?? "",
  };
  const want = (k: string): boolean => o.targets.includes(k);
  const dir = mkdtempSync(join(tmpdir(), "korus-outside-"));
  const targets: Target[] = [];
  const onSignal = (): void => {
    for (const t of targets) {
      void t.close();
    }
    rmSync(dir, { recursive: true, force: true });
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  try {
    const bin = buildGenerator(dir);
    const files: Payloads = {
      pcmu: pcmuSpeech(dir),
      opus: opusSpeech(dir),
      vp8: vp8(dir),
      tonePcmu: tone(dir, "PCMU"),
      toneOpus: tone(dir, "opus"),
    };
    const warmMs = 1000;
    const windowMs = o.seconds * 1000;
    if (want("korus") || diagnose) {
      targets.push(await KorusTarget.start(o.profile === "" ? undefined : o.profile));
    }
    if (o.baseline !== "" && !diagnose) {
      targets.push(await KorusTarget.start(undefined, o.baseline));
    }
    const samples: Sample[] = [];
    const log = (x: Sample): void => {
      console.error(
        `  [outside] ${x.target.padEnd(26)} ${x.scenario.kind.padEnd(9)} ${String(
          x.scenario.kind === "fanout" ? x.scenario.n : x.scenario.calls,
        ).padStart(4)} ${x.payload.padEnd(6)} cpu ${corePercent(x).toFixed(0).padStart(3)} % core ` +
          `(${perPacketUs(x).toFixed(1)} µs/pkt, user ${(x.userUs / Math.max(1, x.gen.received)).toFixed(1)}), ` +
          `sent ${x.gen.sent} recv ${x.gen.received}/${x.expected} (µ-law ${x.gen.rxUlaw}, other ${x.gen.rxCount}), late ${x.gen.late}/${x.gen.latN}, ` +
          `p50 ${ms(x.gen.p50Us)} p99 ${ms(x.gen.p99Us)} max ${ms(x.gen.maxUs)} ms, gen ${(
            (x.gen.genCpuUs / x.wallUs) *
            100
          ).toFixed(0)} %`,
      );
    };
    if (diagnose) {
      targets.push(await new BenchChildTarget().up());
      const s: Scenario = { kind: "transcode", calls: o.transcodeCalls };
      for (let r = 0; r < o.rounds; r++) {
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          for (const p of ["speech", "tone"] as const) {
            const x = await measure(bin, t, s, files, p, warmMs, windowMs);
            log(x);
            samples.push(x);
          }
        }
      }
      return renderDiagnose(samples);
    }
    if (want("echo-one")) {
      targets.push(new EchoTarget("one"));
    }
    if (want("echo-flow")) {
      targets.push(new EchoTarget("per-flow"));
    }
    if (!want("rtpengine")) {
      // left out by --targets
    } else if (rtpengineInstalled()) {
      targets.push(await RtpengineTarget.start());
    } else {
      console.error("  [outside] rtpengine-daemon not installed (scripts/setup.sh --bench): its column is left out");
    }
    const scenarios: Scenario[] = [];
    if (o.only === "forwarding" || (o.only as string) === "") {
      scenarios.push({ kind: "forward", calls: o.calls });
    }
    if (o.only === "fanout" || (o.only as string) === "") {
      scenarios.push(...o.fanout.map((n): Scenario => ({ kind: "fanout", n })));
    }
    if (o.only === "transcode" || (o.only as string) === "") {
      scenarios.push({ kind: "transcode", calls: o.transcodeCalls });
    }
    for (let r = 0; r < o.rounds; r++) {
      for (const s of scenarios) {
        for (const t of r % 2 === 0 ? targets : [...targets].reverse()) {
          if (!t.supports(s)) {
            continue;
          }
          const x = await measure(bin, t, s, files, "speech", warmMs, windowMs);
          log(x);
          samples.push(x);
        }
      }
    }
    return render(
      samples,
      targets.map((t) => t.name),
      o,
    );
  } finally {
    process.removeListener("SIGINT", onSignal);
    for (const t of targets) {
      await t.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const only = arg("--only");
  const onlyValues = ["forwarding", "fanout", "transcode", "recording", "voicebot", "conference"];
  if (only !== undefined && !onlyValues.includes(only)) {
    console.error(`--only ${onlyValues.join("|")}`);
    process.exit(2);
  }
  const num = (n: string): number | undefined => (arg(n) === undefined ? undefined : Number(arg(n)));
  const opts: OutsideOptions = {
    ...(only === "forwarding" || only === "fanout" || only === "transcode" ? { only } : {}),
    ...(num("--rounds") !== undefined ? { rounds: num("--rounds") } : {}),
    ...(num("--seconds") !== undefined ? { seconds: num("--seconds") } : {}),
    ...(num("--calls") !== undefined ? { calls: num("--calls") } : {}),
    ...(num("--transcode-calls") !== undefined ? { transcodeCalls: num("--transcode-calls") } : {}),
    ...(arg("--fanout") !== undefined ? { fanout: (arg("--fanout") ?? "").split(",").map(Number) } : {}),
    ...(arg("--profile") !== undefined ? { profile: resolve(arg("--profile") ?? ".") } : {}),
    ...(arg("--targets") !== undefined ? { targets: (arg("--targets") ?? "").split(",") } : {}),
    ...(arg("--baseline") !== undefined ? { baseline: resolve(arg("--baseline") ?? ".") } : {}),
  };
  printReport(
    only === "recording"
      ? runRecording(recordingArgs())
      : only === "voicebot"
        ? runVoicebot(voicebotArgs())
        : only === "conference"
          ? runConference(conferenceArgs())
          : runOutside(opts, process.argv.includes("--diagnose")),
  );
}
