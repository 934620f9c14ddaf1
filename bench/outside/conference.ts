/**
 * Issue 19 §4: the conference bridge measured from outside, like the rest of bench/outside. One Composite with N
 * plain-RTP participants (each an RtpEndpoint connected both ways to its own HubPort), G.711 (PCMU) or Opus rooms,
 * with everybody talking, 2 talking, or nobody (idle: no media sent at all).
 *
 * - The external generator (rtpgen.c) sends real speech-like payloads (payloads.ts) from one socket per
 *   participant (talkers only) and counts what each socket receives: the mix, 50 packets/s per participant.
 * - CPU: the server's (a fresh one per measurement, `media.workers: 1`) from /proc over all its threads, over the
 *   generator's window; per participant. Lost: mixed packets the participants should have received in the window
 *   (N × 50/s) but did not.
 * - `--baseline OTHER_TREE/dist/src/main.js` measures another build beside this one in the same run (before/after).
 * - Janus AudioBridge is not driven here yet (scripts/bench-setup would install the Debian `janus` package); the
 *   issue's Janus figures are printed beside for reference. Note the load (`uptime`) printed with the table.
 *
 *   node dist/bench/outside/conference.js [--rooms 10,30,60] [--codecs pcmu,opus] [--talk all,2,0]
 *                                         [--seconds S] [--rounds N] [--baseline PATH]
 */
import { arg, isMain, printReport } from "./cli.js";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { cpuUs, startServer, type BenchServer } from "../lib/korus.js";
import { RpcClient } from "../lib/RpcClient.js";
import { buildGenerator, Generator, type GenResult } from "./gen.js";
import { opusSpeech, pcmuSpeech } from "./payloads.js";
import { PT_OPUS, PT_PCMU, sdp } from "./targets.js";

type Codec = "pcmu" | "opus";

export interface ConferenceBenchOptions {
  rooms?: readonly number[];
  codecs?: readonly Codec[];
  /** Talkers per room: "all" or a number (0: idle). */
  talk?: readonly string[];
  seconds?: number;
  rounds?: number;
  baseline?: string;
}

interface Sample {
  build: string;
  codec: Codec;
  n: number;
  talkers: number;
  cpuUs: number;
  wallUs: number;
  gen: GenResult;
}

const WARM_MS = 2000;

/** The issue's figures (Korus before, Janus 1.1.2 AudioBridge), all talking, % of a core. */
const ISSUE: Record<string, { korus: number; janus: number }> = {
  "pcmu/10": { korus: 22, janus: 5 },
  "pcmu/30": { korus: 36, janus: 13 },
  "pcmu/60": { korus: 62, janus: 24 },
  "opus/10": { korus: 24, janus: 20 },
  "opus/30": { korus: 34, janus: 49 },
  "opus/60": { korus: 52, janus: 94 },
};

/** One Composite, N RtpEndpoints ⇄ HubPorts; returns the RTP port of each endpoint. */
async function setup(rpc: RpcClient, codec: Codec, ports: readonly number[]): Promise<number[]> {
  const create = async (type: string, params: Record<string, unknown>): Promise<string> =>
    (await rpc.value("create", { type, constructorParams: params })) as string;
  const invoke = (object: string, operation: string, operationParams: Record<string, unknown> = {}): Promise<unknown> =>
    rpc.value("invoke", { object, operation, operationParams });
  const pl = await create("MediaPipeline", {});
  const hub = await create("Composite", { mediaPipeline: pl });
  const out: number[] = [];
  for (const port of ports) {
    const rtp = await create("RtpEndpoint", { mediaPipeline: pl });
    const answer = (await invoke(rtp, "processOffer", { offer: sdp(port, codec, "sendrecv") })) as string;
    const hp = await create("HubPort", { hub });
    await invoke(rtp, "connect", { sink: hp, mediaType: "AUDIO" });
    await invoke(hp, "connect", { sink: rtp, mediaType: "AUDIO" });
    out.push(Number(/m=audio (\d+)/.exec(answer)?.[1] ?? NaN));
  }
  return out;
}

async function measure(
  bin: string,
  payload: string,
  build: { name: string; main: string | undefined },
  codec: Codec,
  n: number,
  talkers: number,
  ms: number,
): Promise<Sample> {
  const server: BenchServer = await startServer({
    workers: 1,
    ...(build.main !== undefined ? { main: build.main } : {}),
    rtpPorts: [54000, 55999],
    extra: ["sip: { enabled: false }"],
  });
  const rpc = await RpcClient.open(`ws://127.0.0.1:${server.port}/kurento`);
  const gen = new Generator(bin);
  try {
    const ports = await gen.sockets(n);
    const dests = await setup(rpc, codec, ports);
    gen.payload(0, payload);
    for (let i = 0; i < n; i++) {
      if (i < talkers) {
        const pt = codec === "pcmu" ? PT_PCMU : PT_OPUS;
        gen.tx({
          sock: i,
          dstPort: dests[i] ?? -1,
          pt,
          ssrc: 0x5000 + i,
          payload: 0,
          pps: 50,
          stamp: false,
          impulse: 0,
        });
      }
      gen.rx(i, "count");
    }
    const pid = server.proc.pid ?? 0;
    let cpu0 = 0;
    let cpu1 = 0;
    let w0 = 0;
    let w1 = 0;
    const r = await gen.run(WARM_MS, ms, (open) => {
      if (open) {
        cpu0 = cpuUs(pid);
        w0 = performance.now();
      } else {
        cpu1 = cpuUs(pid);
        w1 = performance.now();
      }
    });
    return { build: build.name, codec, n, talkers, cpuUs: cpu1 - cpu0, wallUs: (w1 - w0) * 1000, gen: r };
  } finally {
    gen.kill();
    await rpc.close().catch(() => undefined);
    await server.stop();
  }
}

