/**
 * The "recording ready" record (issue 11 §3): one per finished recording, sent to the webhook sink through the
 * same durable spool as the CDRs (SqliteCdrStore `recording_ready`, CdrDispatcher), exactly once per recording.
 * `recordId` is the recording's journal id (media/record/journal.ts), so a record offered twice (after a crash
 * between the receiver's 2xx and the spool update, or a repeated insert) carries the same Idempotency-Key.
 */

export const RECORDING_READY_KIND = "recording-ready";
export const RECORDING_READY_VERSION = 1;

export interface RecordingReadyRecord {
  /** Tells a webhook receiver this body from a CDR (CDRs have no `kind`). */
  kind: typeof RECORDING_READY_KIND;
  version: typeof RECORDING_READY_VERSION;
  /** The recording's journal id; the Idempotency-Key. */
  recordId: string;
  /** The URI the application gave the recorder (file:// or http(s)://, where the file was uploaded). */
  uri: string;
  /** The media profile (WEBM, MP4, …). */
  profile: string;
  sizeBytes: number;
  /** From ffprobe; null when the file could not be read. */
  durationMs: number | null;
  /** SHA-256 of the file as written (hex). */
  sha256: string;
  /** True when the recording was interrupted (crash, worker death) and finalised by the recovery pass. */
  recovered: boolean;
  /** UTC ISO times: the recording started; the record was made. */
  startTime: string;
  readyTime: string;
  /** What went wrong finalising it (an unreadable or empty file kept as is), or null. */
  error: string | null;
}
