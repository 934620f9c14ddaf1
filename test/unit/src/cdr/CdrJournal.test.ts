/**
 * The journal of open calls (CdrJournal, SqliteCdrStore.journal, CdrRecorder.recover) on a fake clock:
 * - a start inserts an entry, an answer rewrites it at once, ringing/media/touched ones go with the batched flush,
 *   which also marks every open entry of this run alive; committing the final record removes the entry;
 * - a new run (another owner) closes what an earlier one left: ANSWERED billed to the last mark, unanswered legs
 *   FAILED, end reason server-crash, spooled for the sinks; a damaged state still yields a record;
 * - a failing journal write is reported and does not stop the call;
 * - a version-1 database is migrated.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import t from "tap";
import type { CdrJournal } from "../../../../src/cdr/CdrJournal.js";
import { CdrDirection, HangupSide, validateCdr, type CdrRecord } from "../../../../src/cdr/CdrRecord.js";
import { CdrRecorder } from "../../../../src/cdr/CdrRecorder.js";
import { CDR_DB_FILE, CDR_SCHEMA_VERSION, SqliteCdrStore } from "../../../../src/cdr/SqliteCdrStore.js";

const T0 = Date.parse("2026-11-23T20:00:00.000Z");
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "korus-cdr-journal-"));
  dirs.push(d);
  return d;
};
t.teardown(() => {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
  }
});

function run(store: SqliteCdrStore, owner: string, clock: { now: number }, journal?: CdrJournal): CdrRecorder {
  return new CdrRecorder({
    commit: (r) => store.insert(r),
    now: () => clock.now,
    journal: journal ?? store.journal(owner),
  });
}

const ringingMsOf = (json: string): number | null => (JSON.parse(json) as { ringingMs: number | null }).ringingMs;

const journalRows = (dir: string): { record_id: string; last_activity_ms: number; state_json: string }[] => {
  const raw = new Database(join(dir, CDR_DB_FILE), { readonly: true });
  const rows = raw.prepare("SELECT record_id, last_activity_ms, state_json FROM cdr_journal").all() as {
    record_id: string;
    last_activity_ms: number;
    state_json: string;
  }[];
  raw.close();
  return rows;
};

t.test("open legs are journaled and closed as server-crash by the next run", async (t) => {
  const dir = tempDir();
  const clock = { now: T0 };
  const first = SqliteCdrStore.open(dir, { sinks: ["webhook"] });
  const rec = run(first, "run-1", clock);
  const start = { direction: CdrDirection.Inbound, callId: "a@x", from: "<sip:+1555@a>" };
  const answered = rec.started("leg-a", start);
  const ringing = rec.started("leg-r", { direction: CdrDirection.Outbound, callId: "r@x" });
  rec.started("leg-e", { direction: CdrDirection.WebRtc });
  t.equal(first.journalCount(), 0, "starts wait for the batch");
  clock.now = T0 + 500;
  rec.flushJournal();
  t.equal(first.journalCount(), 3, "the batch journals each start");
  clock.now = T0 + 1_000;
  rec.ringing("leg-a");
  rec.ringing("leg-r");
  clock.now = T0 + 2_000;
  rec.answered("leg-a");
  t.match(JSON.parse(journalRows(dir).find((r) => r.record_id === answered)!.state_json), { answerMs: T0 + 2_000 });
  t.equal(
    ringingMsOf(journalRows(dir).find((r) => r.record_id === ringing)!.state_json),
    null,
    "ringing waits for the batch",
  );
  rec.started("leg-short", { direction: CdrDirection.Inbound });
  rec.answered("leg-short");
  t.equal(first.journalCount(), 4, "an answer is written at once, even before its start's batch");
  rec.ended("leg-short", { hangupSide: HangupSide.Remote, endReason: "bye" });
  t.equal(first.journalCount(), 3, "and removed with its final record");
  rec.media("leg-a", { peerCodec: "PCMA", pipelineCodec: "opus" });
  start.from = "<sip:+1666@a>"; // kept by reference, then touched
  rec.touched("leg-a");
  clock.now = T0 + 5_000;
  rec.flushJournal();
  t.same(
    journalRows(dir).map((r) => r.last_activity_ms),
    [T0 + 5_000, T0 + 5_000, T0 + 5_000],
    "the batch marks every open leg alive",
  );
  t.equal(
    ringingMsOf(journalRows(dir).find((r) => r.record_id === ringing)!.state_json),
    T0 + 1_000,
    "and writes the changed ones",
  );
  rec.ended("leg-e", { hangupSide: HangupSide.Local, endReason: "release" });
  t.equal(first.journalCount(), 2, "the commit of the final record removes its entry");
  clock.now = T0 + 6_500; // the crash: nothing after the last mark reaches the disk
  // A second run on the same file (the first one's process is gone).
  const second = SqliteCdrStore.open(dir, { sinks: ["webhook"] });
  const rec2 = run(second, "run-2", clock);
  clock.now = T0 + 60_000;
  const out = rec2.recover();
  t.equal(out.length, 2);
  const a = out.find((r) => r.recordId === answered)!;
  t.match(a, {
    callId: "a@x",
    from: "sip:+1666@a",
    disposition: "ANSWERED",
    endReason: "server-crash",
    hangupSide: "system",
    q850Cause: 41,
    sipStatus: 200,
    endTime: new Date(T0 + 5_000).toISOString(),
    answerTime: new Date(T0 + 2_000).toISOString(),
    billsecMs: 3_000,
    durationMs: 5_000,
    media: { peerCodec: "PCMA", pipelineCodec: "opus", transcoded: true },
  });
  const r = out.find((x) => x.recordId === ringing)!;
  t.match(r, {
    direction: "outbound",
    disposition: "FAILED",
    answerTime: null,
    ringingTime: new Date(T0 + 1_000).toISOString(),
    billsecMs: 0,
    endReason: "server-crash",
  });
  for (const x of out) {
    t.doesNotThrow(() => validateCdr(x));
    t.same(second.get(x.recordId), x, "stored");
    t.equal(second.deliveryState("webhook", x.recordId)?.deliveredMs, null, "spooled for the sink");
  }
  t.equal(second.journalCount(), 0, "the journal is empty");
  t.same(run(second, "run-3", clock).recover(), [], "a later run finds nothing to close");
  t.equal(second.count(), 4);
  first.close();
  second.close();
});

t.test("the current run's own entries are not closed; a damaged state still yields a record", async (t) => {
  const dir = tempDir();
  const clock = { now: T0 };
  const store = SqliteCdrStore.open(dir);
  t.teardown(() => store.close());
  const rec = run(store, "me", clock);
  rec.started("mine", { direction: CdrDirection.Inbound });
  rec.flushJournal();
  t.same(rec.recover(), [], "own open legs stay open");
  const other = store.journal("crashed");
  other.write(
    {
      recordId: "11111111-1111-4111-8111-111111111111",
      direction: CdrDirection.Inbound,
      startMs: T0,
      answerMs: T0 + 10,
      state: "{not json",
    },
    T0,
  );
  other.heartbeat(T0 + 4_000, []);
  const [r] = rec.recover();
  t.match(r, { recordId: "11111111-1111-4111-8111-111111111111", disposition: "ANSWERED", billsecMs: 3_990 });
  t.equal(store.journalCount(), 1, "only this run's leg is left");
});

t.test("a failing journal write is reported and the call goes on", async (t) => {
  const committed: CdrRecord[] = [];
  const errors: string[] = [];
  const failing: CdrJournal = {
    write: () => {
      throw new Error("disk full");
    },
    heartbeat: () => {
      throw new Error("disk full");
    },
    leftOpen: () => [],
    discard: () => undefined,
  };
  const rec = new CdrRecorder({
    commit: (r) => committed.push(r),
    journal: failing,
    onJournalError: (err, id) => errors.push(`${id}: ${String(err)}`),
  });
  rec.started("l", { direction: CdrDirection.Inbound });
  rec.answered("l");
  rec.flushJournal();
  rec.ended("l", { hangupSide: HangupSide.Remote, endReason: "bye" });
  t.equal(errors.length, 2, "each failed write (the answer, the batch) is reported");
  t.match(committed, [{ disposition: "ANSWERED", endReason: "bye" }], "the record is still committed");
});

t.test("a version-1 database is migrated", async (t) => {
  const dir = tempDir();
  const store = SqliteCdrStore.open(dir);
  store.close();
  const raw = new Database(join(dir, CDR_DB_FILE));
  raw.exec("DROP TABLE cdr_journal");
  raw.pragma("user_version = 1");
  raw.close();
  const again = SqliteCdrStore.open(dir);
  t.teardown(() => again.close());
  t.equal(again.journalCount(), 0, "the journal table exists");
  const check = new Database(join(dir, CDR_DB_FILE), { readonly: true });
  t.equal(check.pragma("user_version", { simple: true }), CDR_SCHEMA_VERSION);
  check.close();
});

t.test("a version-3 database gains the voice-bot columns", async (t) => {
  const dir = tempDir();
  const store = SqliteCdrStore.open(dir);
  store.close();
  const raw = new Database(join(dir, CDR_DB_FILE));
  for (const c of ["bot_host", "bot_seconds", "bot_outcome", "bot_reason"]) {
    raw.exec(`ALTER TABLE cdr DROP COLUMN ${c}`);
  }
  raw.pragma("user_version = 3");
  raw.close();
  const again = SqliteCdrStore.open(dir);
  again.close();
  const check = new Database(join(dir, CDR_DB_FILE), { readonly: true });
  t.teardown(() => check.close());
  t.equal(check.pragma("user_version", { simple: true }), CDR_SCHEMA_VERSION);
  const cols = (check.prepare("SELECT name FROM pragma_table_info('cdr')").all() as { name: string }[]).map(
    (r) => r.name,
  );
  t.ok(
    ["bot_host", "bot_seconds", "bot_outcome", "bot_reason"].every((c) => cols.includes(c)),
    "bot columns added",
  );
});
