/**
 * SIPp scenarios of issue 3 against the real Korus server (dist/, `npm run build` first), beyond those in
 * sipGateway.test.ts:
 * - CANCEL before answer: an application claims the call (Korus rings) but does not answer; SIPp's CANCEL gets 200
 *   and the INVITE 487, the SipEndpoint reports TERMINATED and the CDR says CANCELLED;
 * - session-timer refresh: SIPp (refresher=uac, Session-Expires 90) calls the echo extension; Korus's 200 carries
 *   Session-Expires with refresher=uac and Require: timer (SIPp checks both), SIPp refreshes by re-INVITE, Korus
 *   answers it, and the call ends with SIPp's BYE;
 * - a late ACK (test/fixtures/sipp/uac_late_ack.xml): Korus retransmits its 200 over UDP until the ACK arrives.
 * The scenarios name only 127.0.0.1; ports come from a reserved slot; children are killed on every path.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { reserveRtpRange } from "../helpers/ports.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { ROOT, startKorus, type KorusProcess } from "../helpers/server.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const range = await reserveRtpRange();
const children = new Set<ChildProcess>();
t.teardown(() => {
  for (const c of children) {
    c.kill("SIGKILL");
  }
  range.release();
});
let nextPort = range.min;
const port = (): number => nextPort++;

function sipp(args: string[], limitMs = 40_000): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("sipp", [...args, "-nostdin"], { stdio: ["ignore", "pipe", "pipe"] });
    children.add(child);
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code, output });
    });
  });
}

function cdrDisposition(k: KorusProcess, callId: string): string | undefined {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", join(k.dataDir, "data")],
    { encoding: "utf8", timeout: 20_000 },
  );
  for (const line of r.stdout.split("\n")) {
    if (line.trim() !== "") {
      const c = JSON.parse(line) as { callId: string | null; disposition: string };
      if (c.callId === callId) {
        return c.disposition;
      }
    }
  }
  return undefined;
}

const sipPort = port();
const k = await startKorus(undefined, {
  workers: 1,
  config: { sip: { port: sipPort, claimTimeoutMs: 5000, dialplan: [{ to: "^sips?:echo@", action: "echo" }] } },
});
t.teardown(() => k.stop());

t.test("SIPp CANCEL before answer: 200 for the CANCEL, 487 for the INVITE, TERMINATED, CANCELLED CDR", async (t) => {
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  await app.value("subscribe", { object: "korus_SipGateway", type: "IncomingCall" });
  const caller = sipp([
    "-sf",
    join(FIXTURES, "uac_cancel.xml"),
    `127.0.0.1:${sipPort}`,
    "-s",
    "4930777",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  const ev = await app.event((m) => (m.params?.["value"] as { type?: string } | undefined)?.type === "IncomingCall");
  const callId = String((ev.params?.["value"] as { data: Record<string, unknown> }).data["callId"]);
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  t.teardown(() => app.value("release", { object: pipeline }).catch(() => undefined));
  const ep = String(
    await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline, callId } }),
  );
  await app.value("subscribe", { object: ep, type: "CallStateChanged" });
  // Claimed, so Korus rings (180); nobody answers, and SIPp cancels.
  const r = await caller;
  t.equal(r.code, 0, "SIPp saw 180, then 200 (CANCEL) and 487 (INVITE), and ACKed");
  await app.event((m: RpcMessage) => {
    const v = m.params?.["value"] as { object?: string; type?: string; data?: { state?: string } } | undefined;
    return v?.object === ep && v.type === "CallStateChanged" && v.data?.state === "TERMINATED";
  });
  t.equal(await app.value("invoke", { object: ep, operation: "getCallState" }), "TERMINATED");
  let disposition: string | undefined;
  for (let i = 0; i < 50 && disposition === undefined; i++) {
    disposition = cdrDisposition(k, callId);
    await new Promise((res) => setTimeout(res, 200));
  }
  t.equal(disposition, "CANCELLED", "the CDR says CANCELLED");
});

t.test("SIPp session-timer refresh (refresher=uac) against the echo extension", async (t) => {
  const r = await sipp([
    "-sf",
    join(FIXTURES, "uac_session_timer.xml"),
    `127.0.0.1:${sipPort}`,
    "-s",
    "echo",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-d",
    "1500",
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  t.equal(r.code, 0, "Session-Expires/refresher and Require: timer checked by SIPp; the refresh re-INVITE answered");
});

t.test("SIPp acknowledges late: Korus retransmits its 200 over UDP until the ACK", async (t) => {
  const r = await sipp([
    "-sf",
    join(FIXTURES, "uac_late_ack.xml"),
    `127.0.0.1:${sipPort}`,
    "-s",
    "echo",
    "-i",
    "127.0.0.1",
    "-p",
    String(port()),
    "-m",
    "1",
    "-timeout",
    "30s",
  ]);
  t.equal(r.code, 0, "the call completes");
  // The statistics row of the first 200: "200 <----------  E-RTD1 1  <retrans> …".
  const row = /^\s*200 <-+\s+(?:E-RTD\d\s+)?(\d+)\s+(\d+)/m.exec(r.output);
  t.ok(row !== null, "SIPp printed the 200 row");
  t.ok(Number(row?.[2] ?? 0) >= 1, `the 200 was retransmitted while the ACK was missing (${row?.[2] ?? "?"} times)`);
});
