/**
 * CdrService: built from the real config defaults, records calls end to end into SQLite, reports commit failures
 * without losing the record from the log, and counts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { CdrDirection, HangupSide } from "../../../../src/cdr/CdrRecord.js";
import { CdrService, cdrServiceConfig, type CdrLogger } from "../../../../src/cdr/CdrService.js";
import { DEFAULT_CONFIG } from "../../../../src/config/schema.js";

class ListLogger implements CdrLogger {
  readonly lines: { level: string; obj: object; msg: string }[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: "info", obj, msg });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: "warn", obj, msg });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: "error", obj, msg });
  }
}

t.test("config mapping from KorusConfig", async (t) => {
  const cfg = cdrServiceConfig({ ...DEFAULT_CONFIG, data: { dir: "/var/lib/korus" } });
  t.same(cfg, {
    dataDir: "/var/lib/korus",
    synchronous: "normal",
    postgresUrl: "",
    postgresTable: "korus_cdr",
    webhookUrl: "",
    webhookTimeoutMs: 5_000,
    retryMinMs: 1_000,
    retryMaxMs: 300_000,
    journalIntervalMs: 2_000,
  });
});

t.test("calls end to end into the store; a failed commit is logged with the record", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "korus-cdr-svc-"));
  const log = new ListLogger();
  const svc = new CdrService(cdrServiceConfig({ ...DEFAULT_CONFIG, data: { dir } }), log);
  t.teardown(async () => {
    await svc.close();
    rmSync(dir, { recursive: true, force: true });
  });
  t.match(log.lines[0], { level: "info", msg: "cdr: store open", obj: { sinks: [] } });
  svc.recorder.started("a", { direction: CdrDirection.WebRtc, pipelineId: "p", elementId: "p/e" });
  svc.recorder.answered("a");
  const r = svc.recorder.ended("a", { hangupSide: HangupSide.Local, endReason: "release" })!;
  t.same(svc.store.get(r.recordId), r, "stored");
  t.match(svc.stats(), { committed: 1, commitFailures: 0, openLegs: 0, pending: {} });
  // The same record again violates the unique record id: the store refuses it, the service logs it.
  t.throws(() => svc.commit(r), /UNIQUE/);
  svc.recorder.started("b", { direction: CdrDirection.Inbound, at: Date.now() });
  const s = svc.store;
  s.close(); // a closed database makes the next commit fail
  const lost = svc.recorder.ended("b", { hangupSide: HangupSide.Remote, sipStatus: 404 });
  t.ok(lost !== null, "the recorder still returns the record");
  t.equal(svc.stats().commitFailures, 1);
  const err = log.lines.find((l) => l.level === "error");
  t.match(err, { msg: /could not be stored/, obj: { record: { recordId: lost!.recordId } } });
});
