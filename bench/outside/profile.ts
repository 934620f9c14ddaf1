/**
 * Sums the self time of a V8 .cpuprofile (as `--profile DIR` of bench/outside/run.ts writes them, one per thread)
 * by function, for docs/benchmarks.md's "Where the time goes":
 *
 *   node dist/bench/outside/profile.js FILE.cpuprofile [--top 25] [--per N]
 *
 * `--per N` also prints each function's self time divided by N (e.g. the packets forwarded while profiling), in µs.
 * Functions are keyed by name and file:line; "(program)" is time in native code outside JS (libuv, the kernel),
 * "(garbage collector)" the GC, "(idle)" the event loop waiting.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { pathToFileURL } from "node:url";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  us: number;
}

/** Self time per function (µs), largest first, and the profile's total and idle time. */
export function selfTimes(p: CpuProfile): { rows: SelfTime[]; totalUs: number; idleUs: number } {
  const key = new Map<number, string>();
  for (const n of p.nodes) {
    const f = n.callFrame;
    const where = f.url === "" ? "" : ` ${basename(f.url)}:${f.lineNumber + 1}`;
    key.set(n.id, `${f.functionName === "" ? "(anonymous)" : f.functionName}${where}`);
  }
  const us = new Map<string, number>();
  let total = 0;
  // timeDeltas[i] is the time before sample i; attribute it to the sample that follows it (V8's own convention).
  for (let i = 0; i < p.samples.length; i++) {
    const k = key.get(p.samples[i] ?? -1) ?? "?";
    const d = Math.max(0, p.timeDeltas[i + 1] ?? 0);
    us.set(k, (us.get(k) ?? 0) + d);
    total += d;
  }
  const idleUs = us.get("(idle)") ?? 0;
  const rows = [...us].map(([name, t]) => ({ name, us: t })).sort((a, b) => b.us - a.us);
  return { rows, totalUs: total, idleUs };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const opt = (name: string): number | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args.splice(i, 2)[1]) : undefined;
  };
  const top = opt("--top") ?? 25;
  const per = opt("--per");
  for (const file of args) {
    const { rows, totalUs, idleUs } = selfTimes(JSON.parse(readFileSync(file, "utf8")) as CpuProfile);
    const busy = totalUs - idleUs;
    console.log(`${basename(file)}: ${(totalUs / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(2)} s busy`);
    for (const r of rows.filter((x) => x.name !== "(idle)").slice(0, top)) {
      const share = ((r.us / Math.max(1, busy)) * 100).toFixed(1).padStart(5);
      const perUs = per === undefined ? "" : ` ${(r.us / per).toFixed(2).padStart(7)} µs`;
      console.log(`  ${share} %${perUs}  ${r.name}`);
    }
  }
}
