/**
 * SIP ↔ Opus gateway benchmark (issue 5 "Benchmark"): SIPp places inbound calls with G.711 A-law RTP (the
 * `uac_pcma_pcap.xml` fixture: SIPp's g711a.pcap, 30 ms PCMA, then an RFC 4733 digit, then BYE; 8.5 s per call)
 * into a Korus server child process. This process is the application: over JSON-RPC it subscribes to IncomingCall
 * on `korus_SipGateway` and, for every call, creates a MediaPipeline, a `SipEndpoint {mediaPipeline, callId}` and an
 * RtpEndpoint whose peer is a UDP socket of this process offering only Opus, connects them both ways (AUDIO) and
 * answers: Korus transcodes PCMA → Opus and Opus → PCMA (the Opus peer sends one pre-encoded 20 ms frame of a 1 kHz
 * tone at 50 packets/s). The pipeline is released when the call's CallStateChanged reports TERMINATED.
 *
 * Per level N (BENCH_GW_LEVELS, default 25,50,100 concurrent calls): SIPp `-l N`, `-r N -rp 4000` (reaches N within
 * about 4 s), `-m 3N` (each call slot runs three 8.5 s calls back to back, so N calls stay up for about 20 s while
 * calls keep ending and starting). Once N calls are bridged, a steady window of BENCH_GW_HOLD_S (15) seconds:
 * - server CPU (all its threads, /proc/<pid>/stat) per bridged call, in % of one core, over the window, divided by
 *   the mean number of bridged calls sampled during it; and the resulting bridged calls per core;
 * - SIPp's successful and failed calls (its final statistics), the app's failures (RPC errors);
 * - at the Opus peers: packets received, lost (RTP sequence gaps) and late (an arrival gap above 60 ms, i.e. more
 *   than 40 ms beyond the 20 ms pacing; gaps above 1 s are silence/pause, counted apart), and how many of the late
 *   gaps overlap a stall of this process's own event loop (the load generator's share; Korus's Opus output is
 *   driven by SIPp's 30 ms PCMA, so SIPp's send jitter, the CDRs' rx jitter, propagates too);
 * - call setup: how fast N calls were bridged (calls/s over the ramp), IncomingCall → answered latency p50/p90;
 * - whether SIPp's pcap RTP reaches Korus: getStats on one SipEndpoint per level (inbound packets).
 * At the end: the CDRs (`node dist/src/cli.js cdr export --format jsonl --data-dir …`) of the announced calls, against
 * the calls SIPp placed, and the CDRs' own RTP counters of the PCMA legs.
 *
 * Run alone after a build: `node dist/bench/gateway.js`. Everything binds 127.0.0.1; SIPp and the server are killed
 * on every path.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createEncoder } from "../media/codecs/index.js";
import { RpcClient } from "./lib/RpcClient.js";

export interface BenchResult {
  name: string;
  value: number | string;
  unit: string;
}

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const MAIN_JS = join(ROOT, "dist/src/main.js");
const CLI_JS = join(ROOT, "dist/src/cli.js");
const SCENARIO = join(ROOT, "test/fixtures/sipp/uac_pcma_pcap.xml");
const PCAP_DIR = "/usr/share/sip-tester";
const GATEWAY = "korus_SipGateway";
const TICK_US = 1_000_000 / 100; // USER_HZ
/** Server RTP range and SIPp's media base: below the tests' slots (20000–32599) and the ephemeral range. */
const RTP_MIN = 10_000;
const RTP_MAX = 13_999;
const SIPP_MEDIA_BASE = 16_000;
/** Late: an arrival gap above 20 ms pacing + 40 ms. Above 1 s: a pause in the stream, not a late packet. */
const LATE_GAP_MS = 60;
/** Length of SIPp's g711a.pcap (the fixture's header comment): where the PCMA input of every call stops. */
const PCAP_END_S = 7.05;
const PAUSE_GAP_MS = 1000;

