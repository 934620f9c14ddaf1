/**
 * The targets bench/outside drives with the same generator: Korus (this tree's dist, `media.workers: 1`), the bare
 * Node echo (one socket, one socket per flow, a 1 → N relay), rtpengine-daemon (userspace, over its ng protocol) when
 * installed, and the pipeline child of the old in-process bench (bench/transcode.ts --serve), for the comparison of
 * docs/benchmarks.md.
 *
 * Socket layout (the generator's sockets, in order): forwarding and transcoding use 2 per call (A, B); fan-out uses
 * the source, then the N sinks. `setup` returns, per socket, where it sends (port and payload type; port -1: it
 * only receives).
 */
import { fork, spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { RpcClient } from "../lib/RpcClient.js";
import { sleep, startServer, type BenchServer } from "../lib/korus.js";
import { bdecode, bencode, bstr, type BValue } from "./bencode.js";

export type Scenario =
  { kind: "forward"; calls: number } | { kind: "fanout"; n: number } | { kind: "transcode"; calls: number };

export interface Dest {
  port: number;
  pt: number;
}

export interface Target {
  readonly name: string;
  supports(s: Scenario): boolean;
  setup(s: Scenario, ports: readonly number[]): Promise<Dest[]>;
  /** The process whose CPU is the target's (read over all its threads). */
  pid(): number;
  teardown(): Promise<void>;
  close(): Promise<void>;
}

export const PT_PCMU = 0;
export const PT_OPUS = 111;
export const PT_VP8 = 96;

type Media = "pcmu" | "opus" | "vp8";

export function sdp(port: number, media: Media, direction = "sendrecv"): string {
  const m =
    media === "vp8"
      ? [`m=video ${port} RTP/AVP ${PT_VP8}`, `a=rtpmap:${PT_VP8} VP8/90000`]
      : media === "opus"
        ? [
            `m=audio ${port} RTP/AVP ${PT_OPUS}`,
            `a=rtpmap:${PT_OPUS} opus/48000/2`,
            `a=fmtp:${PT_OPUS} minptime=10;useinbandfec=1`,
          ]
        : [`m=audio ${port} RTP/AVP ${PT_PCMU}`, `a=rtpmap:${PT_PCMU} PCMU/8000`];
  return [
    "v=0",
    `o=gen ${port} 1 IN IP4 127.0.0.1`,
    "s=bench",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    ...m,
    ...(media === "vp8" ? [] : ["a=ptime:20"]),
    `a=${direction}`,
    "",
  ].join("\r\n");
}

const mPort = (s: string): number => Number(/m=(?:audio|video) (\d+)/.exec(s)?.[1] ?? NaN);

/** The legs' media of a two-leg scenario. */
const legs = (s: Scenario): [Media, Media] => (s.kind === "transcode" ? ["pcmu", "opus"] : ["pcmu", "pcmu"]);
const ptOf = (m: Media): number => (m === "opus" ? PT_OPUS : m === "vp8" ? PT_VP8 : PT_PCMU);

// ------------------------------------------------------------------------------------------------------- Korus

/** This tree's Korus under another name and configuration, beside the others (bench/outside/metrics.ts). */
export interface KorusVariant {
  name: string;
  /** YAML lines appended to the configuration. */
  extra: readonly string[];
  port: number;
  rtpPorts: readonly [number, number];
}

export class KorusTarget implements Target {
  #pipelines: string[] = [];

  private constructor(
    readonly name: string,
    readonly server: BenchServer,
    readonly rpc: RpcClient,
  ) {}

  /**
   * @param profileDir when given, Korus runs with `--cpu-prof` into it (the main thread and the media worker).
   * @param baseline another tree's built `dist/src/main.js`, run beside this tree's as "Korus (baseline)" on its own
   *   control and RTP ports (a before/after in one run).
   */
  static async start(profileDir?: string, baseline?: string, variant?: KorusVariant): Promise<KorusTarget> {
    const nodeArgs = profileDir === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profileDir];
    // No SIP listener: the bench needs none, and a second server could not bind 5060 beside the first.
    const extra = ["sip: { enabled: false }", ...(variant?.extra ?? [])];
    const server = await startServer(
      variant !== undefined
        ? { workers: 1, nodeArgs, extra, port: variant.port, rtpPorts: variant.rtpPorts }
        : baseline === undefined
          ? { workers: 1, nodeArgs, extra }
          : { workers: 1, extra, main: baseline, port: 17000 + (process.pid % 1000), rtpPorts: [46000, 47999] },
    );
    const rpc = await RpcClient.open(`ws://127.0.0.1:${server.port}/kurento`);
    const name = variant?.name ?? (baseline === undefined ? "Korus" : "Korus (baseline)");
    return new KorusTarget(name, server, rpc);
  }

  supports(): boolean {
    return true;
  }

  pid(): number {
    return this.server.proc.pid ?? 0;
  }

  async #endpoint(pipeline: string, offer: string): Promise<{ id: string; port: number }> {
    const id = (await this.rpc.value("create", {
      type: "RtpEndpoint",
      constructorParams: { mediaPipeline: pipeline },
    })) as string;
    const answer = (await this.rpc.value("invoke", {
      object: id,
      operation: "processOffer",
      operationParams: { offer },
    })) as string;
    return { id, port: mPort(answer) };
  }

  async #connect(source: string, sink: string, mediaType: "AUDIO" | "VIDEO"): Promise<void> {
    await this.rpc.value("invoke", { object: source, operation: "connect", operationParams: { sink, mediaType } });
  }

  async setup(s: Scenario, ports: readonly number[]): Promise<Dest[]> {
    const out: Dest[] = [];
    if (s.kind === "fanout") {
      const pl = (await this.rpc.value("create", { type: "MediaPipeline" })) as string;
      this.#pipelines.push(pl);
      const src = await this.#endpoint(pl, sdp(ports[0] ?? 0, "vp8", "sendonly"));
      out.push({ port: src.port, pt: PT_VP8 });
      for (const p of ports.slice(1)) {
        const sink = await this.#endpoint(pl, sdp(p, "vp8", "recvonly"));
        await this.#connect(src.id, sink.id, "VIDEO");
        out.push({ port: -1, pt: 0 });
      }
      return out;
    }
    const [ma, mb] = legs(s);
    for (let i = 0; i < s.calls; i++) {
      const pl = (await this.rpc.value("create", { type: "MediaPipeline" })) as string;
      this.#pipelines.push(pl);
      const a = await this.#endpoint(pl, sdp(ports[2 * i] ?? 0, ma));
      const b = await this.#endpoint(pl, sdp(ports[2 * i + 1] ?? 0, mb));
      await this.#connect(a.id, b.id, "AUDIO");
      await this.#connect(b.id, a.id, "AUDIO");
      out.push({ port: a.port, pt: ptOf(ma) }, { port: b.port, pt: ptOf(mb) });
    }
    return out;
  }

  async teardown(): Promise<void> {
    for (const p of this.#pipelines.splice(0)) {
      await this.rpc.value("release", { object: p });
    }
    await sleep(300);
  }

  async close(): Promise<void> {
    await this.rpc.close();
    await this.server.stop();
  }
}

