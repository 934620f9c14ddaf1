/**
 * Interop with SIPp 3.6.1 (Debian sip-tester) over real UDP on 127.0.0.1, inside `unshare -n` so the fixed ports
 * (5070 Korus, 5071 SIPp) cannot collide with anything else on the machine. The runner (sip/sippRunner.ts) holds
 * the Korus UserAgent and starts SIPp itself; this file checks SIPp's exit code and Korus's view of every call.
 */

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import t from "tap";

const LOADER = new URL("../../node_modules/@tapjs/typescript/dist/esm/import.mjs", import.meta.url).href;
const RUNNER = fileURLToPath(new URL("./sip/sippRunner.ts", import.meta.url));

interface Result {
  readonly sippCode: number;
  readonly sippErr: string;
  readonly ended: number;
  readonly endings: Record<string, number>;
  readonly stats: Record<string, number>;
}

/** Runs the runner in a fresh network namespace; kills it by PID on timeout. */
function run(mode: "uas" | "uac", calls: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      "unshare",
      ["-n", "sh", "-c", `ip link set lo up && exec node --import=${LOADER} ${RUNNER} ${mode} ${calls}`],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 110000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      const line = out.trim().split("\n").at(-1) ?? "";
      try {
        resolve(JSON.parse(line) as Result);
      } catch {
        reject(new Error(`runner exited ${String(code)} without a result: ${out.slice(-500)} ${err.slice(-1500)}`));
      }
    });
  });
}

const hasSipp = await new Promise<boolean>((resolve) => {
  const p = spawn("sipp", ["-v"], { stdio: "ignore" });
  p.on("error", () => resolve(false));
  p.on("exit", () => resolve(true));
});

t.test(
  "SIPp uac → Korus UAS: 10 calls answered, SIPp hangs up each with BYE",
  { skip: !hasSipp && "sipp missing", timeout: 120000 },
  async (t) => {
    const r = await run("uas", 10);
    t.equal(r.sippCode, 0, `SIPp reports every call successful ${r.sippErr}`);
    t.equal(r.ended, 10);
    t.same(r.endings, { "200 remote BYE 16": 10 }, "each call answered and ended by SIPp's BYE (no Reason: cause 16)");
    t.same(r.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
  },
);

t.test(
  "Korus UAC → SIPp uas: 5 calls, Korus hangs up each with BYE",
  { skip: !hasSipp && "sipp missing", timeout: 120000 },
  async (t) => {
    const r = await run("uac", 5);
    t.equal(r.sippCode, 0, `SIPp reports every call successful ${r.sippErr}`);
    t.equal(r.ended, 5);
    t.same(r.endings, { "200 local BYE 16": 5 }, "each call answered by SIPp and ended by our BYE");
    t.same(r.stats, { sessions: 0, dialogs: 0, serverTransactions: 0, clientTransactions: 0, pending: 0 });
  },
);
