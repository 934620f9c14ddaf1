/**
 * Starts a Korus server inside the test process (control plane in this process, media workers from the compiled
 * dist/ tree, which `npm test` builds first). Loopback only, port 0, a temp data dir; `stop()` in teardown.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { validateConfig, type KorusConfig } from "../../src/config/schema.js";
import { createRootLogger } from "../../src/logging/logger.js";
import { startServer, type RunningServer } from "../../src/main.js";
import { reserveRtpRange } from "./ports.js";

export const WORKER_SCRIPT = new URL("../../dist/media/mediaWorker.js", import.meta.url);

export interface TestServer extends RunningServer {
  url: string;
  logLines: string[];
}

export async function startTestServer(overrides: Record<string, Record<string, unknown>> = {}): Promise<TestServer> {
  const range = await reserveRtpRange();
  const dataDir = mkdtempSync(join(tmpdir(), "korus-test-"));
  const config: KorusConfig = validateConfig({
    server: { host: "127.0.0.1", port: 0, ...overrides["server"] },
    media: { workers: 2, ...overrides["media"] },
    rtp: { portMin: range.min, portMax: range.max, ...overrides["rtp"] },
    webrtc: { interfaces: ["127.0.0.1"], ...overrides["webrtc"] },
    data: { dir: dataDir },
    log: { level: "warn", ...overrides["log"] },
    kurento: { ...overrides["kurento"] },
    admin: { enabled: true, ...overrides["admin"] },
    // No SIP listener unless a test asks for one (the default would bind 0.0.0.0:5060).
    sip: { enabled: false, host: "127.0.0.1", ...overrides["sip"] },
    demo: { ...overrides["demo"] },
  });
  const logLines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb): void {
      logLines.push(chunk.toString("utf8"));
      cb();
    },
  });
  const server = await startServer(config, createRootLogger(config.log.level, sink), WORKER_SCRIPT);
  return {
    ...server,
    url: `ws://127.0.0.1:${server.port}/kurento`,
    logLines,
    stop: async () => {
      await server.stop();
      range.release();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
