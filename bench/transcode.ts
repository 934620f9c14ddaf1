/**
 * Bridged-call transcoding benchmark (issue 4 "Benchmark", performance.md §4, §7–§8).
 *
 * A call is two RtpEndpoints of one pipeline connected both ways (A ↔ B), each negotiated with a peer that is a
 * UDP socket of this process on 127.0.0.1 sending pre-encoded 20 ms frames at 50 packets/s and counting what
 * comes back. The pipelines run in a child process (this file with `--serve`, driven over IPC), so its CPU, read
 * from /proc, holds only the media work: RTP in/out, the graph, and the transcoder. Scenarios:
 *
 * - `passthrough`: PCMU ↔ PCMU (no decode): the cost of RTP I/O and forwarding, the baseline;
 * - `pcmu-opus`:   A's peer PCMU, B's peer Opus: decode PCMU → Opus encoder fed at 8 kHz, and Opus decoded at 8 kHz
 *                  → PCMU;
 * - `amrwb-opus`:  A's peer AMR-WB 23.85k bandwidth-efficient, B's peer Opus (16 kHz on both sides of Opus).
 *
 * Figures, per scenario at a fixed load (BENCH_TRANSCODE_CALLS, default 40 calls, BENCH_TRANSCODE_MS, default
 * 5000 ms):
 * - CPU µs per call per 20 ms (both directions), next to the raw codec cost of the same work (encode + decode of
 *   both codecs, from bench/codecs.ts measureCodecCosts in the same run);
 * - overhead beyond the codec work: (transcoded call − passthrough call − codec work) / codec work, i.e. what the
 *   transcoding machinery (jitter buffer, re-framing, numbering, packets) adds to the codecs; and the plain
 *   (transcoded call − codec work) / codec work, which also counts RTP I/O;
 * - added processing latency per hop, p50/p99: from a packet's arrival at the source endpoint's socket to its
 *   hand-over at the sink endpoint (in the child), plus the one-way delay peer → peer seen by the load generator;
 * - the transcoding layer alone, in-process without RTP I/O, for as many calls as the load run (their codec
 * states served round robin, as a worker does), against the codec work alone on the same payloads and as many
 * codec states
 *   (alternating rounds, medians): the overhead the issue's ≤ 25 % target is about;
 * - then a ramp of PCMU↔Opus calls (BENCH_TRANSCODE_RAMP, default "50,100,150,200"): the largest count with no
 *   dropped packet and at most 0.1 % of packets later than 20 ms (one ptime) over the peer-to-peer path, and the
 *   largest with none late at all. The child is one thread, so that count is calls per core.
 *
 * Run alone after a build: `node dist/bench/transcode.js`.
 */
import { fork, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { JsonObject, WorkerSettings } from "../media/channel/protocol.js";
import { createDecoder, createEncoder } from "../media/codecs/index.js";
import type { Connection, ElementContext } from "../media/core/MediaElement.js";
import { MediaPipeline } from "../media/core/MediaPipeline.js";
import type { MediaPacket } from "../media/core/types.js";
import { RtpEndpoint } from "../media/elements/RtpEndpoint.js";
import type { Logger } from "../media/logger.js";
import { PortAllocator } from "../media/net/PortAllocator.js";
import { buildRtp } from "../media/rtp/RtpPacket.js";
import { AudioTranscoder } from "../media/transcode/AudioTranscoder.js";
import type { SinkAudioCaps } from "../media/transcode/format.js";
import { measureCodecCosts, type BenchResult, type CodecCost } from "./codecs.js";

export type Scenario = "passthrough" | "pcmu-opus" | "amrwb-opus";

interface LegCodec {
  pt: number;
  rtpmap: string;
  fmtp?: string;
  ticks: number;
}

const CODECS: Record<"pcmu" | "opus" | "amrwb", LegCodec> = {
  pcmu: { pt: 0, rtpmap: "PCMU/8000", ticks: 160 },
  opus: { pt: 111, rtpmap: "opus/48000/2", fmtp: "minptime=10;useinbandfec=1", ticks: 960 },
  amrwb: { pt: 98, rtpmap: "AMR-WB/16000", fmtp: "mode-set=8", ticks: 320 },
};

const LEGS: Record<Scenario, [LegCodec, LegCodec]> = {
  passthrough: [CODECS.pcmu, CODECS.pcmu],
  "pcmu-opus": [CODECS.pcmu, CODECS.opus],
  "amrwb-opus": [CODECS.amrwb, CODECS.opus],
};

const TICK_US = 1_000_000 / 100; // USER_HZ
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: ArrayLike<number>, p: number): number => {
  const s = Float64Array.from(xs).sort();
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN;
};
const r2 = (x: number): number => Math.round(x * 100) / 100;

function cpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

function offer(port: number, c: LegCodec): string {
  return [
    "v=0",
    "o=bench 1 1 IN IP4 127.0.0.1",
    "s=bench",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${port} RTP/AVP ${c.pt}`,
    `a=rtpmap:${c.pt} ${c.rtpmap}`,
    ...(c.fmtp !== undefined ? [`a=fmtp:${c.pt} ${c.fmtp}`] : []),
    "a=ptime:20",
    "a=rtcp-mux",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/** 50 pre-encoded 20 ms frames of a 440 Hz + 1 kHz signal for a leg's codec. */
function frames(c: LegCodec): Uint8Array[] {
  const name = c.rtpmap.split("/")[0] ?? "";
  const enc = createEncoder(name, name === "opus" ? { sampleRate: 48000, opus: { signal: "voice" } } : {});
  const n = enc.frameSamples;
  const out: Uint8Array[] = [];
  for (let k = 0; k < 50; k++) {
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const t = (k * n + i) / enc.sampleRate;
      pcm[i] = Math.round(5000 * Math.sin(2 * Math.PI * 440 * t) + 3000 * Math.sin(2 * Math.PI * 1000 * t));
    }
    out.push(enc.encode(pcm).slice());
  }
  enc.close();
  return out;
}

/**
 * The transcoding layer alone, in this process and without RTP I/O: one call = two AudioTranscoders (A's packets
 * for B's format and B's for A's), fed the generator's payloads as MediaPackets, delivering to a no-op. CPU µs per
 * 20 ms, both directions; compared with {@link callCodecWorkUs} on the same payloads, it isolates what the
 * machinery (jitter buffer, re-framer, numbering, packet objects, caps checks) adds to the codecs.
 */
function callMachineryUs(scenario: Exclude<Scenario, "passthrough">, ms: number, calls: number): number {
  const [ca, cb] = LEGS[scenario];
  const fa = frames(ca);
  const fb = frames(cb);
  const noop = (): void => undefined;
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  const host = { id: "bench", logger, emit: noop, sourceParameters: () => undefined, deliver: noop };
  const fmt = (c: LegCodec): SinkAudioCaps => {
    const [name, rate, ch] = c.rtpmap.split("/");
    return {
      formats: [
        {
          codec: (name ?? "").toLowerCase(),
          clockRate: Number(rate),
          channels: Number(ch ?? 1),
          ...(c.fmtp !== undefined ? { parameters: c.fmtp } : {}),
        },
      ],
      telephoneEvents: [],
      ptimeMs: 20,
      continuous: true,
    };
  };
  const capsA = fmt(ca);
  const capsB = fmt(cb);
  // Connections are only keys to the transcoder: plain objects stand in for the graph's.
  const set = Array.from({ length: calls }, () => ({
    connAB: {} as Connection,
    connBA: {} as Connection,
    txA: new AudioTranscoder(host),
    txB: new AudioTranscoder(host),
  }));
  const nameA = ca.rtpmap.split("/")[0]?.toLowerCase() ?? "";
  const pkt = (
    codec: string,
    clockRate: number,
    pt: number,
    i: number,
    ticks: number,
    payload: Uint8Array,
  ): MediaPacket => ({
    kind: "AUDIO",
    codec,
    clockRate,
    payloadType: pt,
    ssrc: 7,
    sequenceNumber: i & 0xffff,
    timestamp: (i * ticks) >>> 0,
    marker: false,
    payload,
    keyframe: false,
    arrivalMs: performance.now(),
  });
  const rateA = Number(ca.rtpmap.split("/")[1]);
  // Round robin over the calls, as a worker serves them: call i % calls, its frame ⌊i / calls⌋.
  const one = (i: number): void => {
    const c = set[i % calls]!;
    const f = Math.floor(i / calls);
    c.txA.route(pkt(nameA, rateA, ca.pt, f, ca.ticks, fa[f % 50]!), c.connAB, capsB);
    c.txB.route(pkt("opus", 48000, cb.pt, f, cb.ticks, fb[f % 50]!), c.connBA, capsA);
  };
  const warm = 100 * calls;
  for (let i = 0; i < warm; i++) {
    one(i);
  }
  let n = warm;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < ms) {
    for (let k = 0; k < 20; k++) {
      one(n++);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  for (const c of set) {
    c.txA.close();
    c.txB.close();
  }
  return (cpu.user + cpu.system) / (n - warm);
}

/**
 * The codec work of one call per 20 ms, both directions, on the very payloads the load generator sends and with
 * the settings the transcoder uses (Opus fed and decoded at 8 kHz for PCMU, 16 kHz for AMR-WB; complexity 5,
 * "voice"): decode A's frame + encode it for B, decode B's frame + encode it for A. CPU µs (process.cpuUsage).
 */
function callCodecWorkUs(scenario: Exclude<Scenario, "passthrough">, ms: number, calls = 1): number {
  const [ca, cb] = LEGS[scenario];
  const fa = frames(ca);
  const fb = frames(cb);
  const nameA = scenario === "pcmu-opus" ? "PCMU" : "AMR-WB";
  const rate = scenario === "pcmu-opus" ? 8000 : 16000;
  const amr = { modeSet: [8], octetAligned: false };
  const set = Array.from({ length: calls }, () => ({
    decA: createDecoder(nameA, nameA === "AMR-WB" ? amr : {}),
    encA: createEncoder(nameA, nameA === "AMR-WB" ? { ...amr, dtx: false } : {}),
    decB: createDecoder("opus", { sampleRate: rate }),
    encB: createEncoder("opus", { sampleRate: rate, dtx: false, opus: { signal: "voice" } }),
  }));
  const one = (i: number): void => {
    const c = set[i % calls]!;
    const f = Math.floor(i / calls) % 50;
    c.encB.encode(c.decA.decode(fa[f]!));
    c.encA.encode(c.decB.decode(fb[f]!));
  };
  for (let i = 0; i < 100 * calls; i++) {
    one(i);
  }
  let n = 0;
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  while (performance.now() - start < ms) {
    for (let k = 0; k < 20; k++) {
      one(n++);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  for (const c of set) {
    for (const x of [c.decA, c.encA, c.decB, c.encB]) {
      x.close();
    }
  }
  return (cpu.user + cpu.system) / n;
}

// ================================================================================================ child (pipelines)

interface SetupMsg {
  op: "setup";
  scenario: Scenario;
  ports: [number, number][];
}
type ChildMsg = SetupMsg | { op: "stats" } | { op: "teardown" } | { op: "exit" };

async function serve(): Promise<void> {
  const settings: WorkerSettings = {
    workerIndex: 0,
    rtpPortMin: 34000,
    rtpPortMax: 39998,
    logLevel: "warn",
    webrtc: {
      interfaces: ["127.0.0.1"],
      externalIPv4: "",
      stunServer: "",
      turnServer: "",
      turnUsername: "",
      turnPassword: "",
    },
    flowTimeoutMs: 2000,
    loadReportMs: 1000,
  };
  const ports = new PortAllocator(settings.rtpPortMin, settings.rtpPortMax);
  const noop = (): void => undefined;
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  const ctx = (id: string, type: string): ElementContext => ({
    id,
    pipelineId: "bench",
    type,
    settings,
    ports,
    logger,
    emit: noop,
    emitDescribed: noop,
  });
  // Processing latency: from a packet's arrival at the source's socket to its hand-over at the sink endpoint.
  const lat = new Float64Array(200_000);
  let nLat = 0;
  const proto = RtpEndpoint.prototype as unknown as { onMedia: (p: MediaPacket, c: unknown) => void };
  const onMedia = proto.onMedia;
  proto.onMedia = function (this: RtpEndpoint, p: MediaPacket, c: unknown): void {
    lat[nLat++ % lat.length] = performance.now() - p.arrivalMs;
    onMedia.call(this, p, c);
  };
  let pipelines: MediaPipeline[] = [];
  const reply = (m: JsonObject): void => {
    process.send?.(m);
  };
  process.on("message", (msg: ChildMsg) => {
    void (async (): Promise<void> => {
      if (msg.op === "setup") {
        const [ca, cb] = LEGS[msg.scenario];
        const answers: number[][] = [];
        for (const [i, [pa, pb]] of msg.ports.entries()) {
          const pl = new MediaPipeline(ctx(`p${i}`, "MediaPipeline"));
          const a = (await pl.createElement(RtpEndpoint, ctx(`p${i}/a`, "RtpEndpoint"), {})) as RtpEndpoint;
          const b = (await pl.createElement(RtpEndpoint, ctx(`p${i}/b`, "RtpEndpoint"), {})) as RtpEndpoint;
          const sa = (await a.invoke("processOffer", { offer: offer(pa, ca) })) as string;
          const sb = (await b.invoke("processOffer", { offer: offer(pb, cb) })) as string;
          pl.connect(a, b, "AUDIO", "default", "default");
          pl.connect(b, a, "AUDIO", "default", "default");
          pipelines.push(pl);
          answers.push([Number(/m=audio (\d+)/.exec(sa)?.[1]), Number(/m=audio (\d+)/.exec(sb)?.[1])]);
        }
        nLat = 0;
        reply({ op: "ready", answers });
      } else if (msg.op === "stats") {
        const xs = lat.subarray(0, Math.min(nLat, lat.length));
        let decodeErrors = 0;
        let encoders = 0;
        for (const pl of pipelines) {
          for (const el of pl.elements.values()) {
            decodeErrors += el.transcoderDiagnostics?.decodeErrors ?? 0;
            encoders += el.transcoderDiagnostics?.encoders ?? 0;
          }
        }
        reply({ op: "stats", p50: pct(xs, 50), p99: pct(xs, 99), n: xs.length, decodeErrors, encoders });
      } else if (msg.op === "exit") {
        process.exit(0); // a clean exit (e.g. so that --cpu-prof writes its profile)
      } else {
        for (const pl of pipelines) {
          pl.release();
        }
        pipelines = [];
        reply({ op: "done" });
      }
    })().catch((err: unknown) => reply({ op: "error", error: String(err) }));
  });
  reply({ op: "up" });
}

// ================================================================================================ parent (peers)

interface RunFigures {
  scenario: Scenario;
  calls: number;
  /** Child CPU µs per call per 20 ms, both directions. */
  cpuUsPerCallFrame: number;
  /** Child CPU in % of one core. */
  cpuPercent: number;
  sent: number;
  received: number;
  dropped: number;
  /** Packets whose peer-to-peer one-way delay exceeded 20 ms. */
  late: number;
  hopP50Ms: number;
  hopP99Ms: number;
  oneWayP50Ms: number;
  oneWayP99Ms: number;
  decodeErrors: number;
  encoders: number;
}

class Child {
  readonly proc: ChildProcess;
  readonly #waiters: ((m: JsonObject) => void)[] = [];

  constructor() {
    this.proc = fork(fileURLToPath(import.meta.url), ["--serve"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
    this.proc.on("message", (m: JsonObject) => this.#waiters.shift()?.(m));
  }

  next(): Promise<JsonObject> {
    return new Promise((r) => this.#waiters.push(r));
  }

  async ask(m: ChildMsg): Promise<JsonObject> {
    const p = this.next();
    this.proc.send(m);
    const r = await p;
    if (r["op"] === "error") {
      throw new Error(JSON.stringify(r["error"]));
    }
    return r;
  }
}

async function openSocket(): Promise<dgram.Socket> {
  const s = dgram.createSocket({ type: "udp4", recvBufferSize: 1 << 20, sendBufferSize: 1 << 20 });
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  return s;
}

/** One load run: `calls` bridged calls of `scenario` for `ms`. */
async function loadRun(child: Child, scenario: Scenario, calls: number, ms: number): Promise<RunFigures> {
  const [ca, cb] = LEGS[scenario];
  const fa = frames(ca);
  const fb = frames(cb);
  const socks: [dgram.Socket, dgram.Socket][] = [];
  for (let i = 0; i < calls; i++) {
    socks.push([await openSocket(), await openSocket()]);
  }
  const ready = await child.ask({
    op: "setup",
    scenario,
    ports: socks.map(([a, b]) => [a.address().port, b.address().port] as [number, number]),
  });
  const answers = ready["answers"] as number[][];
  // Per call and direction: send times still unmatched (FIFO) → one-way delays.
  const pending: number[][] = [];
  const delays: number[] = [];
  let received = 0;
  let late = 0;
  let measuring = false;
  for (let i = 0; i < calls; i++) {
    for (const [k, s] of socks[i]!.entries()) {
      const q: number[] = [];
      pending.push(q);
      // What this socket receives was sent by the other leg's socket.
      const from = pending.length - 1 + (k === 0 ? 1 : -1);
      s.on("message", () => {
        const now = performance.now();
        const t0 = pending[from]?.shift();
        if (!measuring || t0 === undefined || t0 < 0) {
          return; // keep-alive silence, or the answer to a packet sent during the warm-up
        }
        received++;
        const d = now - t0;
        delays.push(d);
        if (d > 20) {
          late++;
        }
      });
    }
  }
  // Paced sending: call i's packets are due at phase i/calls of each 20 ms period.
  let sent = 0;
  let stop = false;
  const start = performance.now();
  const warmMs = 1000;
  let cpu0 = 0;
  let tMeasure = 0;
  const sender = (async (): Promise<void> => {
    const nextDue = new Float64Array(calls).map((_, i) => start + (20 * i) / calls);
    while (!stop) {
      const now = performance.now();
      if (!measuring && now - start >= warmMs) {
        measuring = true;
        cpu0 = cpuUs(child.proc.pid ?? 0);
        tMeasure = now;
      }
      for (let i = 0; i < calls; i++) {
        while (nextDue[i]! <= now) {
          const n = Math.round((nextDue[i]! - start) / 20);
          const [sa, sb] = socks[i]!;
          const [pa, pb] = answers[i]!;
          const t = performance.now();
          sa.send(buildRtp(ca.pt, n === 0, n & 0xffff, (n * ca.ticks) >>> 0, 0x1000 + i, fa[n % 50]!), pa, "127.0.0.1");
          sb.send(buildRtp(cb.pt, n === 0, n & 0xffff, (n * cb.ticks) >>> 0, 0x2000 + i, fb[n % 50]!), pb, "127.0.0.1");
          pending[2 * i]!.push(measuring ? t : -t);
          pending[2 * i + 1]!.push(measuring ? t : -t);
          if (measuring) {
            sent += 2;
          }
          nextDue[i] = nextDue[i]! + 20;
        }
      }
      await new Promise((r) => setImmediate(r));
      if (performance.now() - now < 0.5) {
        await sleep(1);
      }
    }
  })();
  await sleep(warmMs + ms);
  const cpu = cpuUs(child.proc.pid ?? 0) - cpu0;
  const wallMs = performance.now() - tMeasure;
  stop = true;
  await sender;
  await sleep(200); // the last packets' answers
  measuring = false;
  const stats = await child.ask({ op: "stats" });
  await child.ask({ op: "teardown" });
  for (const [a, b] of socks) {
    a.close();
    b.close();
  }
  const frames20 = (wallMs / 20) * calls;
  return {
    scenario,
    calls,
    cpuUsPerCallFrame: r2(cpu / frames20),
    cpuPercent: r2((cpu / (wallMs * 1000)) * 100),
    sent,
    received,
    dropped: Math.max(0, sent - received),
    late,
    hopP50Ms: r2(Number(stats["p50"])),
    hopP99Ms: r2(Number(stats["p99"])),
    oneWayP50Ms: r2(pct(delays, 50)),
    oneWayP99Ms: r2(pct(delays, 99)),
    decodeErrors: Number(stats["decodeErrors"]),
    encoders: Number(stats["encoders"]),
  };
}

export interface TranscodeFigures {
  codecs: CodecCost[];
  runs: RunFigures[];
  /** Codec work (µs per 20 ms, both directions) of a call of each scenario, on the generator's own payloads. */
  codecUsPerCallFrame: Record<Scenario, number>;
  /** The same from the generic rows of measureCodecCosts (codec-encoded speech-like input), for reference. */
  codecTableUsPerCallFrame: Record<Scenario, number>;
  /** In-process, no I/O: the transcoding layer per call and 20 ms (median of alternating rounds), µs. */
  machineryUsPerCallFrame: Partial<Record<Scenario, number>>;
  /** Codec work measured in the same alternating rounds, µs. */
  machineryCodecUsPerCallFrame: Partial<Record<Scenario, number>>;
  /** (machinery − codec) / codec, in %: the overhead of the transcoding layer beyond the codec work. */
  machineryOverheadPercent: Partial<Record<Scenario, number>>;
  /** (call − passthrough − codec) / codec, in %. */
  overheadBeyondCodecPercent: Partial<Record<Scenario, number>>;
  /** (call − codec) / codec, in %: the RTP I/O included. */
  overheadInclIoPercent: Partial<Record<Scenario, number>>;
  ramp: RunFigures[];
  /**
   * Largest PCMU↔Opus call count of the ramp with no dropped packet and at most 0.1 % late (> 20 ms one way; the
   * passthrough baseline on a shared machine has late packets too), the child being one core.
   */
  pcmuOpusCallsPerCore: number;
  /** The same with no late packet at all. */
  pcmuOpusCallsPerCoreStrict: number;
  /** 1e6 µs / (CPU µs per call per second) at the fixed load: calls one core could carry at 100 %. */
  pcmuOpusCallsPerCoreByCpu: number;
}

/** Runs the whole benchmark; returns every figure. */
export async function measureTranscode(): Promise<TranscodeFigures> {
  const calls = Number(process.env["BENCH_TRANSCODE_CALLS"] ?? 40);
  const ms = Number(process.env["BENCH_TRANSCODE_MS"] ?? 5000);
  const rampCounts = (process.env["BENCH_TRANSCODE_RAMP"] ?? "50,100,150,200")
    .split(",")
    .map(Number)
    .filter((n) => n > 0);
  const codecs = await measureCodecCosts(Number(process.env["BENCH_MS"] ?? 400));
  const cost = (name: string): number => codecs.find((c) => c.name === name)?.totalUs ?? NaN;
  const codecTableUsPerCallFrame: Record<Scenario, number> = {
    passthrough: 0,
    "pcmu-opus": r2(cost("PCMU") + cost("Opus 8k mono cx5")),
    "amrwb-opus": r2(cost("AMR-WB 23.85k") + cost("Opus 16k mono cx5")),
  };
  const workMs = Number(process.env["BENCH_MS"] ?? 400) * 2;
  const codecUsPerCallFrame: Record<Scenario, number> = {
    passthrough: 0,
    "pcmu-opus": r2(callCodecWorkUs("pcmu-opus", workMs)),
    "amrwb-opus": r2(callCodecWorkUs("amrwb-opus", workMs)),
  };
  // The transcoding layer against the codec work alone, alternating rounds so both see the same machine load.
  const machineryUsPerCallFrame: Partial<Record<Scenario, number>> = {};
  const machineryCodecUsPerCallFrame: Partial<Record<Scenario, number>> = {};
  const machineryOverheadPercent: Partial<Record<Scenario, number>> = {};
  for (const s of ["pcmu-opus", "amrwb-opus"] as const) {
    const m: number[] = [];
    const c: number[] = [];
    for (let round = 0; round < 5; round++) {
      c.push(callCodecWorkUs(s, workMs / 4, calls));
      m.push(callMachineryUs(s, workMs / 4, calls));
    }
    const mm = pct(m, 50);
    const cc = pct(c, 50);
    machineryUsPerCallFrame[s] = r2(mm);
    machineryCodecUsPerCallFrame[s] = r2(cc);
    machineryOverheadPercent[s] = r2(((mm - cc) / cc) * 100);
  }
  const child = new Child();
  await child.next(); // up
  try {
    const runs: RunFigures[] = [];
    for (const s of ["passthrough", "pcmu-opus", "amrwb-opus"] as const) {
      runs.push(await loadRun(child, s, calls, ms));
    }
    const pass = runs[0]?.cpuUsPerCallFrame ?? NaN;
    const overheadBeyondCodecPercent: Partial<Record<Scenario, number>> = {};
    const overheadInclIoPercent: Partial<Record<Scenario, number>> = {};
    for (const r of runs.slice(1)) {
      if (r.dropped > 0 || (runs[0]?.dropped ?? 0) > 0) {
        continue; // a starved run (shared machine, or beyond one core) says nothing about overhead
      }
      const c = codecUsPerCallFrame[r.scenario];
      overheadBeyondCodecPercent[r.scenario] = r2(((r.cpuUsPerCallFrame - pass - c) / c) * 100);
      overheadInclIoPercent[r.scenario] = r2(((r.cpuUsPerCallFrame - c) / c) * 100);
    }
    const ramp: RunFigures[] = [];
    let best = 0;
    let strict = 0;
    for (const n of rampCounts) {
      const r = await loadRun(child, "pcmu-opus", n, ms);
      ramp.push(r);
      if (r.dropped === 0 && r.late <= r.sent * 0.001) {
        best = Math.max(best, n);
      }
      if (r.dropped === 0 && r.late === 0) {
        strict = Math.max(strict, n);
      }
      if (r.dropped > 0) {
        break;
      }
    }
    const po = runs.find((r) => r.scenario === "pcmu-opus");
    return {
      codecs,
      runs,
      codecUsPerCallFrame,
      codecTableUsPerCallFrame,
      machineryUsPerCallFrame,
      machineryCodecUsPerCallFrame,
      machineryOverheadPercent,
      overheadBeyondCodecPercent,
      overheadInclIoPercent,
      ramp,
      pcmuOpusCallsPerCore: best,
      pcmuOpusCallsPerCoreStrict: strict,
      pcmuOpusCallsPerCoreByCpu: po === undefined ? NaN : Math.floor(1e6 / (po.cpuUsPerCallFrame * 50)),
    };
  } finally {
    const exited = new Promise((r) => child.proc.once("exit", r));
    child.proc.send({ op: "exit" });
    await Promise.race([exited, sleep(2000)]);
    child.proc.kill("SIGKILL");
  }
}

/** The figures flattened for bench/run.ts. */
export async function run(): Promise<BenchResult[]> {
  const f = await measureTranscode();
  const out: BenchResult[] = [];
  for (const r of f.runs) {
    out.push({
      name: `transcode ${r.scenario}: CPU per call (both directions)`,
      value: r.cpuUsPerCallFrame,
      unit: "µs/20ms",
    });
    if (r.scenario !== "passthrough") {
      out.push({
        name: `transcode ${r.scenario}: transcoding-layer overhead beyond codec work (in-process)`,
        value: f.machineryOverheadPercent[r.scenario] ?? NaN,
        unit: "%",
      });
      out.push({
        name: `transcode ${r.scenario}: codec work alone`,
        value: f.codecUsPerCallFrame[r.scenario],
        unit: "µs/20ms",
      });
      out.push({
        name: `transcode ${r.scenario}: overhead beyond codec work (passthrough I/O excluded)`,
        value: f.overheadBeyondCodecPercent[r.scenario] ?? NaN,
        unit: "%",
      });
    }
    out.push({ name: `transcode ${r.scenario}: hop latency p99`, value: r.hopP99Ms, unit: "ms" });
  }
  out.push({
    name: "transcode PCMU↔Opus calls per core, no drop, ≤ 0.1 % late",
    value: f.pcmuOpusCallsPerCore,
    unit: "calls",
  });
  out.push({
    name: "transcode PCMU↔Opus calls per core, no drop, no late packet",
    value: f.pcmuOpusCallsPerCoreStrict,
    unit: "calls",
  });
  out.push({ name: "transcode PCMU↔Opus calls per core by CPU", value: f.pcmuOpusCallsPerCoreByCpu, unit: "calls" });
  return out;
}

if (process.argv.includes("--serve")) {
  await serve();
} else if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const f = await measureTranscode();
  console.log("codec work per call (µs / 20 ms, both directions):", JSON.stringify(f.codecUsPerCallFrame));
  console.log("  (from the measureCodecCosts table):", JSON.stringify(f.codecTableUsPerCallFrame));
  console.log(
    "transcoding layer in-process, no I/O (µs / call / 20 ms):",
    JSON.stringify(f.machineryUsPerCallFrame),
    "codec alone, same rounds:",
    JSON.stringify(f.machineryCodecUsPerCallFrame),
    "overhead %:",
    JSON.stringify(f.machineryOverheadPercent),
  );
  console.log(
    "scenario      calls  CPU µs/call/20ms  CPU %core  sent    recv    drop  late  hop p50/p99 ms  one-way p50/p99 ms",
  );
  for (const r of [...f.runs, ...f.ramp]) {
    console.log(
      `${r.scenario.padEnd(12)} ${String(r.calls).padStart(6)}  ${r.cpuUsPerCallFrame.toFixed(1).padStart(16)}  ` +
        `${r.cpuPercent.toFixed(1).padStart(9)}  ${String(r.sent).padStart(6)}  ${String(r.received).padStart(6)}  ` +
        `${String(r.dropped).padStart(4)}  ${String(r.late).padStart(4)}  ${`${r.hopP50Ms.toFixed(2)}/${r.hopP99Ms.toFixed(2)}`.padStart(
          14,
        )}${`  ${r.oneWayP50Ms.toFixed(2)}/${r.oneWayP99Ms.toFixed(2)}`.padStart(20)}`,
    );
  }
  console.log("overhead beyond codec work (passthrough I/O excluded) %:", JSON.stringify(f.overheadBeyondCodecPercent));
  console.log("overhead beyond codec work (RTP I/O included) %:", JSON.stringify(f.overheadInclIoPercent));
  console.log(`PCMU↔Opus calls per core, no drop and ≤ 0.1 % late: ${f.pcmuOpusCallsPerCore}`);
  console.log(`PCMU↔Opus calls per core, no drop and no late packet: ${f.pcmuOpusCallsPerCoreStrict}`);
  console.log(`PCMU↔Opus calls per core by CPU (at 100 % of one core): ${f.pcmuOpusCallsPerCoreByCpu}`);
}
