/**
 * The recording journal (issue 11 §2, docs/recording.md "The durable side"): one small JSON file per recording in
 * `<recordingsRoot>/.journal/<id>.json`, so a recording a crash interrupts is found and finalised at the next start.
 *
 * States: `recording` (written before the first byte of the file) → `complete` (the recorder closed the file) or
 * `abandoned` (nothing was written; the entry is removed) → the main process measures it and sends the "recording
 * ready" record → `ready` (file://) or `uploaded` (http(s)://, after the receiver's 2xx) or `failed` (an upload the
 * policy refuses for good). Terminal entries move to `.journal/done/`, so the live folder only holds work.
 *
 * Every write is atomic: the JSON goes to a temporary file in the same folder, is fsynced, renamed over the entry,
 * and the folder is fsynced, so a crash leaves either the old or the new entry, never a torn one. Ids are random
 * (96 bits, hex), never derived from application text.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { threadId } from "node:worker_threads";
import { JOURNAL_DIR } from "./target.js";

export const DONE_DIR = "done";
export const JOURNAL_VERSION = 1;

export type RecordingState = "recording" | "complete" | "abandoned" | "ready" | "uploaded" | "failed";

/** What the recorder knows when it closes the file. */
export interface RecordingSummary {
  durationMs: number;
  bytes: number;
  /** The tracks written, e.g. `["opus", "vp8"]`, or their number. */
  tracks: number | readonly string[];
}

/** The JSON of one journal entry. */
export interface RecordingJournalData {
  version: typeof JOURNAL_VERSION;
  id: string;
  state: RecordingState;
  /** The local file: the recording itself (file://) or its spool file (http(s)://). */
  path: string;
  /** The application's URI (file:// or http(s)://). */
  uri: string;
  profile: string;
  startedAt: string;
  updatedAt: string;
  /** The writer: process and worker thread (a dead worker's entries are recovered while the server runs). */
  pid: number;
  threadId: number;
  /** From the recorder's complete(), or measured by the main process. */
  durationMs?: number;
  bytes?: number;
  tracks?: number | readonly string[];
  /** Finalised by the recovery pass after a crash. */
  recovered?: boolean;
  /** Filled by the main process (src/recording). */
  sha256?: string;
  /** Why recovery or the upload failed (kept in the entry for the operator). */
  error?: string;
}

export interface BeginRecording {
  path: string;
  uri: string;
  profile: string;
  startedAt: Date | string;
}

const ID = /^[0-9a-f]{24}$/;
const ENTRY = /^([0-9a-f]{24})\.json$/;

/** True for a well-formed journal id (never application text). */
export function isJournalId(id: string): boolean {
  return ID.test(id);
}

export function journalDir(root: string): string {
  return join(resolve(root), JOURNAL_DIR);
}

/** Writes `data` to `file` atomically (tmp + fsync + rename + fsync of the folder). */
export async function writeAtomic(file: string, data: string): Promise<void> {
  const dir = resolve(file, "..");
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
  const fh = await open(tmp, "wx", 0o640);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  const dh = await open(dir, "r");
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Writes an entry where its state belongs: `.journal/<id>.json`, or `.journal/done/<id>.json` when terminal. */
export async function writeJournalEntry(root: string, data: RecordingJournalData): Promise<void> {
  if (!isJournalId(data.id)) {
    throw new TypeError(`'${data.id}' is not a journal id`);
  }
  const dir = journalDir(root);
  const terminal = data.state === "ready" || data.state === "uploaded" || data.state === "failed";
  const body = `${JSON.stringify({ ...data, updatedAt: new Date().toISOString() })}\n`;
  if (!terminal) {
    await mkdir(dir, { recursive: true, mode: 0o750 });
    await writeAtomic(join(dir, `${data.id}.json`), body);
    return;
  }
  await mkdir(join(dir, DONE_DIR), { recursive: true, mode: 0o750 });
  await writeAtomic(join(dir, DONE_DIR, `${data.id}.json`), body);
  await rm(join(dir, `${data.id}.json`), { force: true });
}

/** Removes an entry (an abandoned recording). */
export async function removeJournalEntry(root: string, id: string): Promise<void> {
  if (isJournalId(id)) {
    await rm(join(journalDir(root), `${id}.json`), { force: true });
  }
}

/** A live entry as read from disk, or why it could not be read. */
export type JournalRead =
  { ok: true; entry: RecordingJournalData; mtimeMs: number } | { ok: false; id: string; error: string };

/** Reads one live entry. */
export async function readJournalEntry(root: string, id: string): Promise<JournalRead> {
  const file = join(journalDir(root), `${id}.json`);
  try {
    const [text, st] = await Promise.all([readFile(file, "utf8"), stat(file)]);
    const entry = JSON.parse(text) as RecordingJournalData;
    if (entry.id !== id || typeof entry.path !== "string" || typeof entry.state !== "string") {
      return { ok: false, id, error: "not a recording journal entry" };
    }
    return { ok: true, entry, mtimeMs: st.mtimeMs };
  } catch (err) {
    return { ok: false, id, error: err instanceof Error ? err.message : String(err) };
  }
}

/** The ids of the live entries (a flat folder; temporaries and `done/` skipped). Empty when there is no journal. */
export async function listJournal(root: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(journalDir(root));
  } catch {
    return [];
  }
  const ids: string[] = [];
  for (const n of names) {
    const m = ENTRY.exec(n);
    if (m?.[1] !== undefined) {
      ids.push(m[1]);
    }
  }
  return ids.sort();
}

/** One recording's entry, held by the recorder while it writes. */
export class RecordingJournalEntry {
  readonly root: string;
  #data: RecordingJournalData;
  #closed = false;

  constructor(root: string, data: RecordingJournalData) {
    this.root = root;
    this.#data = data;
  }

  get id(): string {
    return this.#data.id;
  }

  get data(): Readonly<RecordingJournalData> {
    return this.#data;
  }

  /** The file is closed and complete: the main process picks it up (measure, upload, "recording ready"). */
  async complete(summary: RecordingSummary): Promise<void> {
    this.#end();
    this.#data = {
      ...this.#data,
      state: "complete",
      durationMs: summary.durationMs,
      bytes: summary.bytes,
      tracks: typeof summary.tracks === "number" ? summary.tracks : [...summary.tracks],
    };
    await writeJournalEntry(this.root, this.#data);
  }

  /** The recording never wrote a byte: the entry is removed (the recorder removes its empty file). */
  async abandon(): Promise<void> {
    this.#end();
    this.#data = { ...this.#data, state: "abandoned" };
    await removeJournalEntry(this.root, this.#data.id);
  }

  #end(): void {
    if (this.#closed) {
      throw new TypeError(`recording journal entry ${this.#data.id} is already ${this.#data.state}`);
    }
    this.#closed = true;
  }
}

/**
 * Writes the `recording` entry of a new recording, durably, before its first byte is written.
 * @throws the file system's error when the journal cannot be written (the recording must not start then).
 */
export async function beginRecording(root: string, rec: BeginRecording): Promise<RecordingJournalEntry> {
  const now = new Date().toISOString();
  const data: RecordingJournalData = {
    version: JOURNAL_VERSION,
    id: randomBytes(12).toString("hex"),
    state: "recording",
    path: resolve(rec.path),
    uri: rec.uri,
    profile: rec.profile,
    startedAt: typeof rec.startedAt === "string" ? rec.startedAt : rec.startedAt.toISOString(),
    updatedAt: now,
    pid: process.pid,
    threadId,
  };
  await writeJournalEntry(root, data);
  return new RecordingJournalEntry(root, data);
}
