/**
 * A process's resources as /proc reports them, over all its threads: CPU time and resident memory. Used by the
 * benchmarks and by the tests that bound a server's memory (tests may import bench/lib, never the reverse).
 */
import { readFileSync } from "node:fs";

const TICK_US = 1_000_000 / 100; // USER_HZ

/** CPU time (µs) of a process, all its threads, from /proc. */
export function cpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}

/** User-mode CPU time (µs) of a process, all its threads (the rest of {@link cpuUs} is the kernel's). */
export function userCpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ") ?? [];
  return Number(f[11]) * TICK_US;
}

/** Resident memory of a process in KiB (NaN when /proc has no VmRSS line). */
export function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN);
}