// ------------------------------------------------------------------------------------------------- Node echo

/** A bare Node UDP echo (one socket or one per flow) or 1 → N relay, a process per measurement. */
export class EchoTarget implements Target {
  #proc: ChildProcess | undefined;

  constructor(readonly mode: "one" | "per-flow") {}

  get name(): string {
    return this.mode === "one" ? "Node echo, 1 socket" : "Node echo, socket per flow";
  }

  supports(s: Scenario): boolean {
    return s.kind === "forward" || (s.kind === "fanout" && this.mode === "one");
  }

  pid(): number {
    return this.#proc?.pid ?? 0;
  }

  async setup(s: Scenario, ports: readonly number[]): Promise<Dest[]> {
    const js = fileURLToPath(new URL("./echo.js", import.meta.url));
    const args =
      s.kind === "fanout"
        ? ["fanout", ports.slice(1).join(",")]
        : this.mode === "one"
          ? ["one"]
          : ["per-flow", String(ports.length)];
    const proc = spawn(process.execPath, [js, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    this.#proc = proc;
    const line = await new Promise<string>((resolve, reject) => {
      const rl = createInterface({ input: proc.stdout });
      rl.once("line", resolve);
      proc.once("exit", () => reject(new Error("echo exited")));
    });
    const echoPorts = (JSON.parse(line) as { ports: number[] }).ports;
    if (s.kind === "fanout") {
      return ports.map((_, i) => (i === 0 ? { port: echoPorts[0] ?? 0, pt: PT_VP8 } : { port: -1, pt: 0 }));
    }
    const [ma, mb] = legs(s);
    return ports.map((_, i) => ({
      port: echoPorts[this.mode === "one" ? 0 : i] ?? 0,
      pt: ptOf(i % 2 === 0 ? ma : mb),
    }));
  }

  async teardown(): Promise<void> {
    const p = this.#proc;
    this.#proc = undefined;
    if (p?.exitCode === null) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGKILL");
      await exited;
    }
  }

  close(): Promise<void> {
    return this.teardown();
  }
}

// ------------------------------------------------------------------------------------------------- rtpengine

export const RTPENGINE = "/usr/bin/rtpengine";

export function rtpengineInstalled(): boolean {
  return spawnSync(RTPENGINE, ["--version"], { encoding: "utf8", timeout: 10_000 }).status === 0;
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * rtpengine-daemon, userspace only (`--table=-1`), one worker thread (`--num-threads=1`, like `media.workers: 1`),
 * on 127.0.0.1 with its own port range, run as this process's child with command-line options (no config file, no
 * systemd unit), driven over the ng protocol (bencode over UDP).
 */
export class RtpengineTarget implements Target {
  readonly name = "rtpengine";
  #calls: string[] = [];
  #cookie = 0;
  readonly #pending = new Map<string, (v: BValue) => void>();

