/**
 * The journal of open calls (issue 9 §8): a record of every leg that started and has not ended yet, so that a
 * crash or `kill -9` does not lose it. The recorder writes a leg's entry with the batch after it starts (every
 * `cdr.journalIntervalMs`, one transaction for all the legs that started or changed), at once when the leg is
 * answered or its answer is taken back (an answered call must never be lost), and marks all its entries alive in
 * the same batched write. A leg that starts and ends between two batches never touches the journal; an unanswered
 * attempt younger than one interval at a crash is the only thing a crash can lose. The store's commit of the final record removes the entry
 * in the same transaction. At start-up, the entries a previous run left behind become final records with end
 * reason `server-crash` (CdrRecorder.recover).
 *
 * Kept behind this small interface so that a shared journal (PostgreSQL, scale-out) can replace the SQLite one.
 */
import type { CdrDirection } from "./CdrRecord.js";

/** One open leg as journaled. `state` is the recorder's leg state (`OpenLeg` of openLeg.ts) as JSON. */
export interface JournalEntry {
  readonly recordId: string;
  readonly direction: CdrDirection;
  readonly startMs: number;
  readonly answerMs: number | null;
  readonly state: string;
}

/** An entry left open by an earlier run, with the last time that run showed it alive (epoch ms). */
export interface LeftOpenEntry extends JournalEntry {
  readonly lastActivityMs: number;
}

export interface CdrJournal {
  /** Writes one entry now (inserted, or replacing the leg's earlier entry): the answer, or its taking back. */
  write(entry: JournalEntry, nowMs: number): void;
  /** One batched write: `changed` entries are written (inserted or replaced), and every entry is alive at `nowMs`. */
  heartbeat(nowMs: number, changed: readonly JournalEntry[]): void;
  /** Entries written by earlier runs (never this one's), oldest first. */
  leftOpen(): LeftOpenEntry[];
  /** Removes an entry without a record (its record is already stored). */
  discard(recordId: string): void;
}