/**
 * Stalls of this process's event loop (a 5 ms heartbeat that fired more than 15 ms late), so that a late arrival at
 * an Opus peer can be told apart: late while this load generator was itself stalled, or late while it was
 * responsive (then the delay is Korus's or SIPp's, whose RTP drives Korus's Opus output).
 */
class StallLog {
  readonly stalls: { from: number; to: number }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #last = 0;

  start(): void {
    this.stalls.length = 0;
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      if (now - this.#last > 20) {
        this.stalls.push({ from: this.#last, to: now });
      }
      this.#last = now;
    }, 5);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Whether the loop stalled at some point within [from, to]. */
  overlaps(from: number, to: number): boolean {
    for (let i = this.stalls.length - 1; i >= 0; i--) {
      const st = this.stalls[i];
      if (st === undefined || st.to < from) {
        return false;
      }
      if (st.from <= to) {
        return true;
      }
    }
    return false;
  }
}

const stallLog = new StallLog();
/** Late arrivals in the current window: the gap (ms) and the time since the peer's first packet (s). */
const lateEvents: { gapMs: number; atS: number }[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN;
};

function cpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const a = srv.address();
      const port = typeof a === "object" && a !== null ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

// ------------------------------------------------------------------------------------------ Opus peer

/** Sequence/arrival accounting of one received RTP stream. */
interface PeerStats {
  received: number;
  lost: number;
  late: number;
  /** Of `late`: those whose gap overlaps a stall of this process's event loop. */
  lateWhileStalled: number;
  pauses: number;
  /** Packets of another payload type than the offered Opus 111. */
  notOpus: number;
}

/** The RtpEndpoint's peer: a UDP socket offering only Opus, sending the shared frame at 50 pps. */
class OpusPeer {
  readonly socket = dgram.createSocket("udp4");
  port = 0;
  remote: { host: string; port: number } | undefined;
  /** Counting is on only inside a level's steady window. */
  counting = false;
  readonly windowStats: PeerStats = { received: 0, lost: 0, late: 0, lateWhileStalled: 0, pauses: 0, notOpus: 0 };
  #lastSeq = -1;
  #lastArrival = 0;
  #firstArrival = 0;
  #seq = Math.floor(Math.random() * 65536);
  #ts = Math.floor(Math.random() * 2 ** 32);
  readonly #ssrc = Math.floor(Math.random() * 2 ** 32);
  readonly #header = Buffer.alloc(12);

