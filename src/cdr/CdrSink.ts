/**
 * The interface every CDR sink implements. Sinks are fed by the dispatcher (CdrDispatcher.ts) from the durable
 * spool in the SQLite database, after the record's commit, never from the call path.
 */
import type { CdrRecord } from "./CdrRecord.js";

/** A sink of records of type `T` (CDRs by default; "recording ready" records for the webhook, recordingReady.ts). */
export interface CdrSink<T = CdrRecord> {
  /** Stable name; the key of this sink's delivery state in the spool (`postgres`, `webhook`). */
  readonly name: string;
  /** Most records handed to one `deliver()` call. */
  readonly maxBatch: number;
  /**
   * Delivers records, all or nothing: resolves only when every record is durably accepted by the receiver.
   * Must be idempotent per record id (a record may be offered again after a crash between delivery and the
   * spool update).
   * @throws CdrSinkError (or any error) when the delivery failed; the dispatcher retries with backoff.
   */
  deliver(records: readonly T[]): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

/** A failed delivery; `retryable` is informational (every failure is retried, see CdrDispatcher). */
export class CdrSinkError extends Error {
  override readonly name = "CdrSinkError";
  readonly sink: string;
  constructor(sink: string, message: string, options?: { cause?: unknown }) {
    super(`${sink}: ${message}`, options);
    this.sink = sink;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
