/**
 * Durable local CDR storage: one SQLite file (`<data.dir>/cdr.sqlite`) through better-sqlite3, in WAL mode.
 *
 * Durability. `insert()` runs one transaction that writes the record and one pending delivery row per configured
 * sink; when it returns, the commit is in the WAL file. With `synchronous=NORMAL` (the default) SQLite does not
 * fsync on commit but the WAL frames have been written to the OS with write(2), so the record survives a crash
 * or `kill -9` of the process (the kernel still holds the pages); only an OS crash or power cut before the next
 * checkpoint can lose the last commits. NORMAL is the default because better-sqlite3 is synchronous and runs on
 * the signalling thread, where an fsync per call end would stall SIP and JSON-RPC for a disk flush.
 * `synchronous=FULL` (config `cdr.synchronous: full`) fsyncs the WAL on every commit for deployments that must
 * survive power loss too. The database is never corrupted by a crash in either mode.
 *
 * Readers. The CLI opens the same file read-only while the server writes (WAL gives readers a consistent
 * snapshot without blocking the writer).
 *
 * Schema (versioned with `PRAGMA user_version`, currently 4; older files are migrated on open):
 * - `cdr`: `seq` (the rowid: insertion order, as rows are never deleted), `start_ms`/`end_ms` (epoch ms, `end_ms`
 *   indexed for exports), the flat columns of {@link CDR_COLUMNS} (`record_id` unique), and `record_json` (the
 *   full record).
 * - `cdr_delivery`: one row per (sink, record): attempts, next attempt time, last error, delivery time. The
 *   per-sink spool of CdrDispatcher.ts; delivered rows are kept as an audit trail.
 * - `cdr_journal` (version 2): one row per open leg (CdrJournal.ts): `owner` (the run that wrote it),
 *   `last_activity_ms`, and the leg's state as JSON. `insert()` deletes a record's row in its transaction.
 * - `recording_ready` and `recording_ready_delivery` (version 3): the "recording ready" records (recordingReady.ts)
 *   and their per-sink spool, the same as `cdr` / `cdr_delivery` (SqliteSpool.ts).
 * - version 4: the voice-bot columns of `cdr` (`bot_host`, `bot_seconds`, `bot_outcome`, `bot_reason`).
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { CdrJournal, JournalEntry, LeftOpenEntry } from "./CdrJournal.js";
import type { RecordingReadyRecord } from "./recordingReady.js";
import { SqliteSpool, type PendingDelivery as SpoolPending } from "./SqliteSpool.js";
import {
  CDR_BOT_COLUMNS,
  CDR_COLUMNS,
  flattenCdr,
  validateCdr,
  type CdrColumn,
  type CdrColumnKind,
  type CdrDirection,
  type CdrRecord,
} from "./CdrRecord.js";

export const CDR_DB_FILE = "cdr.sqlite";
export const CDR_SCHEMA_VERSION = 4;

/** Thrown when the database cannot be opened or was written by an incompatible version. */
export class CdrStoreError extends Error {
  override readonly name = "CdrStoreError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export type SqliteSynchronous = "normal" | "full";

export interface SqliteCdrStoreOptions {
  /** Open read-only (the CLI); the file must exist. */
  readonly?: boolean;
  /** SQLite `synchronous` mode for a writer (see the module comment). Default "normal". */
  synchronous?: SqliteSynchronous;
  /** Sinks that get a pending delivery row for each inserted record. */
  sinks?: readonly string[];
  /** Sinks that get a pending delivery row for each "recording ready" record (default: none). */
  readySinks?: readonly string[];
}

export interface TimeRange {
  /** Inclusive lower bound on the end time, epoch ms. */
  sinceMs: number;
  /** Exclusive upper bound on the end time, epoch ms. */
  untilMs: number;
}

export type PendingDelivery = SpoolPending<CdrRecord>;

const SQL_TYPE: Record<CdrColumnKind, string> = { text: "TEXT", int: "INTEGER", real: "REAL", bool: "INTEGER" };

const columnSql = (c: CdrColumn): string =>
  `${c.name} ${SQL_TYPE[c.kind]}${c.required ? " NOT NULL" : ""}${c.name === "record_id" ? " UNIQUE" : ""}`;

const SCHEMA_V1 = `
CREATE TABLE cdr (
  seq INTEGER PRIMARY KEY,
  start_ms INTEGER NOT NULL,
  end_ms INTEGER NOT NULL,
  ${CDR_COLUMNS.filter((c) => !CDR_BOT_COLUMNS.has(c.name))
    .map(columnSql)
    .join(",\n  ")},
  record_json TEXT NOT NULL
);
CREATE INDEX cdr_end_ms ON cdr (end_ms);
CREATE TABLE cdr_delivery (
  sink TEXT NOT NULL,
  record_id TEXT NOT NULL REFERENCES cdr (record_id),
  seq INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  delivered_ms INTEGER,
  PRIMARY KEY (sink, record_id)
);
CREATE INDEX cdr_delivery_pending ON cdr_delivery (sink, next_attempt_ms, seq) WHERE delivered_ms IS NULL;
`;

const SCHEMA_V2 = `
CREATE TABLE cdr_journal (
  record_id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  direction TEXT NOT NULL,
  start_ms INTEGER NOT NULL,
  answer_ms INTEGER,
  last_activity_ms INTEGER NOT NULL,
  state_json TEXT NOT NULL
);
CREATE INDEX cdr_journal_owner ON cdr_journal (owner);
`;

const SCHEMA_V3 = `
CREATE TABLE IF NOT EXISTS recording_ready (
  seq INTEGER PRIMARY KEY,
  record_id TEXT NOT NULL UNIQUE,
  created_ms INTEGER NOT NULL,
  record_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS recording_ready_delivery (
  sink TEXT NOT NULL,
  record_id TEXT NOT NULL REFERENCES recording_ready (record_id),
  seq INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_ms INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  delivered_ms INTEGER,
  PRIMARY KEY (sink, record_id)
);
CREATE INDEX IF NOT EXISTS recording_ready_pending ON recording_ready_delivery (sink, next_attempt_ms, seq) WHERE delivered_ms IS NULL;
`;

/** Version 4: adds the voice-bot columns the `cdr` table lacks. */
function migrateV4(db: Database.Database): void {
  const have = new Set(
    (db.prepare("SELECT name FROM pragma_table_info('cdr')").all() as { name: string }[]).map((r) => r.name),
  );
  for (const c of CDR_COLUMNS) {
    if (CDR_BOT_COLUMNS.has(c.name) && !have.has(c.name)) {
      db.exec(`ALTER TABLE cdr ADD COLUMN ${columnSql(c)}`);
    }
  }
}

const sqlValue = (v: string | number | boolean | null): string | number | null =>
  typeof v === "boolean" ? (v ? 1 : 0) : v;

export class SqliteCdrStore {
  readonly file: string;
  readonly readonly: boolean;
  private readonly db: Database.Database;
  private readonly sinks: readonly string[];
  private readonly insertStmt: Database.Statement | undefined;
  private readonly insertDeliveryStmt: Database.Statement | undefined;
  private readonly insertTx: ((r: CdrRecord) => void) | undefined;
  private readonly journalDeleteStmt: Database.Statement | undefined;
  private readonly readyTx: ((r: RecordingReadyRecord) => boolean) | undefined;
  private readonly spool: SqliteSpool<CdrRecord>;
  /** The spool of the "recording ready" records (a second dispatcher feeds the webhook from it). */
  readonly readySpool: SqliteSpool<RecordingReadyRecord>;

