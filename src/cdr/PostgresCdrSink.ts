/**
 * PostgreSQL sink (pg): rows in a documented table, created on first use.
 *
 * ```sql
 * CREATE TABLE IF NOT EXISTS korus_cdr (
 *   record_id text PRIMARY KEY,            -- CdrRecord.recordId (UUID)
 *   …one column per CDR_COLUMNS entry, same names and order as the CSV export:
 *     text → text, *_time → timestamptz, int → bigint, real → double precision, bool → boolean…
 *   record jsonb NOT NULL,                 -- the whole CdrRecord
 *   inserted_at timestamptz NOT NULL DEFAULT now()
 * );
 * CREATE INDEX IF NOT EXISTS korus_cdr_end_time ON korus_cdr (end_time);
 * ```
 * Inserts are multi-row `INSERT … ON CONFLICT (record_id) DO NOTHING`, so offering a record twice (after a crash
 * between the insert and the spool update) never duplicates it: exactly one row per record.
 */
import pg from "pg";
import { CDR_BOT_COLUMNS, CDR_COLUMNS, flattenCdr, type CdrColumn, type CdrRecord } from "./CdrRecord.js";
import { CdrSinkError, type CdrSink } from "./CdrSink.js";

export interface PostgresCdrSinkOptions {
  /** Connection string, e.g. `postgres://user:pass@host:5432/db`. */
  url: string;
  /** Table name (a validated lower-case identifier). */
  table: string;
  /** Connect and query timeout, ms. */
  timeoutMs?: number;
  /** Receives errors of idle pooled connections (which must never go unhandled). */
  onIdleError?: (err: Error) => void;
}

/** The PostgreSQL type of a CDR column. */
export function pgType(c: CdrColumn): string {
  if (c.name.endsWith("_time")) {
    return "timestamptz";
  }
  switch (c.kind) {
    case "text":
      return "text";
    case "int":
      return "bigint";
    case "real":
      return "double precision";
    case "bool":
      return "boolean";
  }
}

/** The CREATE TABLE / CREATE INDEX statements for `table` (the documented schema). */
export function postgresSchema(table: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(table)) {
    throw new CdrSinkError("postgres", `invalid table name ${JSON.stringify(table)}`);
  }
  const cols = CDR_COLUMNS.map(
    (c) => `${c.name} ${pgType(c)}${c.name === "record_id" ? " PRIMARY KEY" : c.required ? " NOT NULL" : ""}`,
  );
  return [
    `CREATE TABLE IF NOT EXISTS ${table} (\n  ${[...cols, "record jsonb NOT NULL", "inserted_at timestamptz NOT NULL DEFAULT now()"].join(",\n  ")}\n)`,
    `CREATE INDEX IF NOT EXISTS ${table}_end_time ON ${table} (end_time)`,
    // A table created before the voice-bot columns gains them (nullable, so older rows stay valid).
    ...CDR_COLUMNS.filter((c) => CDR_BOT_COLUMNS.has(c.name)).map(
      (c) => `ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS ${c.name} ${pgType(c)}`,
    ),
  ].join(";\n");
}

export class PostgresCdrSink implements CdrSink {
  readonly name = "postgres";
  readonly maxBatch = 100;
  private readonly pool: pg.Pool;
  private readonly table: string;
  private ready: Promise<void> | null = null;

  constructor(options: PostgresCdrSinkOptions) {
    this.table = options.table;
    postgresSchema(options.table); // validates the name early
    const timeout = options.timeoutMs ?? 10_000;
    this.pool = new pg.Pool({
      connectionString: options.url,
      max: 2,
      connectionTimeoutMillis: timeout,
      query_timeout: timeout,
      idleTimeoutMillis: 30_000,
      allowExitOnIdle: true,
    });
    this.pool.on("error", (err) => options.onIdleError?.(err));
  }

  private ensureTable(): Promise<void> {
    this.ready ??= this.pool.query(postgresSchema(this.table)).then(
      () => undefined,
      (err: unknown) => {
        this.ready = null;
        throw err;
      },
    );
    return this.ready;
  }

  async deliver(records: readonly CdrRecord[]): Promise<void> {
    if (records.length === 0) {
      return;
    }
    const width = CDR_COLUMNS.length + 1;
    const values: unknown[] = [];
    const rows: string[] = [];
    records.forEach((r, i) => {
      values.push(...flattenCdr(r), JSON.stringify(r));
      rows.push(`(${Array.from({ length: width }, (_, j) => `$${i * width + j + 1}`).join(", ")})`);
    });
    const sql =
      `INSERT INTO ${this.table} (${[...CDR_COLUMNS.map((c) => c.name), "record"].join(", ")}) ` +
      `VALUES ${rows.join(", ")} ON CONFLICT (record_id) DO NOTHING`;
    try {
      await this.ensureTable();
      await this.pool.query(sql, values);
    } catch (err) {
      throw new CdrSinkError(this.name, `insert failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
