/**
 * The shared preamble of the SIP interop test files: a reserved port slot ({@link reserveRtpRange}), a set for the
 * file's child processes (SIPp, baresip, ffmpeg…), and a temporary folder, all released on the file's teardown
 * (children are killed), plus an allocator that hands out the slot's ports in order.
 */
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reserveRtpRange, type RtpRange } from "./ports.js";
import type { Teardownable } from "./server.js";

export interface InteropSlot {
  readonly range: RtpRange;
  /** Child processes to kill (SIGKILL) on teardown; runners add and remove them. */
  readonly children: Set<ChildProcess>;
  /** A temporary folder of this file's, removed on teardown. */
  readonly work: string;
  /** The next `step` ports of the slot (returns the first). @throws Error when the slot is exhausted. */
  readonly port: (step?: number) => number;
}

export async function interopSlot(t: Teardownable, name: string): Promise<InteropSlot> {
  const range = await reserveRtpRange();
  const children = new Set<ChildProcess>();
  const work = mkdtempSync(join(tmpdir(), `korus-${name}-`));
  t.teardown(() => {
    for (const c of children) {
      c.kill("SIGKILL");
    }
    range.release();
    rmSync(work, { recursive: true, force: true });
  });
  let next = range.min;
  return {
    range,
    children,
    work,
    port: (step = 1) => {
      const p = next;
      next += step;
      if (next > range.max) {
        throw new Error("reserved port slot exhausted");
      }
      return p;
    },
  };
}
