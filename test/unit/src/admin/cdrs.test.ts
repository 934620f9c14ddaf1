/**
 * The console's CDR views (src/admin/cdrs.ts): the filter parser (window, trunk, disposition; bad input named) and
 * the query against a real SqliteCdrStore (newest first, capped, filtered).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { cdrRow, parseCdrFilter, queryCdrs } from "../../../../src/admin/cdrs.js";
import { Disposition } from "../../../../src/cdr/CdrRecord.js";
import { SqliteCdrStore } from "../../../../src/cdr/SqliteCdrStore.js";
import { makeRecord } from "../cdr/fixtures.js";

const T0 = Date.parse("2026-11-23T12:00:00.000Z");

t.test("filters: defaults to the last 24 hours; bad values are named", async (t) => {
  const now = T0;
  const f = parseCdrFilter(new URLSearchParams(), now);
  t.same(f, { sinceMs: now + 1 - 24 * 3600_000, untilMs: now + 1, trunk: null, disposition: null });
  const g = parseCdrFilter(
    new URLSearchParams({ since: "2026-11-23T00:00:00Z", until: String(T0), trunk: "carrier-a", disposition: "BUSY" }),
    now,
  );
  t.same(g, { sinceMs: Date.parse("2026-11-23T00:00:00Z"), untilMs: T0, trunk: "carrier-a", disposition: "BUSY" });
  t.match(parseCdrFilter(new URLSearchParams({ since: "yesterday-ish" }), now), /since: not a time/);
  t.match(parseCdrFilter(new URLSearchParams({ since: String(T0), until: String(T0) }), now), /before until/);
  t.match(parseCdrFilter(new URLSearchParams({ since: "0", until: String(T0) }), now), /90 days/);
  t.match(parseCdrFilter(new URLSearchParams({ disposition: "ANSWERED'; DROP TABLE cdr" }), now), /disposition/);
});

t.test("query: newest first, filtered, capped", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "korus-admin-cdrs-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const store = SqliteCdrStore.open(dir);
  t.teardown(() => store.close());
  for (let i = 0; i < 30; i++) {
    store.insert(makeRecord(i, T0));
  }
  const all = { sinceMs: T0, untilMs: T0 + 3600_000, trunk: null, disposition: null };
  const rows = queryCdrs(store, all);
  t.equal(rows.length, 30);
  t.ok(
    rows.every((r, i) => i === 0 || Date.parse(r.endTime) <= Date.parse(rows[i - 1]?.endTime ?? "")),
    "newest first",
  );
  const busy = queryCdrs(store, { ...all, disposition: Disposition.Busy });
  t.equal(busy.length, 6, "every 5th call is busy");
  t.ok(busy.every((r) => r.disposition === Disposition.Busy));
  t.equal(queryCdrs(store, { ...all, trunk: "other" }).length, 0, "trunk filter");
  const capped = queryCdrs(store, all, 7);
  t.equal(capped.length, 7, "capped");
  t.same(
    capped.map((r) => r.recordId),
    rows.slice(0, 7).map((r) => r.recordId),
    "the cap keeps the newest",
  );
  const row = cdrRow(rows[0] ?? makeRecord(0));
  t.equal(row["trunk"], "carrier-a");
  t.type(row["mos"], "number");
});
