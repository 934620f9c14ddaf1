/**
 * The process's open-file limit, for sizing connection limits (issue 9 §3: about 20 000 idle SIP/TCP connections
 * used up every descriptor, and then `/health` and RTP sockets failed). Linux only (`/proc/self/limits`); elsewhere
 * the limit is unknown and the configured values stand.
 */
import { readFileSync } from "node:fs";

/** The soft "Max open files" limit, or `undefined` when unknown or unlimited. */
export function openFileSoftLimit(limitsFile = "/proc/self/limits"): number | undefined {
  let text: string;
  try {
    text = readFileSync(limitsFile, "latin1");
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (m?.[1] === undefined || m[1] === "unlimited") {
    return undefined;
  }
  return Number(m[1]);
}

/**
 * The connection cap that keeps `reserve` descriptors free under the soft limit: `min(maxTotal, soft - reserve)`,
 * never below 1 (the listener must still serve something when the limit is tiny).
 */
export function connectionCap(maxTotal: number, reserve: number, softLimit = openFileSoftLimit()): number {
  return softLimit === undefined ? maxTotal : Math.max(1, Math.min(maxTotal, softLimit - reserve));
}