// ------------------------------------------------------------------------------------------------- figures

const corePct = (x: Sample): number => (x.cpuUs / x.wallUs) * 100;

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

function render(samples: readonly Sample[], load: string): string {
  const keys = [...new Set(samples.map((x) => `${x.build}|${x.codec}|${x.n}|${x.talkers}`))];
  const rows = keys.map((k) => {
    const xs = samples.filter((x) => `${x.build}|${x.codec}|${x.n}|${x.talkers}` === k);
    const x0 = xs[0]!;
    const expected = (x: Sample): number => (x.n * x.gen.windowUs) / 20_000;
    const issue = x0.talkers === x0.n ? ISSUE[`${x0.codec}/${x0.n}`] : undefined;
    return [
      x0.build,
      x0.codec === "pcmu" ? "G.711" : "Opus",
      `${x0.n}`,
      x0.talkers === x0.n ? "all" : `${x0.talkers}`,
      `${range(xs.map(corePct), 1)} %`,
      `${range(
        xs.map((x) => corePct(x) / x.n),
        2,
      )} %`,
      `${range(
        xs.map((x) => Math.max(0, (1 - x.gen.received / expected(x)) * 100)),
        2,
      )} %`,
      issue === undefined ? "" : `${issue.korus} % / ${issue.janus} %`,
    ];
  });
  return [
    table(
      [
        "build",
        "room",
        "participants",
        "talking",
        "CPU (% core)",
        "per participant",
        "mix packets lost",
        "issue 19: Korus before / Janus",
      ],
      rows,
    ),
    `load average during the run: ${load} (2 cores, shared)`,
  ].join("\n");
}

export async function runConference(opts: ConferenceBenchOptions = {}): Promise<string> {
  const rooms = opts.rooms ?? [10, 30, 60];
  const codecs = opts.codecs ?? ["pcmu", "opus"];
  const talk = opts.talk ?? ["all", "2", "0"];
  const seconds = opts.seconds ?? 5;
  const rounds = opts.rounds ?? 1;
  const builds = [
    { name: "korus", main: undefined },
    ...(opts.baseline !== undefined ? [{ name: "baseline", main: opts.baseline }] : []),
  ];
  const dir = mkdtempSync(join(tmpdir(), "korus-confbench-"));
  const loads: number[] = [];
  try {
    const bin = buildGenerator(dir);
    const payloads: Record<Codec, string> = { pcmu: pcmuSpeech(dir), opus: opusSpeech(dir) };
    const samples: Sample[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const codec of codecs) {
        for (const n of rooms) {
          for (const t of talk) {
            const talkers = t === "all" ? n : Math.min(n, Number(t));
            for (const b of r % 2 === 0 ? builds : [...builds].reverse()) {
              loads.push(loadavg()[0] ?? 0);
              const x = await measure(bin, payloads[codec], b, codec, n, talkers, seconds * 1000);
              console.error(
                `  [conference] ${b.name} ${codec} ${n} (${talkers} talking): ${corePct(x).toFixed(1)} % core, ` +
                  `${x.gen.received} mix packets received, load ${(loadavg()[0] ?? 0).toFixed(1)}`,
              );
              samples.push(x);
            }
          }
        }
      }
    }
    return render(samples, `${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function conferenceArgs(): ConferenceBenchOptions {
  const list = (n: string): string[] | undefined => arg(n)?.split(",");
  const num = (n: string): number | undefined => (arg(n) === undefined ? undefined : Number(arg(n)));
  const rooms = list("--rooms")?.map(Number);
  const codecs = list("--codecs")?.filter((c): c is Codec => c === "pcmu" || c === "opus");
  const talk = list("--talk");
  const seconds = num("--seconds");
  const rounds = num("--rounds");
  const baseline = arg("--baseline");
  return {
    ...(rooms !== undefined ? { rooms } : {}),
    ...(codecs !== undefined ? { codecs } : {}),
    ...(talk !== undefined ? { talk } : {}),
    ...(seconds !== undefined ? { seconds } : {}),
    ...(rounds !== undefined ? { rounds } : {}),
    ...(baseline !== undefined ? { baseline } : {}),
  };
}

if (isMain(import.meta.url)) {
  printReport(runConference(conferenceArgs()));
}