  async open(): Promise<void> {
    this.socket.on("message", (m) => this.#onRtp(m));
    this.socket.on("error", () => undefined);
    await new Promise<void>((r) => this.socket.bind(0, "127.0.0.1", () => r()));
    this.port = this.socket.address().port;
  }

  #onRtp(m: Buffer): void {
    if (m.length < 12 || (m[0] ?? 0) >> 6 !== 2) {
      return;
    }
    const pt = (m[1] ?? 0) & 0x7f;
    if (pt >= 72 && pt <= 79) {
      return; // RTCP
    }
    if (pt !== 111) {
      this.windowStats.notOpus += this.counting ? 1 : 0;
      return;
    }
    const now = performance.now();
    const seq = m.readUInt16BE(2);
    let lost = 0;
    let late = 0;
    let stalled = 0;
    let pauses = 0;
    if (this.#lastSeq >= 0) {
      const d = (seq - this.#lastSeq + 65536) % 65536;
      if (d === 0 || d > 32768) {
        return; // duplicate or reordered: not counted twice
      }
      lost = d - 1;
      const gap = now - this.#lastArrival;
      if (gap > PAUSE_GAP_MS) {
        pauses = 1;
      } else if (gap > LATE_GAP_MS) {
        late = 1;
        if (this.counting) {
          lateEvents.push({ gapMs: gap, atS: (now - this.#firstArrival) / 1000 });
        }
        stalled = this.counting && stallLog.overlaps(this.#lastArrival, now) ? 1 : 0;
      }
    }
    if (this.#lastSeq < 0) {
      this.#firstArrival = now;
    }
    this.#lastSeq = seq;
    this.#lastArrival = now;
    if (this.counting) {
      const s = this.windowStats;
      s.received++;
      s.lost += lost;
      s.late += late;
      s.lateWhileStalled += stalled;
      s.pauses += pauses;
    }
  }

  /** Sends one 20 ms Opus packet (payload type 111) to the RtpEndpoint. */
  tick(frame: Uint8Array): void {
    const to = this.remote;
    if (to === undefined) {
      return;
    }
    const h = this.#header;
    h[0] = 0x80;
    h[1] = 111;
    h.writeUInt16BE(this.#seq, 2);
    h.writeUInt32BE(this.#ts >>> 0, 4);
    h.writeUInt32BE(this.#ssrc >>> 0, 8);
    this.#seq = (this.#seq + 1) & 0xffff;
    this.#ts = (this.#ts + 960) % 2 ** 32;
    this.socket.send(Buffer.concat([h, frame]), to.port, to.host);
  }

  offer(): string {
    return [
      "v=0",
      "o=bench 1 1 IN IP4 127.0.0.1",
      "s=bench",
      "c=IN IP4 127.0.0.1",
      "t=0 0",
      `m=audio ${this.port} RTP/AVP 111`,
      "a=rtpmap:111 opus/48000/2",
      "a=ptime:20",
      "a=sendrecv",
      "",
    ].join("\r\n");
  }

  close(): void {
    this.remote = undefined;
    try {
      this.socket.close();
    } catch {
      // already closed
    }
  }
}

/** One pre-encoded 20 ms Opus frame of a 1 kHz tone (20 whole periods: repeating it keeps the phase). */
function opusToneFrame(): Uint8Array {
  const enc = createEncoder("opus", { sampleRate: 48000, opus: { signal: "voice" } });
  const n = enc.frameSamples * enc.channels;
  const pcm = new Int16Array(n);
  for (let i = 0; i < enc.frameSamples; i++) {
    const v = Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / enc.sampleRate));
    for (let c = 0; c < enc.channels; c++) {
      pcm[i * enc.channels + c] = v;
    }
  }
  let frame = new Uint8Array(0);
  for (let k = 0; k < 5; k++) {
    frame = enc.encode(pcm).slice(); // the encoder settles on the steady tone
  }
  enc.close();
  return frame;
}

// ------------------------------------------------------------------------------------------ the application

interface Call {
  callId: string;
  announcedAt: number;
  pipeline?: string;
  sipEp?: string;
  peer?: OpusPeer;
  answeredAt?: number;
  terminated: boolean;
  released: boolean;
}

interface EventValue {
  object?: string;
  type?: string;
  data?: Record<string, unknown>;
}

/** Claims every announced call and bridges it to an Opus RtpEndpoint. */
class GatewayApp {
  readonly calls = new Map<string, Call>();
  readonly #byEndpoint = new Map<string, Call>();
  readonly setupMs: number[] = [];
  bridged = 0;
  appFailures = 0;
  lastError = "";
  /** Claims and releases still running. */
  readonly #pending = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly rpc: RpcClient,
    readonly frame: Uint8Array,
  ) {
    rpc.ws.on("message", (data: Buffer) => {
      let m: { method?: string; params?: { value?: EventValue } };
      try {
        m = JSON.parse(data.toString("utf8")) as typeof m;
      } catch {
        return;
      }
      if (m.method === "onEvent" && m.params?.value !== undefined) {
        this.#onEvent(m.params.value);
      }
    });
    this.#timer = setInterval(() => {
      for (const c of this.calls.values()) {
        c.peer?.tick(this.frame);
      }
    }, 20);
  }

  get peers(): OpusPeer[] {
    return [...this.calls.values()].flatMap((c) => (c.peer !== undefined ? [c.peer] : []));
  }

  #onEvent(v: EventValue): void {
    if (v.type === "IncomingCall" && v.object === GATEWAY) {
      const raw = v.data?.["callId"];
      if (typeof raw !== "string" || raw === "") {
        return;
      }
      const callId = raw;
      const call: Call = { callId, announcedAt: performance.now(), terminated: false, released: false };
      this.calls.set(callId, call);
      this.#track(this.#claim(call));
    } else if (v.type === "CallStateChanged" && v.data?.["state"] === "TERMINATED" && v.object !== undefined) {
      const call = this.#byEndpoint.get(v.object);
      if (call !== undefined) {
        call.terminated = true;
        this.#track(this.#release(call));
      }
    }
  }

  #track(p: Promise<void>): void {
    this.#pending.add(p);
    void p.finally(() => this.#pending.delete(p));
  }

  async #value(method: string, params: Record<string, unknown>): Promise<unknown> {
    return this.rpc.value(method, params);
  }

  async #claim(call: Call): Promise<void> {
    try {
      call.pipeline = String(await this.#value("create", { type: "MediaPipeline", constructorParams: {} }));
      const sipEp = String(
        await this.#value("create", {
          type: "SipEndpoint",
          constructorParams: { mediaPipeline: call.pipeline, callId: call.callId },
        }),
      );
      call.sipEp = sipEp;
      this.#byEndpoint.set(sipEp, call);
      await this.#value("subscribe", { object: sipEp, type: "CallStateChanged" });
      const rtpEp = String(
        await this.#value("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: call.pipeline } }),
      );
      const peer = new OpusPeer();
      await peer.open();
      call.peer = peer;
      const answer = String(
        await this.#value("invoke", {
          object: rtpEp,
          operation: "processOffer",
          operationParams: { offer: peer.offer() },
        }),
      );
      const host = /^c=IN IP4 (\S+)/m.exec(answer)?.[1] ?? "127.0.0.1";
      const port = Number(/^m=audio (\d+)/m.exec(answer)?.[1] ?? "0");
      if (!/ 111\b/.test(/^m=audio .*$/m.exec(answer)?.[0] ?? "") || port === 0) {
        throw new Error(`RtpEndpoint answer without Opus: ${answer}`);
      }
      peer.remote = { host, port };
      for (const [source, sink] of [
        [sipEp, rtpEp],
        [rtpEp, sipEp],
      ] as const) {
        await this.#value("invoke", {
          object: source,
          operation: "connect",
          operationParams: { sink, mediaType: "AUDIO" },
        });
      }
      if (call.terminated) {
        return;
      }
      await this.#value("invoke", { object: sipEp, operation: "answer" });
      call.answeredAt = performance.now();
      this.setupMs.push(call.answeredAt - call.announcedAt);
      if (!call.terminated) {
        this.bridged++;
      }
    } catch (err) {
      this.appFailures++;
      this.lastError = err instanceof Error ? err.message : String(err);
      call.terminated = true;
      await this.#release(call);
    }
  }

  async #release(call: Call): Promise<void> {
    if (call.released) {
      return;
    }
    call.released = true;
    if (call.answeredAt !== undefined) {
      this.bridged--;
    }
    call.peer?.close();
    this.calls.delete(call.callId);
    if (call.sipEp !== undefined) {
      this.#byEndpoint.delete(call.sipEp);
    }
    if (call.pipeline !== undefined) {
      try {
        await this.#value("release", { object: call.pipeline });
      } catch {
        // already gone with its session
      }
    }
  }

  /** Inbound packets SIPp's pcap delivered to one bridged SipEndpoint, from the server's getStats. */
  async sipInbound(): Promise<{ endpoint: string; packets: number } | undefined> {
    const call = [...this.calls.values()].find((c) => c.answeredAt !== undefined && !c.terminated);
    if (call?.sipEp === undefined) {
      return undefined;
    }
    const stats = (await this.#value("invoke", {
      object: call.sipEp,
      operation: "getStats",
      operationParams: { mediaType: "AUDIO" },
    })) as Record<string, { type?: string; packetsReceived?: number }>;
    let packets = 0;
    for (const s of Object.values(stats)) {
      if (s.type === "inboundrtp") {
        packets += s.packetsReceived ?? 0;
      }
    }
    return { endpoint: call.sipEp, packets };
  }

  async drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while ((this.calls.size > 0 || this.#pending.size > 0) && Date.now() < deadline) {
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const c of [...this.calls.values()]) {
      await this.#release(c);
    }
  }
}

