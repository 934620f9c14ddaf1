/**
 * The per-sink delivery spool of one record table in the CDR database: `cdr` + `cdr_delivery` (call records) and
 * `recording_ready` + `recording_ready_delivery` (the "recording ready" records, issue 11 §3). Both record tables
 * have `record_id` and `record_json`; both delivery tables have the columns of `cdr_delivery` (SqliteCdrStore.ts).
 * CdrDispatcher drives any {@link DeliverySpool}.
 */
import type Database from "better-sqlite3";

export interface PendingDelivery<T> {
  recordId: string;
  attempts: number;
  record: T;
}

/** What CdrDispatcher needs from a spool. */
export interface DeliverySpool<T> {
  /** Up to `limit` undelivered records of `sink` whose next attempt is due at `nowMs`, oldest first. */
  dueDeliveries(sink: string, nowMs: number, limit: number): PendingDelivery<T>[];
  /** Earliest next-attempt time of an undelivered record of `sink`, or null when its spool is empty. */
  nextDueMs(sink: string): number | null;
  /** Number of undelivered records of `sink`. */
  pendingCount(sink: string): number;
  /** Marks records delivered to `sink` (one transaction). */
  markDelivered(sink: string, recordIds: readonly string[], nowMs: number): void;
  /** Records a failed attempt: bumps the attempt count, stores the error, and schedules the next attempt. */
  markFailed(sink: string, recordIds: readonly string[], nextAttemptMs: number, error: string): void;
  /** Makes every undelivered record of `sink` due now (after the sink came back up). */
  resetBackoff(sink: string): void;
}

/** {@link DeliverySpool} over a record table and its delivery table. Table names are constants, never input. */
export class SqliteSpool<T> implements DeliverySpool<T> {
  constructor(
    private readonly db: Database.Database,
    private readonly records: "cdr" | "recording_ready",
    private readonly deliveries: "cdr_delivery" | "recording_ready_delivery",
  ) {}

  dueDeliveries(sink: string, nowMs: number, limit: number): PendingDelivery<T>[] {
    const rows = this.db
      .prepare(
        `SELECT d.record_id AS recordId, d.attempts AS attempts, c.record_json AS json
         FROM ${this.deliveries} d JOIN ${this.records} c ON c.record_id = d.record_id
         WHERE d.sink = ? AND d.delivered_ms IS NULL AND d.next_attempt_ms <= ?
         ORDER BY d.next_attempt_ms, d.seq LIMIT ?`,
      )
      .all(sink, nowMs, limit) as { recordId: string; attempts: number; json: string }[];
    return rows.map((r) => ({ recordId: r.recordId, attempts: r.attempts, record: JSON.parse(r.json) as T }));
  }

  nextDueMs(sink: string): number | null {
    const row = this.db
      .prepare(`SELECT min(next_attempt_ms) AS t FROM ${this.deliveries} WHERE sink = ? AND delivered_ms IS NULL`)
      .get(sink) as { t: number | null };
    return row.t;
  }

  pendingCount(sink: string): number {
    return (
      this.db
        .prepare(`SELECT count(*) AS n FROM ${this.deliveries} WHERE sink = ? AND delivered_ms IS NULL`)
        .get(sink) as { n: number }
    ).n;
  }

  markDelivered(sink: string, recordIds: readonly string[], nowMs: number): void {
    const stmt = this.db.prepare(
      `UPDATE ${this.deliveries} SET delivered_ms = ?, attempts = attempts + 1, last_error = NULL WHERE sink = ? AND record_id = ?`,
    );
    this.db.transaction(() => {
      for (const id of recordIds) {
        stmt.run(nowMs, sink, id);
      }
    })();
  }

  markFailed(sink: string, recordIds: readonly string[], nextAttemptMs: number, error: string): void {
    const stmt = this.db.prepare(
      `UPDATE ${this.deliveries} SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? WHERE sink = ? AND record_id = ?`,
    );
    this.db.transaction(() => {
      for (const id of recordIds) {
        stmt.run(nextAttemptMs, error.slice(0, 500), sink, id);
      }
    })();
  }

  resetBackoff(sink: string): void {
    this.db
      .prepare(`UPDATE ${this.deliveries} SET next_attempt_ms = 0 WHERE sink = ? AND delivered_ms IS NULL`)
      .run(sink);
  }

  /** Delivery state of one record for one sink (tests and diagnostics). */
  deliveryState(
    sink: string,
    recordId: string,
  ): { attempts: number; deliveredMs: number | null; lastError: string | null } | null {
    const row = this.db
      .prepare(
        `SELECT attempts, delivered_ms AS deliveredMs, last_error AS lastError FROM ${this.deliveries} WHERE sink = ? AND record_id = ?`,
      )
      .get(sink, recordId) as { attempts: number; deliveredMs: number | null; lastError: string | null } | undefined;
    return row ?? null;
  }
}
