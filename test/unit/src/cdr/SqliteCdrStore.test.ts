/**
 * SqliteCdrStore: WAL + synchronous settings, schema version, insert/query by end-time range, the per-sink
 * delivery spool, read-only access while a writer is open, and rejection of a newer schema.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import t from "tap";
import { CdrError } from "../../../../src/cdr/CdrRecord.js";
import { CDR_DB_FILE, CDR_SCHEMA_VERSION, CdrStoreError, SqliteCdrStore } from "../../../../src/cdr/SqliteCdrStore.js";
import { makeRecord } from "./fixtures.js";

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), "korus-cdr-store-"));
  dirs.push(d);
  return d;
};
t.teardown(() => {
  for (const d of dirs) {
    rmSync(d, { recursive: true, force: true });
  }
});

t.test("a writer opens in WAL mode with the chosen synchronous level and schema version", async (t) => {
  const dir = join(tempDir(), "nested", "data");
  const normal = SqliteCdrStore.open(dir);
  t.equal(normal.journalMode, "wal");
  t.equal(normal.synchronous, 1, "NORMAL by default");
  t.equal(normal.file, join(dir, CDR_DB_FILE));
  normal.close();
  const full = SqliteCdrStore.open(dir, { synchronous: "full" });
  t.equal(full.synchronous, 2, "FULL on request");
  full.close();
  const raw = new Database(join(dir, CDR_DB_FILE), { readonly: true });
  t.equal(raw.pragma("user_version", { simple: true }), CDR_SCHEMA_VERSION);
  raw.close();
});

t.test("insert, get, count, and query by end time [since, until)", async (t) => {
  const store = SqliteCdrStore.open(tempDir());
  t.teardown(() => store.close());
  const records = Array.from({ length: 30 }, (_, i) => makeRecord(i));
  // Insert out of order: the query orders by end time.
  for (const r of [...records].reverse()) {
    store.insert(r);
  }
  t.equal(store.count(), 30);
  t.same(store.get(records[7]!.recordId), records[7], "stored record equals the original");
  t.equal(store.get("no-such-id"), null);
  const all = [...store.query({ sinceMs: 0, untilMs: Number.MAX_SAFE_INTEGER })];
  t.equal(all.length, 30);
  const ends = all.map((r) => Date.parse(r.endTime));
  t.same(
    ends,
    [...ends].sort((a, b) => a - b),
    "ordered by end time",
  );
  const since = Date.parse(records[10]!.endTime);
  const until = Date.parse(records[20]!.endTime);
  const slice = [...store.query({ sinceMs: since, untilMs: until })];
  const want = records.filter((r) => Date.parse(r.endTime) >= since && Date.parse(r.endTime) < until);
  t.ok(want.length > 0);
  t.same(new Set(slice.map((r) => r.recordId)), new Set(want.map((r) => r.recordId)), "half-open range");
  t.notOk(
    slice.some((r) => r.recordId === records[20]!.recordId),
    "until is exclusive",
  );
  t.throws(() => store.insert(records[0]!), /UNIQUE/, "a record id is stored once");
  t.throws(() => store.insert({ ...records[1]!, recordId: "x", durationMs: 1 }), CdrError, "invalid record rejected");
  t.equal(store.count(), 30);
});

t.test("the delivery spool tracks each sink separately", async (t) => {
  const store = SqliteCdrStore.open(tempDir(), { sinks: ["a", "b"] });
  t.teardown(() => store.close());
  const rs = Array.from({ length: 5 }, (_, i) => makeRecord(i));
  for (const r of rs) {
    store.insert(r);
  }
  t.equal(store.pendingCount("a"), 5);
  t.equal(store.pendingCount("b"), 5);
  t.equal(store.pendingCount("c"), 0, "an unconfigured sink has no spool");
  const due = store.dueDeliveries("a", 1_000, 3);
  t.same(
    due.map((d) => d.recordId),
    rs.slice(0, 3).map((r) => r.recordId),
    "oldest first, limited",
  );
  t.same(due[0]!.record, rs[0]);
  store.markDelivered("a", [rs[0]!.recordId, rs[1]!.recordId], 1_000);
  store.markFailed("a", [rs[2]!.recordId], 5_000, "connection refused");
  t.equal(store.pendingCount("a"), 3);
  t.same(
    store.dueDeliveries("a", 1_000, 10).map((d) => d.recordId),
    [rs[3]!.recordId, rs[4]!.recordId],
    "a failed record waits for its next attempt",
  );
  t.equal(store.nextDueMs("a"), 0);
  t.match(store.deliveryState("a", rs[2]!.recordId), {
    attempts: 1,
    deliveredMs: null,
    lastError: "connection refused",
  });
  t.match(store.deliveryState("a", rs[0]!.recordId), { attempts: 1, deliveredMs: 1_000, lastError: null });
  t.equal(store.pendingCount("b"), 5, "sink b untouched");
  store.markDelivered("a", [rs[3]!.recordId, rs[4]!.recordId], 2_000);
  t.equal(store.nextDueMs("a"), 5_000, "only the failed record is left");
  store.resetBackoff("a");
  t.same(
    store.dueDeliveries("a", 0, 10).map((d) => d.recordId),
    [rs[2]!.recordId],
  );
});

t.test("a read-only store sees committed records while the writer is open", async (t) => {
  const dir = tempDir();
  const writer = SqliteCdrStore.open(dir);
  t.teardown(() => writer.close());
  writer.insert(makeRecord(1));
  const reader = SqliteCdrStore.open(dir, { readonly: true });
  t.equal(reader.count(), 1);
  writer.insert(makeRecord(2));
  t.equal(reader.count(), 2, "new commits are visible to the next read");
  t.throws(() => reader.insert(makeRecord(3)), CdrStoreError, "read-only");
  reader.close();
  writer.close();
  const after = SqliteCdrStore.open(dir, { readonly: true });
  t.equal(after.count(), 2, "readable after the writer closed");
  after.close();
});

t.test("open errors are CdrStoreError", async (t) => {
  t.throws(() => SqliteCdrStore.open(join(tempDir(), "missing"), { readonly: true }), CdrStoreError, "missing file");
  const dir = tempDir();
  const raw = new Database(join(dir, CDR_DB_FILE));
  raw.pragma(`user_version = ${CDR_SCHEMA_VERSION + 1}`);
  raw.close();
  t.throws(
    () => SqliteCdrStore.open(dir),
    { name: "CdrStoreError", message: new RegExp(`schema version ${CDR_SCHEMA_VERSION + 1}`) },
    "newer schema",
  );
  const other = tempDir();
  const foreign = new Database(join(other, CDR_DB_FILE));
  foreign.exec("CREATE TABLE x (y)");
  foreign.close();
  t.throws(() => SqliteCdrStore.open(other, { readonly: true }), CdrStoreError, "not a Korus database");
  const junk = tempDir();
  writeFileSync(join(junk, CDR_DB_FILE), "this is not sqlite at all, just text that is long enough to be a header...");
  t.throws(() => SqliteCdrStore.open(junk), CdrStoreError, "not a database file");
});
