/**
 * Starts the BUILT Korus server (`dist/src/main.js`, run `npm run build` first) as a child process for
 * integration tests, with a temporary YAML configuration:
 *
 * - `server.host` 127.0.0.1 on a free port (picked by binding port 0; retried when the race is lost);
 * - an RTP range of its own ({@link reserveRtpRange}), `webrtc.interfaces: [127.0.0.1]`;
 * - a temporary `data.dir`, `admin.enabled: true`, `media.workers: 2`, `log.level: warn` unless overridden.
 *
 * The server is stopped on `t.teardown` when a test is given, and killed (SIGKILL) if the test process exits
 * first. Its stdout/stderr are kept (last 256 KiB) for diagnostics: {@link KorusProcess.output}; set
 * `KORUS_TEST_LOG=1` to mirror them to this process's stderr.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { freeTcpPort, reserveRtpRange, type RtpRange } from "./ports.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const MAIN_JS = path.join(ROOT, "dist/src/main.js");

export interface StartOptions {
  workers?: number;
  logLevel?: string;
  gcPeriodMs?: number;
  flowTimeoutMs?: number;
  /**
   * Extra configuration merged over the generated one (top-level sections are merged one level deep; a top-level
   * list such as `modules` replaces the generated value).
   */
  config?: Record<string, Record<string, unknown> | unknown[]>;
  /** Time allowed for /health to answer 200, in ms. */
  startTimeoutMs?: number;
}

export interface KorusProcess {
  /** ws://127.0.0.1:<port>/kurento */
  url: string;
  port: number;
  /** http://127.0.0.1:<port> */
  httpUrl: string;
  rtp: { min: number; max: number };
  dataDir: string;
  configFile: string;
  pid: number;
  /** Exit code / signal once the process has exited. */
  readonly exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** The collected stdout + stderr (JSON log lines). */
  output: () => string;
  /** SIGTERM, then waits for the exit (SIGKILL after `graceMs`). Resolves with the exit code. Idempotent. */
  stop: (graceMs?: number) => Promise<number | null>;
  /** SIGKILL and wait for the exit. */
  kill9: () => Promise<void>;
}

/** The part of a tap Test this helper needs. */
export interface Teardownable {
  teardown(fn: () => unknown): void;
}

const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const c of live) {
    c.kill("SIGKILL");
  }
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitHealthy(
  httpUrl: string,
  child: ChildProcess,
  timeoutMs: number,
  out: () => string,
  token = "",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`korus exited during start-up (code ${child.exitCode}, signal ${child.signalCode}):\n${out()}`);
    }
    try {
      const res = await fetch(`${httpUrl}/health`, {
        signal: AbortSignal.timeout(1000),
        headers: token === "" ? {} : { authorization: `Bearer ${token}` },
      });
      await res.arrayBuffer();
      if (res.status === 200) {
        return;
      }
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      throw new Error(`korus did not become healthy within ${timeoutMs} ms:\n${out()}`);
    }
    await sleep(50);
  }
}