  private constructor(
    file: string,
    db: Database.Database,
    readonly: boolean,
    sinks: readonly string[],
    readySinks: readonly string[],
  ) {
    this.file = file;
    this.db = db;
    this.readonly = readonly;
    this.sinks = sinks;
    this.spool = new SqliteSpool(db, "cdr", "cdr_delivery");
    this.readySpool = new SqliteSpool(db, "recording_ready", "recording_ready_delivery");
    if (!readonly) {
      const names = ["start_ms", "end_ms", ...CDR_COLUMNS.map((c) => c.name), "record_json"];
      this.insertStmt = db.prepare(`INSERT INTO cdr (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})`);
      this.insertDeliveryStmt = db.prepare(
        "INSERT INTO cdr_delivery (sink, record_id, seq, next_attempt_ms) VALUES (?, ?, ?, 0)",
      );
      this.journalDeleteStmt = db.prepare("DELETE FROM cdr_journal WHERE record_id = ?");
      const ins = this.insertStmt;
      const insDel = this.insertDeliveryStmt;
      const delJournal = this.journalDeleteStmt;
      this.insertTx = db.transaction((r: CdrRecord) => {
        const info = ins.run(
          Date.parse(r.startTime),
          Date.parse(r.endTime),
          ...flattenCdr(r).map(sqlValue),
          JSON.stringify(r),
        );
        for (const sink of this.sinks) {
          insDel.run(sink, r.recordId, info.lastInsertRowid);
        }
        delJournal.run(r.recordId);
      });
      const insReady = db.prepare(
        "INSERT OR IGNORE INTO recording_ready (record_id, created_ms, record_json) VALUES (?, ?, ?)",
      );
      const insReadyDelivery = db.prepare(
        "INSERT INTO recording_ready_delivery (sink, record_id, seq, next_attempt_ms) VALUES (?, ?, ?, 0)",
      );
      this.readyTx = db.transaction((r: RecordingReadyRecord) => {
        const info = insReady.run(r.recordId, Date.now(), JSON.stringify(r));
        if (info.changes === 0) {
          return false;
        }
        for (const sink of readySinks) {
          insReadyDelivery.run(sink, r.recordId, info.lastInsertRowid);
        }
        return true;
      });
    }
  }

