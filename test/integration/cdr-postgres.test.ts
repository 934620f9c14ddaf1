/**
 * PostgreSQL sink against a real private PostgreSQL cluster (test/helpers/postgres.ts): the documented table is
 * created, records written while PostgreSQL is unreachable are spooled across a restart and then inserted exactly
 * once, and offering a record again never duplicates its row.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import t from "tap";
import { CDR_COLUMNS, type CdrRecord } from "../../src/cdr/CdrRecord.js";
import { CdrService, type CdrLogger, type CdrServiceConfig } from "../../src/cdr/CdrService.js";
import { PostgresCdrSink, pgType } from "../../src/cdr/PostgresCdrSink.js";
import { startPostgres, type TestPostgres } from "../helpers/postgres.js";
import { freeTcpPort } from "../helpers/ports.js";
import { makeRecord } from "../unit/src/cdr/fixtures.js";

const quiet: CdrLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function config(dataDir: string, url: string): CdrServiceConfig {
  return {
    dataDir,
    synchronous: "normal",
    postgresUrl: url,
    postgresTable: "korus_cdr",
    webhookUrl: "",
    webhookTimeoutMs: 1_000,
    retryMinMs: 50,
    retryMaxMs: 400,
  };
}

async function until(cond: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

let server: TestPostgres;
let client: pg.Client;
const dir = mkdtempSync(join(tmpdir(), "korus-cdr-pg-"));

t.before(async () => {
  server = await startPostgres();
  client = new pg.Client(server.url);
  await client.connect();
});
t.teardown(async () => {
  await client.end().catch(() => undefined);
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

t.test("spooled while PostgreSQL is unreachable, inserted exactly once after a restart", async (t) => {
  const deadUrl = `postgres://postgres@127.0.0.1:${await freeTcpPort()}/postgres`;
  const records: CdrRecord[] = Array.from({ length: 30 }, (_, i) => makeRecord(i));
  const a = new CdrService({ ...config(dir, deadUrl) }, quiet);
  for (const r of records.slice(0, 20)) {
    a.commit(r);
  }
  await until(() => (a.store.deliveryState("postgres", records[0]!.recordId)?.attempts ?? 0) >= 1, "a failed attempt");
  t.match(a.store.deliveryState("postgres", records[0]!.recordId)?.lastError, /ECONNREFUSED|connect/);
  t.equal(a.stats().pending["postgres"], 20);
  await a.close();

  // Restart with the right URL (as after fixing the config): the spool drains, then new records follow.
  const b = new CdrService(config(dir, server.url), quiet);
  t.teardown(() => b.close());
  for (const r of records.slice(20)) {
    b.commit(r);
  }
  await until(() => b.stats().pending["postgres"] === 0, "the spool to drain");

  const rows = (await client.query("SELECT * FROM korus_cdr ORDER BY end_time")).rows as Record<string, unknown>[];
  t.equal(rows.length, 30, "one row per record");
  const byId = new Map(rows.map((r) => [r["record_id"] as string, r]));
  t.same(
    records.map((r) => byId.has(r.recordId)),
    Array<boolean>(30).fill(true),
    "every record has its row",
  );
  const r7 = records[7]!;
  const row7 = byId.get(r7.recordId)!;
  t.same(row7["record"], r7, "record jsonb is the whole record");
  t.equal((row7["start_time"] as Date).toISOString(), r7.startTime, "timestamptz keeps ms");
  t.equal((row7["end_time"] as Date).toISOString(), r7.endTime);
  t.equal(Number(row7["duration_ms"]), r7.durationMs);
  t.equal(Number(row7["billsec_ms"]), r7.billsecMs);
  t.equal(row7["disposition"], r7.disposition);
  t.equal(row7["call_id"], r7.callId);
  t.equal(row7["icid"], r7.icid);
  t.equal(row7["transcoded"], true);
  t.equal(row7["peer_codec"], "PCMA");
  t.equal(Number(row7["rx_packets"]), r7.media.rx.packets);
  t.equal(row7["mos"], r7.media.mos);

  // Offer records again, as after a crash between the insert and the spool update: no duplicates.
  const sink = new PostgresCdrSink({ url: server.url, table: "korus_cdr" });
  await sink.deliver(records.slice(0, 25));
  await sink.close();
  const n = (await client.query("SELECT count(*)::int AS n FROM korus_cdr")).rows[0] as { n: number };
  t.equal(n.n, 30, "ON CONFLICT (record_id) DO NOTHING keeps one row per record");
});

t.test("the table has the documented columns and types", async (t) => {
  const cols = (
    await client.query(
      "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'korus_cdr' ORDER BY ordinal_position",
    )
  ).rows as { column_name: string; data_type: string }[];
  t.same(
    cols.map((c) => c.column_name),
    [...CDR_COLUMNS.map((c) => c.name), "record", "inserted_at"],
  );
  const want = (name: string): string => {
    const c = CDR_COLUMNS.find((x) => x.name === name);
    const ty = c === undefined ? (name === "record" ? "jsonb" : "timestamptz") : pgType(c);
    return ty === "timestamptz" ? "timestamp with time zone" : ty;
  };
  t.same(
    cols.map((c) => c.data_type),
    cols.map((c) => want(c.column_name)),
  );
  const pk = (
    await client.query(
      `SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
       WHERE i.indrelid = 'korus_cdr'::regclass AND i.indisprimary`,
    )
  ).rows as { attname: string }[];
  t.same(
    pk.map((p) => p.attname),
    ["record_id"],
  );
});
