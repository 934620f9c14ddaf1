/**
 * A committed CDR survives `kill -9` of the process (issue 5 §5 storage; SqliteCdrStore durability).
 *
 * For synchronous=normal and =full, a child process runs the real CdrService (from dist/, so run `npm run build`
 * first) with a webhook sink whose receiver is down, records N calls through its CdrRecorder, prints each record
 * id after `ended()` returned (the commit is done by then), keeps recording, and is killed with SIGKILL
 * mid-stream. The parent then reopens
 * the database: every printed record is there and equal to what the child reported, the database passes
 * `PRAGMA integrity_check`, and every stored record has a pending webhook spool row.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import Database from "better-sqlite3";
import t from "tap";
import { CDR_DB_FILE, SqliteCdrStore } from "../../src/cdr/SqliteCdrStore.js";
import { freeTcpPort } from "../helpers/ports.js";

const ROOT = new URL("../../", import.meta.url);
const DIST_CDR = pathToFileURL(join(ROOT.pathname, "dist/src/cdr/index.js")).href;
const N = 200;

const CHILD = `
import { CdrService, CdrDirection, HangupSide } from ${JSON.stringify(DIST_CDR)};
const [dataDir, webhookUrl, n, synchronous] = process.argv.slice(2);
const log = { info() {}, warn() {}, error(o, m) { process.stderr.write(m + "\\n"); } };
const svc = new CdrService({ dataDir, synchronous, postgresUrl: "", postgresTable: "korus_cdr",
  webhookUrl, webhookTimeoutMs: 1000, retryMinMs: 60000, retryMaxMs: 60000 }, log);
let i = 0;
function call() {
  const leg = "leg-" + i;
  svc.recorder.started(leg, { direction: CdrDirection.Inbound, callId: "c" + i + "@kill9", from: "<sip:+1555" + i + "@a>" });
  svc.recorder.ringing(leg);
  svc.recorder.media(leg, { peerCodec: "PCMA", pipelineCodec: "PCMA" });
  svc.recorder.answered(leg);
  const r = svc.recorder.ended(leg, { hangupSide: HangupSide.Remote, endReason: "bye",
    stats: { rx: { packets: 100 + i, lost: 0, jitterMs: 1, maxJitterMs: 2 }, tx: { packets: 100, lost: 0 } } });
  process.stdout.write("committed " + r.recordId + " " + r.callId + "\\n");
  if (++i === Number(n)) process.stdout.write("done\\n");
  setImmediate(call);
}
call();
`;

for (const sync of ["normal", "full"]) {
  t.test(`synchronous=${sync}: records committed before SIGKILL are all present after restart`, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "korus-cdr-kill9-"));
    const script = join(dir, "child.mjs");
    writeFileSync(script, CHILD);
    const deadPort = await freeTcpPort(); // nothing listens there: the webhook is down
    const dataDir = join(dir, "data");
    let child: ChildProcess | null = spawn(
      process.execPath,
      [script, dataDir, `http://127.0.0.1:${deadPort}/cdr`, String(N), sync],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const stderr: string[] = [];
    child.stderr!.on("data", (b: Buffer) => stderr.push(b.toString()));
    t.teardown(() => {
      child?.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    });

    const reported = new Map<string, string>();
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child!.once("exit", (_code, sig) => resolve(sig)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child did not report ${N} records: ${stderr.join("")}`)),
        30_000,
      );
      let afterDone = -1;
      const rl = createInterface({ input: child!.stdout! });
      rl.on("line", (line) => {
        const m = /^committed (\S+) (\S+)$/.exec(line);
        if (m) {
          reported.set(m[1]!, m[2]!);
          if (afterDone >= 0 && ++afterDone === 25) {
            // Kill while the child is still writing records.
            child!.kill("SIGKILL");
            clearTimeout(timer);
            resolve();
          }
        } else if (line === "done") {
          afterDone = 0;
        }
      });
      child!.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    t.equal(await exited, "SIGKILL", "child died by SIGKILL");
    child = null;
    t.ok(reported.size >= N + 25, `child reported ${reported.size} committed records`);

    const raw = new Database(join(dataDir, CDR_DB_FILE));
    t.equal(raw.pragma("integrity_check", { simple: true }), "ok", "database intact");
    raw.close();
    const store = SqliteCdrStore.open(dataDir, { sinks: ["webhook"] });
    t.teardown(() => store.close());
    const missing = [...reported.keys()].filter((id) => store.get(id) === null);
    t.same(missing, [], "every reported record is stored");
    const wrong = [...reported].filter(([id, callId]) => store.get(id)?.callId !== callId);
    t.same(wrong, [], "stored records carry the reported Call-IDs");
    t.ok(store.count() >= reported.size, `stored ${store.count()} ≥ reported ${reported.size}`);
    t.equal(store.pendingCount("webhook"), store.count(), "every stored record is spooled for the webhook");
    const sample = store.get([...reported.keys()][N - 1]!)!;
    t.match(sample, { disposition: "ANSWERED", direction: "inbound", media: { peerCodec: "PCMA", transcoded: false } });
  });
}
