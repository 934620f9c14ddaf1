/**
 * SIP calls when things go wrong, against the real server (dist/) and SIPp (uac_wait_bye.xml: INVITE, ACK, then it
 * waits for our BYE):
 * - a media worker dies under an echo call: the caller gets BYE with Reason Q.850 cause 41, the CDR says ANSWERED,
 *   hangup side "system", end reason "worker-died";
 * - SIGTERM with a call up: the caller gets BYE before the server exits, and the CDR is committed ("shutdown").
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { interopSlot } from "../helpers/slot.js";
import { ROOT, startKorus } from "../helpers/server.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const CLI_JS = join(ROOT, "dist/src/cli.js");
const { children, work, port } = await interopSlot(t, "sipfail");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIPp uac_wait_bye.xml towards the echo extension, with its message trace in its own folder. */
function waitByeCall(sipPort: number, dir: string): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(
      "sipp",
      [
        "-sf",
        join(FIXTURES, "uac_wait_bye.xml"),
        `127.0.0.1:${sipPort}`,
        "-s",
        "echo",
        "-i",
        "127.0.0.1",
        "-p",
        String(port()),
        "-mi",
        "127.0.0.1",
        "-mp",
        String(port(4)),
        "-m",
        "1",
        "-timeout",
        "30s",
        "-trace_msg",
        "-nostdin",
      ],
      { cwd: dir, stdio: "ignore" },
    );
    children.add(child);
    const timer = setTimeout(() => child.kill("SIGKILL"), 40_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve(code);
    });
  });
}

function trace(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith("_messages.log"))
    .map((f) => readFileSync(join(dir, f), "utf8"))
    .join("\n");
}

interface Cdr {
  to: string | null;
  disposition: string;
  hangupSide: string;
  endReason: string | null;
  q850Cause: number | null;
}

function cdrs(dataDir: string): Cdr[] {
  const r = spawnSync(process.execPath, [CLI_JS, "cdr", "export", "--format", "jsonl", "--data-dir", dataDir], {
    encoding: "utf8",
    timeout: 20_000,
  });
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Cdr);
}

t.test("a media worker dies under a call: BYE with Reason Q.850 cause 41 and a CDR", async (t) => {
  const sipPort = port();
  const k = await startKorus(undefined, { workers: 1, config: { sip: { port: sipPort } } });
  t.teardown(() => k.stop());
  const dir = mkdtempSync(join(work, "death-"));
  const call = waitByeCall(sipPort, dir);
  await sleep(1500);
  const res = await fetch(`${k.httpUrl}/admin/workers/0/kill`, { method: "POST" });
  t.equal(res.status, 200, "worker 0 killed");
  t.equal(await call, 0, "SIPp got a BYE and answered it");
  t.match(trace(dir), /BYE sip:[\s\S]*Reason: Q\.850;cause=41/, "the BYE carries cause 41");
  await sleep(300);
  const cdr = cdrs(join(k.dataDir, "data")).find((c) => c.to?.startsWith("sip:echo@") === true);
  t.ok(cdr !== undefined, "CDR written");
  t.equal(cdr?.disposition, "ANSWERED");
  t.equal(cdr?.hangupSide, "system");
  t.equal(cdr?.endReason, "worker-died");
  t.equal(cdr?.q850Cause, 41);
});

t.test("SIGTERM with a call up: BYE before exit, CDR committed", async (t) => {
  const sipPort = port();
  // The helper removes its own data dir on stop: keep the CDR database outside it.
  const dataDir = join(work, "term-data");
  const k = await startKorus(undefined, { workers: 1, config: { sip: { port: sipPort }, data: { dir: dataDir } } });
  const dir = mkdtempSync(join(work, "term-"));
  const call = waitByeCall(sipPort, dir);
  await sleep(1500);
  t.equal(await k.stop(), 0, "the server exits 0");
  t.equal(await call, 0, "SIPp got a BYE and answered it");
  t.match(trace(dir), /BYE sip:/);
  const cdr = cdrs(dataDir).find((c) => c.to?.startsWith("sip:echo@") === true);
  t.equal(cdr?.disposition, "ANSWERED");
  t.equal(cdr?.endReason, "shutdown");
  t.equal(cdr?.hangupSide, "system");
});