  private constructor(
    readonly proc: ChildProcess,
    readonly ng: dgram.Socket,
    readonly ngPort: number,
  ) {
    ng.on("message", (m) => {
      const sp = m.indexOf(0x20);
      const cookie = m.subarray(0, sp).toString();
      this.#pending.get(cookie)?.(bdecode(m.subarray(sp + 1)));
      this.#pending.delete(cookie);
    });
  }

  static async start(): Promise<RtpengineTarget> {
    const ngPort = await freeUdpPort();
    const proc = spawn(
      RTPENGINE,
      [
        "--config-file=none",
        "--foreground",
        "--log-stderr",
        "--log-level=3",
        "--table=-1",
        "--interface=127.0.0.1",
        `--listen-ng=127.0.0.1:${ngPort}`,
        "--port-min=42000",
        "--port-max=43999",
        "--num-threads=1",
        "--timeout=60",
      ],
      { stdio: ["ignore", "ignore", "inherit"] },
    );
    const ng = dgram.createSocket("udp4");
    await new Promise<void>((r) => ng.bind(0, "127.0.0.1", () => r()));
    const t = new RtpengineTarget(proc, ng, ngPort);
    for (let i = 0; i < 50; i++) {
      try {
        await t.command({ command: "ping" }, 200);
        return t;
      } catch {
        await sleep(100);
      }
    }
    await t.close();
    throw new Error("rtpengine did not answer ng ping");
  }

