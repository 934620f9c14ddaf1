/**
 * Issue 14's voice-bot benchmark, measured from outside like the rest of bench/outside (docs/voicebots.md
 * "Benchmark"): N callers, each an RtpEndpoint (PCMU) connected both ways to a WebSocketEndpoint (protocol twilio)
 * whose bot (bench/outside/voicebotBot.ts, its own process) echoes every `media` payload back at once.
 *
 * - The external generator (rtpgen.c) sends real speech-like µ-law (payloads.ts) into each RtpEndpoint from one
 *   socket and receives what the RtpEndpoint sends back (the bot's echo, played out by the element every 20 ms) on
 *   the same socket. Every payload carries the generator's tail stamp.
 * - Latency (voicebotBot.ts says how): caller → bot per payload at the bot, bot → caller per echo at the generator,
 *   from one CLOCK_MONOTONIC; the generator's start time is passed to the bot when the generator prints it. Neither
 *   leg contains the 20 ms of packetisation (a stamp is the time a whole frame is sent). The bot → caller leg holds
 *   the element's playout: the wait for the echo's slot (none when it is open on arrival), and any backlog.
 * - CPU: the server's (a fresh one per measurement, `media.workers: 1`) from /proc over all its threads, over the
 *   generator's window; per stream, streams per core, and the marginal cost of a stream between two sizes. Late
 *   packets: echoes reaching the caller more than 20 ms after the bot sent them.
 * - The raw codec cost in the same run: PCMU decode + encode of one 20 ms frame, in process with media/codecs.
 *
 *   node dist/bench/outside/voicebot.js [--streams 50,100,150] [--seconds S] [--rounds N] [--profile DIR]
 *   node dist/bench/outside/run.js --only voicebot [same options]
 */
import { arg, isMain, printReport } from "./cli.js";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { G711Decoder, G711Encoder } from "../../media/codecs/index.js";
import { cpuUs, sleep, startServer, type BenchServer } from "../lib/korus.js";
import { RpcClient } from "../lib/RpcClient.js";
import { buildGenerator, Generator, type GenResult } from "./gen.js";
import { pcmuSpeech } from "./payloads.js";
import { PT_PCMU, sdp } from "./targets.js";

export interface VoicebotBenchOptions {
  streams?: readonly number[];
  seconds?: number;
  rounds?: number;
  /** Korus runs with `--cpu-prof` into this folder (one .cpuprofile per thread; profile.js sums them). */
  profile?: string;
}

interface BotReport {
  n: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  late: number;
  streams: number;
}

interface Sample {
  n: number;
  cpuUs: number;
  wallUs: number;
  gen: GenResult;
  bot: BotReport;
}

const BOT_JS = fileURLToPath(new URL("./voicebotBot.js", import.meta.url));
const WARM_MS = 2000;

/** The bot process: `report` asks it for the caller → bot figures of a window. */
class BotProcess {
  readonly #lines: ((l: string) => void)[] = [];

  private constructor(
    readonly proc: ChildProcess,
    readonly port: number,
  ) {}

  static async start(): Promise<BotProcess> {
    const proc = spawn(process.execPath, [BOT_JS], { stdio: ["pipe", "pipe", "inherit"] });
    const rl = createInterface({ input: proc.stdout });
    const first = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("voice-bot process did not start")), 20_000);
      rl.once("line", (l) => {
        clearTimeout(t);
        resolve(l);
      });
    });
    const bot = new BotProcess(proc, Number(first.split(" ")[1]));
    rl.on("line", (l) => bot.#lines.shift()?.(l));
    return bot;
  }

  report(fromUs: number, toUs: number): Promise<BotReport> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("voice-bot process did not report")), 30_000);
      this.#lines.push((l) => {
        clearTimeout(t);
        resolve(JSON.parse(l) as BotReport);
      });
      this.proc.stdin?.write(`report ${Math.round(fromUs)} ${Math.round(toUs)}\n`);
    });
  }

  /** The generator's start time (CLOCK_MONOTONIC µs). */
  start(us: number): void {
    this.proc.stdin?.write(`start ${us}\n`);
  }

  reset(): void {
    this.proc.stdin?.write("reset\n");
  }

  async close(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGKILL");
      await exited;
    }
  }
}