  /**
   * Opens (and for a writer creates or migrates) `<dir>/cdr.sqlite`.
   * @throws CdrStoreError when the file cannot be opened, is not a Korus CDR database, or is from a newer version.
   */
  static open(dir: string, options: SqliteCdrStoreOptions = {}): SqliteCdrStore {
    const readonly = options.readonly ?? false;
    const file = join(dir, CDR_DB_FILE);
    let db: Database.Database;
    try {
      if (!readonly) {
        mkdirSync(dir, { recursive: true });
      }
      db = new Database(file, { readonly, fileMustExist: readonly, timeout: 5_000 });
    } catch (err) {
      throw new CdrStoreError(`cannot open ${file}: ${(err as Error).message}`, { cause: err });
    }
    try {
      const version = db.pragma("user_version", { simple: true }) as number;
      if (version > CDR_SCHEMA_VERSION) {
        throw new CdrStoreError(`${file} has schema version ${version}; this Korus reads up to ${CDR_SCHEMA_VERSION}`);
      }
      if (readonly) {
        if (version < 1) {
          throw new CdrStoreError(`${file} is not a Korus CDR database (user_version ${version})`);
        }
      } else {
        db.pragma("journal_mode = WAL");
        db.pragma(`synchronous = ${(options.synchronous ?? "normal") === "full" ? "FULL" : "NORMAL"}`);
        db.pragma("foreign_keys = ON");
        if (version < CDR_SCHEMA_VERSION) {
          db.transaction(() => {
            if (version === 0) {
              db.exec(SCHEMA_V1);
            }
            if (version < 2) {
              db.exec(SCHEMA_V2);
            }
            db.exec(SCHEMA_V3);
            migrateV4(db);
            db.pragma(`user_version = ${CDR_SCHEMA_VERSION}`);
          }).immediate();
        }
      }
      return new SqliteCdrStore(file, db, readonly, [...(options.sinks ?? [])], [...(options.readySinks ?? [])]);
    } catch (err) {
      db.close();
      if (err instanceof CdrStoreError) {
        throw err;
      }
      throw new CdrStoreError(`cannot use ${file}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** The SQLite `synchronous` setting in effect (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA). */
  get synchronous(): number {
    return this.db.pragma("synchronous", { simple: true }) as number;
  }

  /** The journal mode in effect (`wal` for a writer). */
  get journalMode(): string {
    return this.db.pragma("journal_mode", { simple: true }) as string;
  }

  /**
   * The journal of open legs in this database, its writes tagged with `owner` (a unique id of this run): entries
   * of other owners are the ones an earlier run left open.
   * @throws CdrStoreError for a read-only store.
   */
  journal(owner: string): CdrJournal {
    if (this.journalDeleteStmt === undefined) {
      throw new CdrStoreError(`${this.file} is open read-only`);
    }
    return new SqliteCdrJournal(this.db, owner, this.journalDeleteStmt);
  }

  /** Number of journal entries (open legs, or legs a crash left open). */
  journalCount(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM cdr_journal").get() as { n: number }).n;
  }

  /**
   * Validates and commits one record, with a pending delivery row per configured sink, in one transaction that
   * also removes the record's journal entry.
   * @throws CdrError for an invalid record; SqliteError (better-sqlite3) for a duplicate record id or an I/O error.
   */
  insert(r: CdrRecord): void {
    if (this.insertTx === undefined) {
      throw new CdrStoreError(`${this.file} is open read-only`);
    }
    validateCdr(r);
    this.insertTx(r);
  }

  /** The record with this id, or null. */
  get(recordId: string): CdrRecord | null {
    const row = this.db.prepare("SELECT record_json FROM cdr WHERE record_id = ?").get(recordId) as
      { record_json: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.record_json) as CdrRecord);
  }

  /** Number of stored records. */
  count(): number {
    return (this.db.prepare("SELECT count(*) AS n FROM cdr").get() as { n: number }).n;
  }

  /** Records whose end time is in [sinceMs, untilMs), by end time then insertion order, read lazily. */
  *query(range: TimeRange): Generator<CdrRecord> {
    const stmt = this.db.prepare<[number, number], { record_json: string }>(
      "SELECT record_json FROM cdr WHERE end_ms >= ? AND end_ms < ? ORDER BY end_ms, seq",
    );
    for (const row of stmt.iterate(range.sinceMs, range.untilMs)) {
      yield JSON.parse(row.record_json) as CdrRecord;
    }
  }

  /** Up to `limit` undelivered records of `sink` whose next attempt is due at `nowMs`, oldest first. */
  dueDeliveries(sink: string, nowMs: number, limit: number): PendingDelivery[] {
    return this.spool.dueDeliveries(sink, nowMs, limit);
  }

  /** Earliest next-attempt time of an undelivered record of `sink`, or null when its spool is empty. */
  nextDueMs(sink: string): number | null {
    return this.spool.nextDueMs(sink);
  }

  /** Number of undelivered records of `sink`. */
  pendingCount(sink: string): number {
    return this.spool.pendingCount(sink);
  }

  /** Marks records delivered to `sink` (one transaction). */
  markDelivered(sink: string, recordIds: readonly string[], nowMs: number): void {
    this.spool.markDelivered(sink, recordIds, nowMs);
  }

  /** Records a failed attempt: bumps the attempt count, stores the error, and schedules the next attempt. */
  markFailed(sink: string, recordIds: readonly string[], nextAttemptMs: number, error: string): void {
    this.spool.markFailed(sink, recordIds, nextAttemptMs, error);
  }

  /** Makes every undelivered record of `sink` due now (after the sink came back up). */
  resetBackoff(sink: string): void {
    this.spool.resetBackoff(sink);
  }

  /** Delivery state of one record for one sink (tests and diagnostics). */
  deliveryState(
    sink: string,
    recordId: string,
  ): { attempts: number; deliveredMs: number | null; lastError: string | null } | null {
    return this.spool.deliveryState(sink, recordId);
  }

  /**
   * Stores a "recording ready" record (keyed by its recordId, the recording's journal id) with a pending delivery
   * row per sink, once: a second insert of the same id changes nothing.
   * @returns true when the record was new.
   */
  insertReady(r: RecordingReadyRecord): boolean {
    if (this.readyTx === undefined) {
      throw new CdrStoreError(`${this.file} is open read-only`);
    }
    return this.readyTx(r);
  }

  /** The stored "recording ready" record with this id, or null. */
  getReady(recordId: string): RecordingReadyRecord | null {
    const row = this.db.prepare("SELECT record_json FROM recording_ready WHERE record_id = ?").get(recordId) as
      { record_json: string } | undefined;
    return row === undefined ? null : (JSON.parse(row.record_json) as RecordingReadyRecord);
  }

  close(): void {
    if (this.db.open) {
      this.db.close();
    }
  }
}

/** {@link CdrJournal} in the CDR database: one prepared statement per write, the heartbeat in one transaction. */
class SqliteCdrJournal implements CdrJournal {
  private readonly upsertStmt: Database.Statement;
  private readonly heartbeatTx: (nowMs: number, changed: readonly JournalEntry[]) => void;

  constructor(
    private readonly db: Database.Database,
    private readonly owner: string,
    private readonly deleteStmt: Database.Statement,
  ) {
    this.upsertStmt = db.prepare(
      `INSERT OR REPLACE INTO cdr_journal (record_id, owner, direction, start_ms, answer_ms, last_activity_ms, state_json)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const touch = db.prepare("UPDATE cdr_journal SET last_activity_ms = ? WHERE owner = ?");
    this.heartbeatTx = db.transaction((nowMs: number, changed: readonly JournalEntry[]) => {
      for (const e of changed) {
        this.write(e, nowMs);
      }
      touch.run(nowMs, owner);
    });
  }

  write(e: JournalEntry, nowMs: number): void {
    this.upsertStmt.run(
      e.recordId,
      this.owner,
      e.direction,
      e.startMs,
      e.answerMs,
      Math.max(nowMs, e.startMs),
      e.state,
    );
  }

  heartbeat(nowMs: number, changed: readonly JournalEntry[]): void {
    this.heartbeatTx(nowMs, changed);
  }

  leftOpen(): LeftOpenEntry[] {
    const rows = this.db
      .prepare(
        `SELECT record_id AS recordId, direction, start_ms AS startMs, answer_ms AS answerMs,
                last_activity_ms AS lastActivityMs, state_json AS state
         FROM cdr_journal WHERE owner <> ? ORDER BY start_ms, record_id`,
      )
      .all(this.owner) as {
      recordId: string;
      direction: CdrDirection;
      startMs: number;
      answerMs: number | null;
      lastActivityMs: number;
      state: string;
    }[];
    return rows;
  }

  discard(recordId: string): void {
    this.deleteStmt.run(recordId);
  }
}