function waitExit(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

async function launchOnce(rtp: RtpRange, dataDir: string, opts: StartOptions): Promise<KorusProcess> {
  const port = await freeTcpPort();
  const cfg: Record<string, Record<string, unknown> | unknown[]> = {
    server: { host: "127.0.0.1", port },
    kurento: { gcPeriodMs: opts.gcPeriodMs ?? 240_000 },
    media: { workers: opts.workers ?? 2, flowTimeoutMs: opts.flowTimeoutMs ?? 2000 },
    rtp: { portMin: rtp.min, portMax: rtp.max },
    webrtc: { interfaces: ["127.0.0.1"] },
    sip: { host: "127.0.0.1", port: await freeTcpPort() },
    data: { dir: path.join(dataDir, "data") },
    log: { level: opts.logLevel ?? "warn" },
    admin: { enabled: true },
  };
  for (const [section, values] of Object.entries(opts.config ?? {})) {
    cfg[section] = Array.isArray(values) ? values : { ...cfg[section], ...values };
  }
  const configFile = path.join(dataDir, "korus.yaml");
  writeFileSync(configFile, stringify(cfg));
  const env = { ...process.env };
  for (const k of Object.keys(env)) {
    if (k.startsWith("KORUS_")) {
      delete env[k]; // The environment overrides the file: keep the test's configuration authoritative.
    }
  }
  const child = spawn(process.execPath, [MAIN_JS, "--config", configFile], {
    cwd: dataDir,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let buf = "";
  const mirror = process.env["KORUS_TEST_LOG"] === "1";
  const collect = (d: Buffer): void => {
    buf += d.toString("utf8");
    if (buf.length > 512 * 1024) {
      buf = buf.slice(-256 * 1024);
    }
    if (mirror) {
      process.stderr.write(d);
    }
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  let exited: KorusProcess["exited"];
  child.once("exit", (code, signal) => {
    exited = { code, signal };
    live.delete(child);
  });
  const httpUrl = `http://127.0.0.1:${port}`;
  try {
    const metrics = cfg["metrics"];
    const token = !Array.isArray(metrics) && typeof metrics?.["token"] === "string" ? metrics["token"] : "";
    await waitHealthy(httpUrl, child, opts.startTimeoutMs ?? 20_000, () => buf, token);
  } catch (err) {
    child.kill("SIGKILL");
    await waitExit(child);
    throw err;
  }
  let stopping: Promise<number | null> | undefined;
  return {
    url: `ws://127.0.0.1:${port}/kurento`,
    port,
    httpUrl,
    rtp: { min: rtp.min, max: rtp.max },
    dataDir,
    configFile,
    pid: child.pid ?? -1,
    get exited() {
      return exited;
    },
    output: () => buf,
    stop: (graceMs = 10_000) => {
      stopping ??= (async () => {
        if (exited === undefined) {
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await waitExit(child);
          clearTimeout(timer);
        }
        return child.exitCode;
      })();
      return stopping;
    },
    kill9: async () => {
      child.kill("SIGKILL");
      await waitExit(child);
    },
  };
}

/**
 * Starts Korus and waits until `/health` answers 200. With `t`, stops it (and frees its RTP slot and temp dir)
 * on the test's teardown.
 */
export async function startKorus(t?: Teardownable, opts: StartOptions = {}): Promise<KorusProcess> {
  if (!existsSync(MAIN_JS)) {
    throw new Error(`${MAIN_JS} is missing: run \`npm run build\` first`);
  }
  const rtp = await reserveRtpRange();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "korus-test-"));
  const cleanup = (): void => {
    rtp.release();
    rmSync(dataDir, { recursive: true, force: true });
  };
  let server: KorusProcess | undefined;
  let lastErr: unknown;
  for (let attempt = 0; attempt < 3 && server === undefined; attempt++) {
    try {
      server = await launchOnce(rtp, dataDir, opts);
    } catch (err) {
      lastErr = err;
      if (!String(err).includes("EADDRINUSE")) {
        break;
      }
    }
  }
  if (server === undefined) {
    cleanup();
    throw lastErr instanceof Error ? lastErr : new Error(String(lastErr));
  }
  const s = server;
  const stop = s.stop;
  let cleaned = false;
  s.stop = async (graceMs?: number) => {
    const code = await stop(graceMs);
    if (!cleaned) {
      cleaned = true;
      cleanup();
    }
    return code;
  };
  t?.teardown(() => s.stop());
  return s;
}

/** GET/POST helper for the admin and health routes. */
export async function httpJson(
  url: string,
  method: "GET" | "POST" = "GET",
): Promise<{ status: number; body: unknown }> {
  const res = await fetch(url, { method, signal: AbortSignal.timeout(10_000) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: keep the text.
  }
  return { status: res.status, body };
}