/** N callers RtpEndpoint ⇄ WebSocketEndpoint (twilio, the bot), one pipeline each; where the generator sends. */
async function setup(rpc: RpcClient, botPort: number, ports: readonly number[]): Promise<number[]> {
  const create = async (type: string, params: Record<string, unknown>): Promise<string> =>
    (await rpc.value("create", { type, constructorParams: params })) as string;
  const invoke = (object: string, operation: string, operationParams: Record<string, unknown> = {}): Promise<unknown> =>
    rpc.value("invoke", { object, operation, operationParams });
  const out: number[] = [];
  for (const [i, port] of ports.entries()) {
    const pl = await create("MediaPipeline", {});
    const rtp = await create("RtpEndpoint", { mediaPipeline: pl });
    const answer = (await invoke(rtp, "processOffer", { offer: sdp(port, "pcmu", "sendrecv") })) as string;
    const ws = await create("WebSocketEndpoint", {
      mediaPipeline: pl,
      uri: `ws://127.0.0.1:${botPort}/call/${i}`,
      protocol: "twilio",
    });
    await invoke(rtp, "connect", { sink: ws, mediaType: "AUDIO" });
    await invoke(ws, "connect", { sink: rtp, mediaType: "AUDIO" });
    out.push(Number(/m=audio (\d+)/.exec(answer)?.[1] ?? NaN));
  }
  return out;
}

async function measure(
  bin: string,
  pcmu: string,
  bot: BotProcess,
  n: number,
  ms: number,
  profile: string | undefined,
): Promise<Sample> {
  const server: BenchServer = await startServer({
    ...(profile === undefined ? {} : { nodeArgs: ["--cpu-prof", "--cpu-prof-dir", profile] }),
    workers: 1,
    // A range of its own: other benches' servers (forwarding, recording) use 50000-51999 and may run meanwhile.
    rtpPorts: [52000, 53999],
    extra: ["sip: { enabled: false }", "httpMedia: { allowNetworks: [127.0.0.0/8] }"],
  });
  const rpc = await RpcClient.open(`ws://127.0.0.1:${server.port}/kurento`);
  const gen = new Generator(bin);
  try {
    bot.reset();
    const ports = await gen.sockets(n);
    const dests = await setup(rpc, bot.port, ports);
    for (let k = 0; k < 100 && (await bot.report(0, 0)).streams < n; k++) {
      await sleep(100);
    }
    gen.payload(0, pcmu);
    for (let i = 0; i < n; i++) {
      gen.tx({
        sock: i,
        dstPort: dests[i] ?? -1,
        pt: PT_PCMU,
        ssrc: 0x4000 + i,
        payload: 0,
        pps: 50,
        stamp: true,
        impulse: 0,
      });
      gen.rx(i, "stamp");
    }
    const pid = server.proc.pid ?? 0;
    let cpu0 = 0;
    let cpu1 = 0;
    let w0 = 0;
    let w1 = 0;
    const r = await gen.run(
      WARM_MS,
      ms,
      (open) => {
        if (open) {
          cpu0 = cpuUs(pid);
          w0 = performance.now();
        } else {
          cpu1 = cpuUs(pid);
          w1 = performance.now();
        }
      },
      (startUs) => bot.start(startUs),
    );
    const b = await bot.report(WARM_MS * 1000, WARM_MS * 1000 + r.windowUs);
    return { n, cpuUs: cpu1 - cpu0, wallUs: (w1 - w0) * 1000, gen: r, bot: b };
  } finally {
    gen.kill();
    await rpc.close().catch(() => undefined);
    await server.stop();
  }
}

/** µs of one PCMU decode + encode of a 20 ms frame (160 samples), in this process. */
export function pcmuCodecUs(): number {
  const dec = new G711Decoder("PCMU");
  const enc = new G711Encoder("PCMU");
  const frame = new Uint8Array(160);
  for (let i = 0; i < frame.length; i++) {
    frame[i] = (i * 37) & 0xff;
  }
  const rounds = 200_000;
  let sink = 0;
  for (let i = 0; i < 10_000; i++) {
    sink += enc.encode(dec.decode(frame))[0] ?? 0;
  }
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) {
    sink += enc.encode(dec.decode(frame))[0] ?? 0;
  }
  const us = ((performance.now() - t0) * 1000) / rounds;
  return sink >= 0 ? us : us;
}

// ------------------------------------------------------------------------------------------------- figures

const corePct = (x: Sample): number => (x.cpuUs / x.wallUs) * 100;
const frameUs = (x: Sample): number => x.cpuUs / (x.n * (x.wallUs / 20_000));
const ms = (us: number): string => (us / 1000).toFixed(1);

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