// ------------------------------------------------------------------------------------------ processes

interface Server {
  proc: ChildProcess;
  port: number;
  sipPort: number;
  dataDir: string;
  output: () => string;
  stop: () => Promise<void>;
}

const children = new Set<ChildProcess>();
const killAll = (): void => {
  for (const c of children) {
    c.kill("SIGKILL");
  }
};

function exited(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((r) => p.once("exit", () => r()));
}

async function startServer(dir: string): Promise<Server> {
  const port = await freeTcpPort();
  const sipPort = await freeUdpPort();
  const dataDir = join(dir, "data");
  const cfg = join(dir, "gateway.yaml");
  writeFileSync(
    cfg,
    [
      `server: { host: 127.0.0.1, port: ${port} }`,
      "media: { workers: 2 }",
      `rtp: { portMin: ${RTP_MIN}, portMax: ${RTP_MAX} }`,
      "webrtc: { interfaces: [127.0.0.1] }",
      "sip:",
      "  host: 127.0.0.1",
      `  port: ${sipPort}`,
      "  claimTimeoutMs: 10000",
      "  trunks: [{ name: bench, peers: [127.0.0.1], transport: udp, auth: ip, optionsIntervalS: 0 }]",
      "  dialplan: []",
      `data: { dir: ${dataDir} }`,
      "cdr: { enabled: true }",
      "log: { level: warn }",
      "",
    ].join("\n"),
  );
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith("KORUS_")) {
      delete env[k]; // the file is authoritative
    }
  }
  const proc = spawn(process.execPath, [MAIN_JS, "--config", cfg], { env, stdio: ["ignore", "pipe", "pipe"] });
  children.add(proc);
  proc.once("exit", () => children.delete(proc));
  let out = "";
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-16_384);
  };
  proc.stdout?.on("data", keep);
  proc.stderr?.on("data", keep);
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`korus exited during start-up:\n${out}`);
    }
    try {
      const r = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) });
      await r.arrayBuffer();
      if (r.ok) {
        break;
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      proc.kill("SIGKILL");
      throw new Error(`korus did not become healthy:\n${out}`);
    }
    await sleep(100);
  }
  return {
    proc,
    port,
    sipPort,
    dataDir,
    output: () => out,
    stop: async () => {
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited(proc);
      clearTimeout(t);
    },
  };
}