  command(msg: Record<string, BValue>, timeoutMs = 5000): Promise<Record<string, BValue>> {
    const cookie = `c${++this.#cookie}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(cookie);
        reject(new Error(`rtpengine: no answer to ${bstr(msg["command"])}`));
      }, timeoutMs);
      this.#pending.set(cookie, (v) => {
        clearTimeout(timer);
        const d = v as Record<string, BValue>;
        if (d["result"] !== undefined && bstr(d["result"]) !== "ok" && bstr(d["result"]) !== "pong") {
          reject(new Error(`rtpengine ${bstr(msg["command"])}: ${bstr(d["error-reason"] ?? d["result"])}`));
        } else {
          resolve(d);
        }
      });
      this.ng.send(Buffer.concat([Buffer.from(`${cookie} `), bencode(msg)]), this.ngPort, "127.0.0.1");
    });
  }

  supports(s: Scenario): boolean {
    return s.kind !== "fanout";
  }

  pid(): number {
    return this.proc.pid ?? 0;
  }

  async setup(s: Scenario, ports: readonly number[]): Promise<Dest[]> {
    if (s.kind === "fanout") {
      throw new Error("rtpengine: no fan-out");
    }
    const out: Dest[] = [];
    for (let i = 0; i < s.calls; i++) {
      const callId = `bench-${process.pid}-${Date.now()}-${i}`;
      this.#calls.push(callId);
      const transcode = s.kind === "transcode";
      const offered = await this.command({
        command: "offer",
        "call-id": callId,
        "from-tag": `a${i}`,
        sdp: sdp(ports[2 * i] ?? 0, "pcmu"),
        flags: ["trust-address"],
        ...(transcode ? { codec: { transcode: ["opus/48000/2"], mask: ["PCMU"] } } : {}),
      });
      const toB = bstr(offered["sdp"]);
      // The payload type rtpengine gave the codec B must send (Opus when transcoding).
      const ptB = transcode ? Number(/a=rtpmap:(\d+) opus\/48000/i.exec(toB)?.[1] ?? PT_OPUS) : PT_PCMU;
      const answerB = transcode
        ? sdp(ports[2 * i + 1] ?? 0, "opus")
            .replaceAll(` ${PT_OPUS}`, ` ${ptB}`)
            .replaceAll(`:${PT_OPUS} `, `:${ptB} `)
        : sdp(ports[2 * i + 1] ?? 0, "pcmu");
      const answered = await this.command({
        command: "answer",
        "call-id": callId,
        "from-tag": `a${i}`,
        "to-tag": `b${i}`,
        sdp: answerB,
        flags: ["trust-address"],
      });
      out.push({ port: mPort(bstr(answered["sdp"])), pt: PT_PCMU }, { port: mPort(toB), pt: ptB });
    }
    return out;
  }

  async teardown(): Promise<void> {
    for (const c of this.#calls.splice(0)) {
      await this.command({ command: "delete", "call-id": c }).catch(() => undefined);
    }
    await sleep(300);
  }

  async close(): Promise<void> {
    this.ng.close();
    if (this.proc.exitCode === null) {
      const exited = new Promise((r) => this.proc.once("exit", r));
      this.proc.kill("SIGTERM");
      await Promise.race([exited, sleep(3000)]);
      if (this.proc.exitCode === null) {
        this.proc.kill("SIGKILL");
      }
    }
  }
}

// --------------------------------------------------------------------------- the old bench's pipeline child

/**
 * bench/transcode.ts's child (`--serve`): bare pipelines of RtpEndpoints on the main thread of a plain process, no
 * server and no media worker. Driven here by the same generator, to tell which part of the old figure differs.
 */
export class BenchChildTarget implements Target {
  readonly name = "old bench child";
  readonly proc: ChildProcess;
  readonly #waiters: ((m: Record<string, unknown>) => void)[] = [];

  constructor() {
    const js = fileURLToPath(new URL("../transcode.js", import.meta.url));
    this.proc = fork(js, ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.proc.on("message", (m: Record<string, unknown>) => this.#waiters.shift()?.(m));
  }

  #ask(m: Record<string, unknown> | undefined): Promise<Record<string, unknown>> {
    const p = new Promise<Record<string, unknown>>((r) => this.#waiters.push(r));
    if (m !== undefined) {
      this.proc.send(m);
    }
    return p;
  }

  async up(): Promise<this> {
    await this.#ask(undefined);
    return this;
  }

  supports(s: Scenario): boolean {
    return s.kind !== "fanout";
  }

  pid(): number {
    return this.proc.pid ?? 0;
  }

  async setup(s: Scenario, ports: readonly number[]): Promise<Dest[]> {
    const pairs: [number, number][] = [];
    for (let i = 0; i + 1 < ports.length; i += 2) {
      pairs.push([ports[i] ?? 0, ports[i + 1] ?? 0]);
    }
    const r = await this.#ask({
      op: "setup",
      scenario: s.kind === "transcode" ? "pcmu-opus" : "passthrough",
      ports: pairs,
    });
    const answers = r["answers"] as [number, number][];
    const [ma, mb] = legs(s);
    return answers.flatMap(([a, b]) => [
      { port: a, pt: ptOf(ma) },
      { port: b, pt: ptOf(mb) },
    ]);
  }

  async teardown(): Promise<void> {
    await this.#ask({ op: "teardown" });
  }

  async close(): Promise<void> {
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.send({ op: "exit" });
    await Promise.race([exited, sleep(2000)]);
    if (this.proc.exitCode === null) {
      this.proc.kill("SIGKILL");
    }
  }
}
