/**
 * Issue 16 §1 benchmark: what the Prometheus metrics cost.
 *
 * 1. **Forwarding cost per packet, metrics on vs off, in one run**: two servers of this tree side by side, one with
 *    `metrics.enabled: true` and scraped once a second during the window (as Prometheus would, more often than its
 *    usual 15 s), one with `metrics.enabled: false`; the PCMU forwarding scenario of run.ts, the two alternating
 *    within every round. Target: the two differ by at most 2 %. (The RTP counters are plain field increments that
 *    run in both, chosen at construction; a tree without them is compared with run.ts `--baseline`.)
 * 2. **Scrape time with N live calls** (default 500): N pipelines of two connected RtpEndpoints made through the
 *    control plane, then `/metrics` fetched 20 times; p50 and max. Target: < 50 ms.
 *
 *   node dist/bench/outside/metrics.js [--rounds N] [--seconds S] [--calls N] [--scrape-calls N]
 */
import { arg, isMain, printReport } from "./cli.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildGenerator } from "./gen.js";
import { opusSpeech, pcmuSpeech, tone, vp8 } from "./payloads.js";
import { deliveredPercent, measure, perPacketUs, type Payloads, type Sample } from "./run.js";
import { KorusTarget } from "./targets.js";

export interface MetricsBenchOptions {
  rounds?: number;
  seconds?: number;
  /** Calls of the forwarding scenario. */
  calls?: number;
  /** Live calls during the scrape-time measurement. */
  scrapeCalls?: number;
}

const ON = "Korus (metrics on, scraped 1/s)";
const OFF = "Korus (metrics off)";

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : (s[(s.length - 1) >> 1]! + s[s.length >> 1]!) / 2;
};

async function scrapeMs(port: number): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  await res.text();
  if (!res.ok) {
    throw new Error(`/metrics answered ${res.status}`);
  }
  return performance.now() - t0;
}

export async function runMetricsBench(opts: MetricsBenchOptions = {}): Promise<string> {
  const o = { rounds: 3, seconds: 4, calls: 100, scrapeCalls: 500, ...opts };
  const dir = mkdtempSync(join(tmpdir(), "korus-metrics-bench-"));
  const targets: KorusTarget[] = [];
  try {
    const bin = buildGenerator(dir);
    const files: Payloads = {
      pcmu: pcmuSpeech(dir),
      opus: opusSpeech(dir),
      vp8: vp8(dir),
      tonePcmu: tone(dir, "PCMU"),
      toneOpus: tone(dir, "opus"),
    };
    const base = 17500 + (process.pid % 200);
    const on = await KorusTarget.start(undefined, undefined, {
      name: ON,
      extra: ["metrics: { enabled: true }"],
      port: base,
      rtpPorts: [38000, 43999],
    });
    targets.push(on);
    const off = await KorusTarget.start(undefined, undefined, {
      name: OFF,
      extra: ["metrics: { enabled: false }"],
      port: base + 1,
      rtpPorts: [44000, 45999],
    });
    targets.push(off);

    // 1. forwarding cost, alternating the two within every round
    const samples: Sample[] = [];
    for (let r = 0; r < o.rounds; r++) {
      for (const t of r % 2 === 0 ? [on, off] : [off, on]) {
        const scraper =
          t === on ? setInterval(() => void scrapeMs(on.server.port).catch(() => undefined), 1000) : undefined;
        try {
          samples.push(
            await measure(bin, t, { kind: "forward", calls: o.calls }, files, "speech", 1000, o.seconds * 1000),
          );
        } finally {
          clearInterval(scraper);
        }
      }
    }
    const cost = (name: string): number => median(samples.filter((x) => x.target === name).map(perPacketUs));
    const delivered = (name: string): string =>
      samples
        .filter((x) => x.target === name)
        .map((x) => deliveredPercent(x).toFixed(1))
        .join(" / ");
    const diff = ((cost(ON) - cost(OFF)) / cost(OFF)) * 100;

    // 2. scrape time with live calls (no media needed: the elements, pipelines and legs are what a scrape walks)
    const ports = Array.from({ length: 2 * o.scrapeCalls }, (_, i) => 30000 + i);
    await on.setup({ kind: "forward", calls: o.scrapeCalls }, ports);
    await scrapeMs(on.server.port); // the first scrape pays for lazy initialisation
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      times.push(await scrapeMs(on.server.port));
    }
    await on.teardown();

    return [
      `Forwarding, ${o.calls} PCMU calls, ${o.rounds} rounds of ${o.seconds} s (median CPU per delivered packet):`,
      `  ${ON}: ${cost(ON).toFixed(2)} µs (delivered ${delivered(ON)} %)`,
      `  ${OFF}: ${cost(OFF).toFixed(2)} µs (delivered ${delivered(OFF)} %)`,
      `  difference: ${diff >= 0 ? "+" : ""}${diff.toFixed(1)} % (target: within ±2 %)`,
      `Scrape time with ${o.scrapeCalls} live calls (${2 * o.scrapeCalls} RtpEndpoints), 20 scrapes: ` +
        `p50 ${median(times).toFixed(1)} ms, max ${Math.max(...times).toFixed(1)} ms (target: < 50 ms)`,
    ].join("\n");
  } finally {
    for (const t of targets) {
      await t.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (isMain(import.meta.url)) {
  const opts: MetricsBenchOptions = {};
  for (const [flag, key] of [
    ["--rounds", "rounds"],
    ["--seconds", "seconds"],
    ["--calls", "calls"],
    ["--scrape-calls", "scrapeCalls"],
  ] as const) {
    const v = arg(flag) === undefined ? undefined : Number(arg(flag));
    if (v !== undefined) {
      opts[key] = v;
    }
  }
  printReport(runMetricsBench(opts));
}
