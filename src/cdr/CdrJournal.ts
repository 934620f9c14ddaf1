/**
 * The journal of open calls (issue 9 §8): a record of every leg that started and has not ended yet, so that a
 * crash or `kill -9` does not lose it. The recorder writes an entry when a leg starts, rewrites it when the leg is
 * answered (at once: an answered call must never be lost) and when other facts change (batched), and marks all its
 * entries alive in one batched write every few seconds. The store's commit of the final record removes the entry
 * in the same transaction. At start-up, the entries a previous run left behind become final records with end
 * reason `server-crash` (CdrRecorder.recover).
 *
 * Kept behind this small interface so that a shared journal (PostgreSQL, scale-out) can replace the SQLite one.
 */
import type { CdrDirection } from "./CdrRecord.js";

/** One open leg as journaled. `state` is the recorder's leg state (CdrRecorder's `JournaledLeg`) as JSON. */
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
  /** A leg started: one insert. */
  open(entry: JournalEntry, nowMs: number): void;
  /** A leg's facts changed (the answer): one update. */
  update(entry: JournalEntry, nowMs: number): void;
  /** One batched write: every entry of this journal is alive at `nowMs`; `changed` entries are rewritten. */
  heartbeat(nowMs: number, changed: readonly JournalEntry[]): void;
  /** Entries written by earlier runs (never this one's), oldest first. */
  leftOpen(): LeftOpenEntry[];
  /** Removes an entry without a record (its record is already stored). */
  discard(recordId: string): void;
}
