/**
 * SIP call rate (issue 3): SIPp places calls at a fixed rate towards Korus's UserAgent, which answers each call and
 * hangs it up itself after a short hold (no media). Reported: calls completed, failed calls, SIPp's retransmission
 * count, and Korus's CPU per call, next to the CPU per call of a SIPp UAS doing the same job in the same run
 * (SIPp talking to itself: `uas_answer_bye.xml`), as performance.md §10 suggests.
 *
 * Everything runs on 127.0.0.1 with ports picked by the kernel; the scenarios name only 127.0.0.1.
 */
import { spawn } from "node:child_process";
import { createSocket } from "node:dgram";
import { readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { UserAgent } from "../sip/ua/UserAgent.js";
import type { MediaHandler } from "../sip/ua/MediaHandler.js";

export interface BenchResult {
  name: string;
  value: number | string;
  unit: string;
}

const SCENARIOS = fileURLToPath(new URL("../../test/fixtures/sipp/", import.meta.url));
const TICK_US = 1_000_000 / 100;

const ANSWER = [
  "v=0",
  "o=korus 1 1 IN IP4 127.0.0.1",
  "s=Korus",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 40000 RTP/AVP 8 101",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=sendrecv",
  "",
].join("\r\n");

/** A media handler with a fixed answer: the bench measures signalling only. */
const staticMedia = (): MediaHandler => ({
  getOffer: () => ANSWER,
  setAnswer: () => undefined,
  processOffer: () => ANSWER,
  close: () => undefined,
});

function cpuUsOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface SippRun {
  code: number | null;
  successful: number;
  failed: number;
  retransmissions: number;
}

/** Runs a SIPp UAC to completion and reads its final statistics. */
async function runUac(target: string, rate: number, calls: number, timeoutS: number): Promise<SippRun> {
  const port = await freeUdpPort();
  const args = [
    "-sf",
    `${SCENARIOS}uac_wait_bye.xml`,
    target,
    "-s",
    "bench",
    "-i",
    "127.0.0.1",
    "-p",
    String(port),
    "-r",
    String(rate),
    "-m",
    String(calls),
    "-l",
    String(rate * 5),
    "-nostdin",
    "-timeout",
    `${timeoutS}s`,
    "-max_socket",
    "4096",
  ];
  const p = spawn("sipp", args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((r) => p.once("exit", r));
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    return m === null ? NaN : Number(m[1]);
  };
  // SIPp's final screen: "Successful call | <periodic> | <cumulative>", "Failed call | … | …", and per-message rows
  // whose third column counts retransmissions.
  let retransmissions = 0;
  for (const m of out.matchAll(
    /^\s*(?:INVITE|ACK|BYE|200|100|180)\b[^\n]*?(?:-->|<--)\s+(?:E-RTD\d\s+)?\d+\s+(\d+)/gm,
  )) {
    retransmissions += Number(m[1]);
  }
  return {
    code,
    successful: num(/Successful call\s+\|\s+\d+\s+\|\s+(\d+)/),
    failed: num(/Failed call\s+\|\s+\d+\s+\|\s+(\d+)/),
    retransmissions,
  };
}

/** Heap in use after a full garbage collection (exposes `gc` at run time; no command-line flag needed). */
function heapAfterGcMiB(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

/** Korus's UserAgent as the UAS: answer at once, BYE after `holdMs`. */
async function korusRun(rate: number, seconds: number, holdMs: number): Promise<BenchResult[]> {
  const ua = await UserAgent.listen({
    bindHost: "127.0.0.1",
    port: 0,
    createMediaHandler: staticMedia,
    sessionTimer: { enabled: false },
  });
  let answered = 0;
  ua.on("incomingCall", (session) => {
    session.answer().then(
      () => {
        answered++;
        setTimeout(() => session.hangup(), holdMs);
      },
      () => undefined,
    );
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const calls = rate * seconds;
  // Heap in the steady state (past Timer L's 32 s, when completed transactions leave as fast as new ones come),
  // once at two thirds of the run and once at its end: flat memory means the two agree.
  const heap: { at: number; mib: number }[] = [];
  const sample = (atS: number): NodeJS.Timeout =>
    setTimeout(() => heap.push({ at: answered, mib: heapAfterGcMiB() }), atS * 1000);
  const samples = seconds >= 45 ? [sample(Math.round((seconds * 2) / 3)), sample(seconds - 1)] : [];
  const uac = await runUac(`127.0.0.1:${ua.port}`, rate, calls, seconds + 60);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  samples.forEach(clearTimeout);
  const stats = ua.stats;
  await ua.close();
  const perCall = (cpu.user + cpu.system) / Math.max(1, uac.successful);
  return [
    {
      name: `sip calls: SIPp UAC → Korus UAS at ${rate} calls/s for ${seconds} s (answer, BYE after ${holdMs} ms)`,
      value: `${uac.successful} ok, ${uac.failed} failed, ${uac.retransmissions} retransmissions, exit ${uac.code}`,
      unit: "",
    },
    {
      name: "sip calls: completed per second of offered load",
      value: Math.round(uac.successful / seconds),
      unit: `calls/s (wall ${elapsed.toFixed(0)} s incl. the last calls' hold and SIPp's 2 s end pause)`,
    },
    {
      name: "sip calls: Korus CPU per call",
      value: Math.round(perCall),
      unit: `us (answered ${answered}; live sessions at end ${JSON.stringify(stats)})`,
    },
    {
      name: "sip calls: heap after GC in the steady state",
      value: heap.map((h) => `${h.mib.toFixed(1)} MiB after ${h.at} calls`).join(", ") || "not sampled (run < 45 s)",
      unit: "",
    },
  ];
}

/** Baseline: a SIPp UAS doing the same (answer, BYE after holdMs), its CPU per call. */
async function sippBaseline(
  rate: number,
  seconds: number,
  holdMs: number,
): Promise<{ results: BenchResult[]; perCallUs: number }> {
  const uasPort = await freeUdpPort();
  const uas = spawn(
    "sipp",
    [
      "-sf",
      `${SCENARIOS}uas_answer_bye.xml`,
      "-i",
      "127.0.0.1",
      "-p",
      String(uasPort),
      "-mi",
      "127.0.0.1",
      "-d",
      String(holdMs),
      "-nostdin",
      "-max_socket",
      "4096",
    ],
    { stdio: "ignore" },
  );
  await new Promise((r) => setTimeout(r, 500));
  const c0 = cpuUsOf(uas.pid ?? 0);
  const uac = await runUac(`127.0.0.1:${uasPort}`, rate, rate * seconds, seconds + 60);
  const used = cpuUsOf(uas.pid ?? 0) - c0;
  uas.kill("SIGKILL");
  const perCallUs = used / Math.max(1, uac.successful);
  return {
    perCallUs,
    results: [
      {
        name: `sip calls baseline: SIPp UAC → SIPp UAS at ${rate} calls/s for ${seconds} s`,
        value: `${uac.successful} ok, ${uac.failed} failed`,
        unit: "",
      },
      { name: "sip calls baseline: SIPp UAS CPU per call", value: Math.round(perCallUs), unit: "us" },
    ],
  };
}

export async function run(
  rate = Number(process.env["BENCH_SIP_RATE"] ?? 300),
  seconds = Number(process.env["BENCH_SIP_SECONDS"] ?? 60),
): Promise<BenchResult[]> {
  const hold = 500;
  const base = await sippBaseline(rate, Math.min(seconds, 20), hold);
  const korus = await korusRun(rate, seconds, hold);
  const korusPerCall = Number(korus[2]?.value ?? NaN);
  return [
    ...base.results,
    ...korus,
    {
      name: "sip calls: Korus CPU per call / SIPp UAS CPU per call",
      value: Math.round((korusPerCall / base.perCallUs) * 100) / 100,
      unit: "ratio",
    },
  ];
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) {
    console.log(`${r.name}: ${r.value} ${r.unit}`);
  }
}
