/**
 * The durable side of recording (issue 11 §1–§3, docs/recording.md): what makes a recording survive a crash and
 * reach its owner exactly once. main.ts starts it like the CDR service.
 *
 * - Recovery: at start-up, before the media workers start, every `recording` entry of the journal
 *   (media/record/journal.ts) was left by a crash: its file is re-muxed (tools.ts) so it gets its duration and
 *   index, and the entry becomes `complete` with `recovered: true` (an empty or unreadable file is kept as it is,
 *   with the reason in `error`). When a media worker dies while the server runs, {@link workerDied} does the same
 *   at once for the entries that worker was writing.
 * - Finishing: every `scanMs` the journal folder (flat, live entries only) is read; a `complete` entry is measured
 *   (size, ffprobe duration, sha256), uploaded when its uri is http(s) (upload.ts, retried with exponential
 *   backoff and jitter, resumed after a restart), announced by one "recording ready" record (the CDR service's
 *   durable spool, keyed by the journal id, so never twice), and moved to `ready` / `uploaded` in `done/`.
 */
import { rm } from "node:fs/promises";
import { extname } from "node:path";
import {
  listJournal,
  readJournalEntry,
  writeJournalEntry,
  type CompiledHttpPolicy,
  type RecordingJournalData,
} from "../../media/index.js";
import type { RecordingReadyRecord } from "../cdr/recordingReady.js";
import { hashFile, probeDurationMs, profileExtension, remuxInPlace } from "./tools.js";
import { contentTypeOf, redact, uploadFile, UploadRefusedError } from "./upload.js";

export interface RecordingServiceOptions {
  /** files.recordingsRoot, absolute. */
  root: string;
  scanMs: number;
  toolTimeoutMs: number;
  upload: { method: "POST" | "PUT"; timeoutMs: number; retryMinMs: number; retryMaxMs: number; keepSpool: boolean };
  /** The http media policy (config httpMedia) that uploads obey. */
  policy: CompiledHttpPolicy;
  /** Where "recording ready" records go (CdrService.recordingReady); none without CDRs. */
  ready?: { recordingReady(r: RecordingReadyRecord): boolean };
  log: RecordingLogger;
}

/** The subset of pino's logger the service uses. */
export interface RecordingLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** `min · 2^(attempt − 1)` capped at `max`, then a random jitter of up to ±25 %. */
export function uploadBackoffMs(attempt: number, min: number, max: number, random = Math.random): number {
  const base = Math.min(max, min * 2 ** Math.min(Math.max(attempt, 1) - 1, 40));
  return Math.max(min, Math.round(base * (0.75 + 0.5 * random())));
}

const isUpload = (uri: string): boolean => /^https?:/i.test(uri);

/** The URI as it may appear in a record or a log line (no credentials). */
function publicUri(uri: string): string {
  if (!isUpload(uri)) {
    return uri;
  }
  try {
    const u = new URL(uri);
    return u.username === "" && u.password === "" ? u.href : `${redact(u)}${u.search}`;
  } catch {
    return uri;
  }
}

export class RecordingService {
  readonly #o: RecordingServiceOptions;
  /** Entries being finished or uploaded (never twice at once). */
  readonly #busy = new Set<string>();
  /** Uploads waiting for their next attempt: attempts so far and when. */
  readonly #retry = new Map<string, { attempts: number; at: number }>();
  #timer: NodeJS.Timeout | undefined;
  #scanning: Promise<void> = Promise.resolve();
  readonly #tasks = new Set<Promise<void>>();
  #closed = false;
  readonly counters = { recovered: 0, ready: 0, uploaded: 0, uploadFailures: 0, failed: 0 };

  constructor(options: RecordingServiceOptions) {
    this.#o = options;
  }