interface SippResult {
  code: number | null;
  successful: number;
  failed: number;
  output: string;
}

function startSipp(
  work: string,
  sipPort: number,
  target: string,
  n: number,
  calls: number,
  limitMs: number,
): { proc: ChildProcess; done: Promise<SippResult> } {
  const args = [
    "-sf",
    SCENARIO,
    target,
    "-s",
    "4930123",
    "-i",
    "127.0.0.1",
    "-p",
    String(sipPort),
    "-mi",
    "127.0.0.1",
    "-mp",
    String(SIPP_MEDIA_BASE),
    "-l",
    String(n),
    "-r",
    String(n),
    "-rp",
    "4000",
    "-m",
    String(calls),
    "-nostdin",
    "-timeout",
    `${Math.ceil(limitMs / 1000)}s`,
    "-max_socket",
    "4096",
  ];
  const proc = spawn("sipp", args, { cwd: work, stdio: ["ignore", "pipe", "pipe"] });
  children.add(proc);
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-65_536)));
  proc.stderr?.on("data", (d: Buffer) => (out = (out + d.toString()).slice(-65_536)));
  const hard = setTimeout(() => proc.kill("SIGKILL"), limitMs + 5000);
  const done = new Promise<SippResult>((resolve) => {
    proc.once("error", () => undefined);
    proc.once("close", (code) => {
      clearTimeout(hard);
      children.delete(proc);
      const num = (re: RegExp): number => {
        const m = re.exec(out);
        return m === null ? NaN : Number(m[1]);
      };
      resolve({
        code,
        successful: num(/Successful call\s+\|\s+\d+\s+\|\s+(\d+)/),
        failed: num(/Failed call\s+\|\s+\d+\s+\|\s+(\d+)/),
        output: out,
      });
    });
  });
  return { proc, done };
}