function render(samples: readonly Sample[], codecUs: number): string {
  const rows: string[][] = [];
  const sizes = [...new Set(samples.map((x) => x.n))].sort((a, b) => a - b);
  const mean = (xs: readonly Sample[], f: (x: Sample) => number): number =>
    xs.reduce((t, x) => t + f(x), 0) / Math.max(1, xs.length);
  for (const [k, n] of sizes.entries()) {
    const xs = samples.filter((x) => x.n === n);
    const prev = samples.filter((x) => x.n === sizes[k - 1]);
    // The marginal cost of a stream: the mean CPU difference from the next smaller size, per added stream.
    const marginal = prev.length === 0 ? NaN : (mean(xs, corePct) - mean(prev, corePct)) / (n - (prev[0]?.n ?? 0));
    const pair = (f: (x: Sample) => number): string =>
      range(
        xs.map((x) => f(x) / 1000),
        1,
      );
    rows.push([
      `${n}`,
      `${range(
        xs.map((x) => corePct(x) / n),
        2,
      )} % (${range(xs.map(frameUs), 0)} µs/frame = ${range(
        xs.map((x) => frameUs(x) / codecUs),
        0,
      )}× codec)`,
      `${range(
        xs.map((x) => n / (corePct(x) / 100)),
        0,
      )}${Number.isFinite(marginal) && marginal > 0 ? ` (marginal ${(100 / marginal).toFixed(0)})` : ""}`,
      `${pair((x) => x.bot.p50Us)} / ${pair((x) => x.bot.p99Us)}`,
      `${pair((x) => x.gen.p50Us)} / ${pair((x) => x.gen.p99Us)}`,
      `${range(
        xs.map((x) => (x.bot.late / Math.max(1, x.bot.n)) * 100),
        2,
      )} % / ${range(
        xs.map((x) => (x.gen.late / Math.max(1, x.gen.latN)) * 100),
        2,
      )} %`,
      `${range(
        xs.map((x) => (x.gen.received / Math.max(1, x.gen.sent)) * 100),
        1,
      )} %`,
    ]);
  }
  return [
    table(
      [
        "streams",
        "CPU per stream (% core)",
        "streams per core (≥ 150)",
        "caller → bot p50 / p99 ms (≤ 20)",
        "bot → caller p50 / p99 ms (≤ 20)",
        "late > 20 ms: to bot / to caller (0)",
        "echo delivered",
      ],
      rows,
    ),
    `PCMU decode + encode of one 20 ms frame in process (media/codecs, the raw codec cost): ${codecUs.toFixed(2)} µs`,
  ].join("\n");
}

export async function runVoicebot(opts: VoicebotBenchOptions = {}): Promise<string> {
  const streams = opts.streams ?? [50, 100, 150];
  const seconds = opts.seconds ?? 5;
  const rounds = opts.rounds ?? 1;
  const dir = mkdtempSync(join(tmpdir(), "korus-vbbench-"));
  const bot = await BotProcess.start();
  try {
    const bin = buildGenerator(dir);
    const pcmu = pcmuSpeech(dir);
    const codecUs = pcmuCodecUs();
    const samples: Sample[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const n of streams) {
        const x = await measure(bin, pcmu, bot, n, seconds * 1000, opts.profile);
        console.error(
          `  [voicebot] ${n} streams: ${corePct(x).toFixed(1)} % core, caller→bot p99 ${ms(x.bot.p99Us)} ms, ` +
            `bot→caller p99 ${ms(x.gen.p99Us)} ms, ${x.gen.received}/${x.gen.sent} echoed, ${x.bot.n} stamped at the bot`,
        );
        if (x.bot.n === 0 || x.gen.latN === 0) {
          // The method needs the tail stamps intact both ways (Twilio µ-law passes through unchanged).
          console.error("  [voicebot] no stamped payload came through: the latency columns are empty");
        }
        samples.push(x);
      }
    }
    return render(samples, codecUs);
  } finally {
    await bot.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function voicebotArgs(): VoicebotBenchOptions {
  const num = (n: string): number | undefined => (arg(n) === undefined ? undefined : Number(arg(n)));
  return {
    ...(arg("--streams") !== undefined ? { streams: (arg("--streams") ?? "").split(",").map(Number) } : {}),
    ...(num("--seconds") !== undefined ? { seconds: num("--seconds") } : {}),
    ...(num("--rounds") !== undefined ? { rounds: num("--rounds") } : {}),
    ...(arg("--profile") !== undefined ? { profile: resolvePath(arg("--profile") ?? ".") } : {}),
  };
}

if (isMain(import.meta.url)) {
  printReport(runVoicebot(voicebotArgs()));
}