  /** Finalises every `recording` entry (a crash left them): call before the media workers start. */
  async recoverAll(): Promise<number> {
    let n = 0;
    for (const id of await listJournal(this.#o.root)) {
      const read = await readJournalEntry(this.#o.root, id);
      if (read.ok && read.entry.state === "recording") {
        await this.#recover(read.entry, "the server stopped while it was recording");
        n++;
      } else if (!read.ok) {
        this.#o.log.warn({ id, err: read.error }, "recording: unreadable journal entry left as it is");
      }
    }
    return n;
  }

  /**
   * A media worker died: finalises the `recording` entries this process's workers wrote whose thread is gone
   * (`live`: the thread ids of the workers now running).
   */
  workerDied(live: ReadonlySet<number>): Promise<void> {
    return this.#serial(async () => {
      for (const id of await listJournal(this.#o.root)) {
        const read = await readJournalEntry(this.#o.root, id);
        const e = read.ok ? read.entry : undefined;
        if (e?.state === "recording" && e.pid === process.pid && e.threadId !== 0 && !live.has(e.threadId)) {
          await this.#recover(e, "its media worker died");
        }
      }
    });
  }

  async #recover(e: RecordingJournalData, why: string): Promise<void> {
    const r = await remuxInPlace(e.path, e.profile, this.#o.toolTimeoutMs);
    const next: RecordingJournalData = { ...e, state: "complete", recovered: true };
    if (r.ok) {
      next.durationMs = r.durationMs;
      this.#o.log.warn(
        { id: e.id, uri: publicUri(e.uri), durationMs: r.durationMs, why },
        "recording: interrupted recording finalised",
      );
    } else {
      next.error = r.error;
      this.#o.log.error(
        { id: e.id, uri: publicUri(e.uri), err: r.error, why },
        "recording: interrupted recording could not be finalised; the file is kept as it is",
      );
    }
    await writeJournalEntry(this.#o.root, next);
    this.counters.recovered++;
  }

  /** Starts the periodic scan (and runs one now). */
  start(): void {
    const tick = (): void => {
      void this.scan().finally(() => {
        if (!this.#closed) {
          this.#timer = setTimeout(tick, this.#o.scanMs);
          this.#timer.unref();
        }
      });
    };
    tick();
  }

  /** One pass: every `complete` entry not already in hand is finished (uploads run in the background). */
  scan(): Promise<void> {
    return this.#serial(async () => {
      const now = Date.now();
      for (const id of await listJournal(this.#o.root)) {
        if (this.#closed || this.#busy.has(id) || (this.#retry.get(id)?.at ?? 0) > now) {
          continue;
        }
        const read = await readJournalEntry(this.#o.root, id);
        if (read.ok && read.entry.state === "complete") {
          this.#busy.add(id);
          const task = this.#finish(read.entry)
            .catch((err: unknown) => this.#o.log.error({ id, err: String(err) }, "recording: finishing failed"))
            .finally(() => {
              this.#busy.delete(id);
              this.#tasks.delete(task);
            });
          this.#tasks.add(task);
          if (!isUpload(read.entry.uri)) {
            await task; // local work: one at a time, no burst of hashing
          }
        }
      }
    });
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#scanning.then(fn);
    this.#scanning = next.catch(() => undefined);
    return next;
  }

  async #finish(e0: RecordingJournalData): Promise<void> {
    let e = e0;
    if (e.sha256 === undefined) {
      let measured: { sha256: string; bytes: number };
      try {
        measured = await hashFile(e.path);
      } catch (err) {
        this.counters.failed++;
        this.#o.log.error({ id: e.id, uri: publicUri(e.uri), err: String(err) }, "recording: file is missing");
        await writeJournalEntry(this.#o.root, { ...e, state: "failed", error: `cannot read the file: ${String(err)}` });
        return;
      }
      const durationMs = measured.bytes === 0 ? null : await probeDurationMs(e.path, this.#o.toolTimeoutMs);
      e = {
        ...e,
        ...measured,
        ...(durationMs === null ? {} : { durationMs }),
        ...(durationMs === null && e.error === undefined ? { error: "the file has no readable duration" } : {}),
      };
      await writeJournalEntry(this.#o.root, e); // measured once, also across restarts
    }
    if (!isUpload(e.uri)) {
      this.#announce(e);
      await writeJournalEntry(this.#o.root, { ...e, state: "ready" });
      this.counters.ready++;
      return;
    }
    await this.#upload(e);
  }

  async #upload(e: RecordingJournalData): Promise<void> {
    const u = this.#o.upload;
    try {
      const status = await uploadFile(e.path, e.uri, e.id, {
        method: u.method,
        timeoutMs: u.timeoutMs,
        policy: this.#o.policy,
        contentType: contentTypeOf(extname(e.path) || profileExtension(e.profile)),
      });
      this.#retry.delete(e.id);
      this.#announce(e);
      await writeJournalEntry(this.#o.root, { ...e, state: "uploaded" });
      this.counters.uploaded++;
      this.#o.log.info({ id: e.id, uri: publicUri(e.uri), status, bytes: e.bytes }, "recording: uploaded");
      if (!u.keepSpool) {
        await rm(e.path, { force: true });
      }
    } catch (err) {
      if (err instanceof UploadRefusedError) {
        this.#retry.delete(e.id);
        this.counters.failed++;
        this.#o.log.error(
          { id: e.id, uri: publicUri(e.uri), err: err.message, file: e.path },
          "recording: upload refused by the http policy; the file stays in the spool",
        );
        await writeJournalEntry(this.#o.root, { ...e, state: "failed", error: err.message });
        return;
      }
      const attempts = (this.#retry.get(e.id)?.attempts ?? 0) + 1;
      const delay = uploadBackoffMs(attempts, u.retryMinMs, u.retryMaxMs);
      this.#retry.set(e.id, { attempts, at: Date.now() + delay });
      this.counters.uploadFailures++;
      this.#o.log.warn(
        { id: e.id, uri: publicUri(e.uri), attempts, retryInMs: delay, err: (err as Error).message },
        "recording: upload failed; the file stays spooled and is retried",
      );
    }
  }

  /** The "recording ready" record (stored once per journal id by the CDR service). */
  #announce(e: RecordingJournalData): void {
    const r: RecordingReadyRecord = {
      kind: "recording-ready",
      version: 1,
      recordId: e.id,
      uri: publicUri(e.uri),
      profile: e.profile,
      sizeBytes: e.bytes ?? 0,
      durationMs: e.durationMs ?? null,
      sha256: e.sha256 ?? "",
      recovered: e.recovered === true,
      startTime: e.startedAt,
      readyTime: new Date().toISOString(),
      error: e.error ?? null,
    };
    this.#o.ready?.recordingReady(r);
  }

  /** Stops scanning and waits for the work in hand (uploads end by their own time limit). */
  async stop(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#scanning;
    await Promise.allSettled([...this.#tasks]);
  }
}