interface Cdr {
  callId: string | null;
  direction: string;
  disposition: string;
  media: {
    peerCodec: string | null;
    pipelineCodec: string | null;
    transcoded: boolean;
    rx: { packets: number; lost: number | null; jitterMs: number | null; maxJitterMs: number | null };
    tx: { packets: number };
    mos: number | null;
  };
}

function exportCdrs(dataDir: string): Cdr[] {
  const r = spawnSync(process.execPath, [CLI_JS, "cdr", "export", "--format", "jsonl", "--data-dir", dataDir], {
    encoding: "utf8",
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Cdr);
}

// ------------------------------------------------------------------------------------------ one level

async function level(
  work: string,
  server: Server,
  app: GatewayApp,
  n: number,
  holdS: number,
  announced: Set<string>,
): Promise<{ results: BenchResult[]; placed: number }> {
  const calls = 3 * n;
  const limitMs = 4000 + 3 * 9000 + 30_000;
  const setup0 = app.setupMs.length;
  const fail0 = app.appFailures;
  const sipp = startSipp(work, await freeUdpPort(), `127.0.0.1:${server.sipPort}`, n, calls, limitMs);
  let sippDone: SippResult | undefined;
  void sipp.done.then((r) => (sippDone = r));
  const t0 = performance.now();
  // Ramp: until n calls are bridged (or the ramp clearly stalls).
  let rampS = NaN;
  while (performance.now() - t0 < 20_000 && sippDone === undefined) {
    for (const c of app.calls.values()) {
      announced.add(c.callId);
    }
    if (app.bridged >= n) {
      rampS = (performance.now() - t0) / 1000;
      break;
    }
    await sleep(50);
  }
  // Steady window.
  const peers0 = new Set<OpusPeer>();
  const samples: number[] = [];
  const pid = server.proc.pid ?? 0;
  const cpu0 = cpuUs(pid);
  const w0 = performance.now();
  let sipInbound: { endpoint: string; packets: number } | undefined;
  let statsError = "";
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  stallLog.start();
  lateEvents.length = 0;
  while (performance.now() - w0 < holdS * 1000 && sippDone === undefined) {
    for (const c of app.calls.values()) {
      announced.add(c.callId);
      if (c.peer !== undefined && !c.peer.counting) {
        c.peer.counting = true;
        peers0.add(c.peer);
      }
    }
    samples.push(app.bridged);
    if (sipInbound === undefined && performance.now() - w0 > 3000) {
      try {
        sipInbound = await app.sipInbound();
      } catch (err) {
        statsError = err instanceof Error ? err.message : String(err);
        sipInbound = { endpoint: "?", packets: NaN };
      }
    }
    await sleep(200);
  }
  const windowUs = (performance.now() - w0) * 1000;
  const cpu = cpuUs(pid) - cpu0;
  loop.disable();
  stallLog.stop();
  const stallCount = stallLog.stalls.length;
  const lateGaps = lateEvents.map((e) => e.gapMs);
  const lateAt = lateEvents.map((e) => e.atS);
  const lateAtPcapEnd = lateAt.filter((t) => Math.abs(t - PCAP_END_S) < 0.4).length;
  const loopP99 = loop.percentile(99) / 1e6;
  const loopMax = loop.max / 1e6;
  for (const p of peers0) {
    p.counting = false;
  }
  const win: PeerStats = { received: 0, lost: 0, late: 0, lateWhileStalled: 0, pauses: 0, notOpus: 0 };
  for (const p of peers0) {
    win.received += p.windowStats.received;
    win.lost += p.windowStats.lost;
    win.late += p.windowStats.late;
    win.lateWhileStalled += p.windowStats.lateWhileStalled;
    win.pauses += p.windowStats.pauses;
    win.notOpus += p.windowStats.notOpus;
  }
  // Keep announcing until SIPp is done, then let the last calls end.
  while (sippDone === undefined) {
    for (const c of app.calls.values()) {
      announced.add(c.callId);
    }
    await sleep(100);
  }
  const r = await sipp.done;
  await app.drain(10_000);
  const meanBridged = samples.length > 0 ? samples.reduce((a, b) => a + b, 0) / samples.length : 0;
  const cpuPct = (cpu / windowUs) * 100;
  const perCall = cpuPct / Math.max(1, meanBridged);
  const setup = app.setupMs.slice(setup0);
  const totalS = (performance.now() - t0) / 1000;
  const lossPct = (win.lost / Math.max(1, win.received + win.lost)) * 100;
  const latePct = (win.late / Math.max(1, win.received)) * 100;
  const label = `gateway ${n} calls`;
  const results: BenchResult[] = [
    {
      name: `${label}: SIPp (-l ${n} -r ${n}/4 s -m ${calls}, PCMA pcap) → SipEndpoint ↔ RtpEndpoint (Opus)`,
      value: `${r.successful} ok, ${r.failed} failed, exit ${r.code}; app errors ${app.appFailures - fail0}${app.appFailures > fail0 ? ` (last: ${app.lastError})` : ""}`,
      unit: "",
    },
    {
      name: `${label}: server CPU per bridged call`,
      value: Math.round(perCall * 100) / 100,
      unit: `% of one core (server ${cpuPct.toFixed(0)}% over ${(windowUs / 1e6).toFixed(1)} s, mean ${meanBridged.toFixed(1)} bridged, min ${Math.min(...samples)}; ≈ ${Math.floor(100 / perCall)} calls per core)`,
    },
    {
      name: `${label}: call setup`,
      value: Number.isNaN(rampS)
        ? `${n} bridged calls not reached (max ${Math.max(0, ...samples)})`
        : (n / rampS).toFixed(1),
      unit: Number.isNaN(rampS)
        ? ""
        : `calls/s bridged over the ramp (${n} in ${rampS.toFixed(1)} s, SIPp offered ${n / 4}/s); ${setup.length} calls in ${totalS.toFixed(0)} s; IncomingCall → answered p50 ${pct(setup, 50).toFixed(0)} ms, p90 ${pct(setup, 90).toFixed(0)} ms`,
    },
    {
      name: `${label}: Opus peers, steady window`,
      value: `${win.received} received, ${win.lost} lost (${lossPct.toFixed(3)}%), ${win.late} late (${latePct.toFixed(3)}%; ${win.lateWhileStalled} of them while this process's event loop stalled, ${lateAtPcapEnd} where SIPp's PCMA stops at the end of the pcap, ${PCAP_END_S} s into the call), ${win.notOpus} not Opus`,
      unit: `(late: arrival gap > ${LATE_GAP_MS} ms; ${win.pauses} gaps > ${PAUSE_GAP_MS} ms counted apart; this process's event-loop delay p99 ${loopP99.toFixed(1)} ms, max ${loopMax.toFixed(1)} ms, ${stallCount} stalls > 15 ms; late gaps p50 ${pct(lateGaps, 50).toFixed(0)} ms, max ${Math.max(0, ...lateGaps).toFixed(0)} ms, at ${pct(lateAt, 10).toFixed(1)}/${pct(lateAt, 50).toFixed(1)}/${pct(lateAt, 90).toFixed(1)} s (p10/p50/p90) after the call's first Opus packet)`,
    },
    {
      name: `${label}: SIPp pcap RTP at Korus (getStats of ${sipInbound?.endpoint ?? "no bridged SipEndpoint"})`,
      value:
        sipInbound === undefined
          ? "not measured"
          : `${sipInbound.packets} inbound RTP packets${statsError === "" ? "" : ` (getStats failed: ${statsError})`}`,
      unit: "",
    },
  ];
  if (process.env["BENCH_GW_DEBUG"] === "1" && r.code !== 0) {
    console.error(r.output.slice(-4000));
  }
  return { results, placed: (r.successful || 0) + (r.failed || 0) };
}

// ------------------------------------------------------------------------------------------ run

export async function run(
  levels = (process.env["BENCH_GW_LEVELS"] ?? "25,50,100").split(",").map(Number),
  holdS = Number(process.env["BENCH_GW_HOLD_S"] ?? 15),
): Promise<BenchResult[]> {
  const work = mkdtempSync(join(tmpdir(), "korus-bench-gw-"));
  mkdirSync(join(work, "pcap"));
  for (const f of readdirSync(PCAP_DIR).filter((x) => x.endsWith(".pcap"))) {
    copyFileSync(join(PCAP_DIR, f), join(work, "pcap", f));
  }
  process.once("exit", killAll);
  const onSignal = (): void => {
    killAll();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const results: BenchResult[] = [];
  let server: Server | undefined;
  let rpc: RpcClient | undefined;
  let app: GatewayApp | undefined;
  try {
    server = await startServer(work);
    rpc = await RpcClient.open(`ws://127.0.0.1:${server.port}/kurento`);
    app = new GatewayApp(rpc, opusToneFrame());
    await rpc.value("subscribe", { object: GATEWAY, type: "IncomingCall" });
    const announced = new Set<string>();
    let placed = 0;
    for (const n of levels) {
      const l = await level(work, server, app, n, holdS, announced);
      results.push(...l.results);
      placed += l.placed;
    }
    // CDRs: one per SIP leg when it ends; the export opens the database read-only while the server runs.
    let cdrs: Cdr[] = [];
    const deadline = Date.now() + 10_000;
    do {
      cdrs = exportCdrs(server.dataDir).filter((c) => c.callId !== null && announced.has(c.callId));
      if (cdrs.length >= announced.size) {
        break;
      }
      await sleep(500);
    } while (Date.now() < deadline);
    const answered = cdrs.filter((c) => c.disposition === "ANSWERED");
    const rxPackets = answered.reduce((a, c) => a + c.media.rx.packets, 0);
    const rxLost = answered.reduce((a, c) => a + (c.media.rx.lost ?? 0), 0);
    const txPackets = answered.reduce((a, c) => a + c.media.tx.packets, 0);
    const jitter = answered.flatMap((c) => (c.media.rx.jitterMs !== null ? [c.media.rx.jitterMs] : []));
    const maxJitter = answered.flatMap((c) => (c.media.rx.maxJitterMs !== null ? [c.media.rx.maxJitterMs] : []));
    const mos = answered.flatMap((c) => (c.media.mos !== null ? [c.media.mos] : []));
    const codecs = new Set(answered.map((c) => `${c.media.peerCodec}/${c.media.pipelineCodec ?? "-"}`));
    results.push(
      {
        name: "gateway: CDRs of the benchmark's calls",
        value: `${cdrs.length} records for ${placed} calls SIPp placed (${announced.size} announced); ${
          cdrs.length >= placed && placed > 0 ? "no CDR lost" : `${placed - cdrs.length} missing`
        }`,
        unit: `(${answered.length} ANSWERED, ${cdrs.filter((c) => c.media.transcoded).length} marked transcoded)`,
      },
      {
        name: "gateway: CDR RTP of the PCMA legs (SIPp ↔ Korus)",
        value: `rx ${rxPackets} packets, ${rxLost} lost (${((rxLost / Math.max(1, rxPackets + rxLost)) * 100).toFixed(3)}%); tx ${txPackets} packets`,
        unit: `(per answered call: rx ${(rxPackets / Math.max(1, answered.length)).toFixed(0)}, tx ${(txPackets / Math.max(1, answered.length)).toFixed(0)}; rx jitter p50 ${pct(jitter, 50).toFixed(1)} ms, max jitter p50 ${pct(maxJitter, 50).toFixed(1)} ms / max ${Math.max(0, ...maxJitter).toFixed(1)} ms; MOS p50 ${pct(mos, 50).toFixed(2)}; codecs ${[...codecs].join(", ")})`,
      },
    );
  } finally {
    await app?.close();
    await rpc?.close();
    if (server !== undefined) {
      await server.stop();
    }
    killAll();
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    process.removeListener("exit", killAll);
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) {
    console.log(`${r.name}: ${r.value} ${r.unit}`);
  }
  process.exit(0);
}
