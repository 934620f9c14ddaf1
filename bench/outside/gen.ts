/**
 * The external generator (bench/outside/rtpgen.c) as a child process: compiled once per run with `cc -O2` into a
 * temporary folder, then one process per measurement, driven by line commands on its stdin (see the C file).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const SOURCE = fileURLToPath(new URL("../../../bench/outside/rtpgen.c", import.meta.url));

/** Compiles the generator into `dir`; returns the binary's path. */
export function buildGenerator(dir: string): string {
  const bin = join(dir, "rtpgen");
  const r = spawnSync("cc", ["-O2", "-o", bin, SOURCE], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) {
    throw new Error(`cc rtpgen.c failed (is a C compiler installed? scripts/setup.sh --bench): ${r.stderr}`);
  }
  return bin;
}

/** The generator's figures over the measurement window. */
export interface GenResult {
  sent: number;
  received: number;
  late: number;
  /** Latency samples (every packet for passthrough, one per impulse for transcoding). */
  latN: number;
  p50Us: number;
  p99Us: number;
  maxUs: number;
  rxBytes: number;
  impulses: number;
  /** Of `received`: at the µ-law (transcoded, Opus → PCMU) and count-only (PCMU → Opus) receivers. */
  rxUlaw: number;
  rxCount: number;
  /** The generator's own CPU over the window (all of it, both directions). */
  genCpuUs: number;
  windowUs: number;
}

export type RxMode = "stamp" | "ulaw" | "count";

export interface TxFlow {
  sock: number;
  dstPort: number;
  pt: number;
  ssrc: number;
  payload: number;
  pps: number;
  stamp: boolean;
  impulse: number;
}

export class Generator {
  readonly proc: ChildProcess;
  readonly #lines: string[] = [];
  readonly #waiters: ((l: string) => void)[] = [];
  #exited = false;

  constructor(bin: string) {
    this.proc = spawn(bin, [], { stdio: ["pipe", "pipe", "inherit"] });
    this.proc.once("exit", () => {
      this.#exited = true;
      for (const w of this.#waiters.splice(0)) {
        w("");
      }
    });
    const rl = createInterface({ input: this.proc.stdout! });
    rl.on("line", (l) => {
      const w = this.#waiters.shift();
      if (w !== undefined) {
        w(l);
      } else {
        this.#lines.push(l);
      }
    });
  }

  #send(line: string): void {
    this.proc.stdin?.write(`${line}\n`);
  }

  /** The next line of output (timeout: the generator is killed and this rejects). */
  next(timeoutMs = 120_000): Promise<string> {
    const l = this.#lines.shift();
    if (l !== undefined) {
      return Promise.resolve(l);
    }
    if (this.#exited) {
      return Promise.reject(new Error("rtpgen exited"));
    }
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.kill();
        reject(new Error("rtpgen did not answer"));
      }, timeoutMs);
      this.#waiters.push((x) => {
        clearTimeout(t);
        if (this.#exited && x === "") {
          reject(new Error("rtpgen exited"));
        } else {
          resolve(x);
        }
      });
    });
  }

  async sockets(n: number): Promise<number[]> {
    this.#send(`sockets ${n}`);
    const l = await this.next();
    return l.split(" ").slice(1).map(Number);
  }

  payload(id: number, path: string): void {
    this.#send(`payload ${id} ${path}`);
  }

  tx(f: TxFlow): void {
    this.#send(
      `tx ${f.sock} ${f.dstPort} ${f.pt} ${f.ssrc >>> 0} ${f.payload} ${f.pps} ${f.stamp ? 1 : 0} ${f.impulse}`,
    );
  }

  rx(sock: number, mode: RxMode, partner = -1): void {
    this.#send(`rx ${sock} ${mode} ${partner}`);
  }

  /**
   * Runs: `onWindow(true)` when the measurement window opens, `onWindow(false)` when it closes (read the target's
   * CPU there), then resolves with the figures. `onStart` gets the generator's start time (CLOCK_MONOTONIC µs).
   */
  async run(
    warmMs: number,
    measureMs: number,
    onWindow: (open: boolean) => void,
    onStart?: (startUs: number) => void,
  ): Promise<GenResult> {
    this.#send(`run ${warmMs} ${measureMs}`);
    const timeout = warmMs + measureMs + 30_000;
    for (;;) {
      const l = await this.next(timeout);
      if (l === "measure") {
        onWindow(true);
      } else if (l === "end") {
        onWindow(false);
      } else if (l.startsWith("start ")) {
        onStart?.(Number(l.slice(6)));
      } else if (l.startsWith("{")) {
        return JSON.parse(l) as GenResult;
      }
    }
  }

  kill(): void {
    if (!this.#exited) {
      this.proc.kill("SIGKILL");
    }
  }
}
