/**
 * Shared pieces of the SIP interop tests: running SIPp to completion with a hard time limit, and reading a
 * server's CDRs through the `korus cdr export` CLI (which works while the server runs).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { ROOT } from "./server.js";

export interface SippResult {
  code: number | null;
  /** stdout and stderr, interleaved. */
  output: string;
}

/**
 * Runs `sipp args… -nostdin` and resolves with its exit code and output; killed after `limitMs`. The child is in
 * `children` while it runs, so a test's teardown can kill whatever is left.
 */
export function runSipp(
  args: readonly string[],
  opts: { children: Set<ChildProcess>; cwd?: string; limitMs?: number },
): Promise<SippResult> {
  return new Promise((resolve) => {
    const child = spawn("sipp", [...args, "-nostdin"], { cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] });
    opts.children.add(child);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.limitMs ?? 40_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      opts.children.delete(child);
      resolve({ code, output });
    });
  });
}

/** Every CDR in `dataDir`, as `korus cdr export --format jsonl` prints them. */
export function exportCdrs<T>(dataDir: string): T[] {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", dataDir],
    { encoding: "utf8", timeout: 20_000 },
  );
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as T);
}
