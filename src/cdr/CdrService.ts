/**
 * The CDR subsystem as main.ts wires it: the SQLite store in `data.dir`, the configured sinks behind the
 * dispatcher, the recorder that call events feed, and the journal of open calls (CdrJournal.ts): at start-up the
 * calls a crash left open are closed (end reason `server-crash`), then one batched journal write every
 * `journalIntervalMs` marks the open calls alive. cdr/ imports none of its siblings in src/ (architecture.md
 * §4): the config slice and the logger are structural types here.
 */
import { randomUUID } from "node:crypto";
import { CdrDispatcher } from "./CdrDispatcher.js";
import type { CdrRecord } from "./CdrRecord.js";
import { CdrRecorder } from "./CdrRecorder.js";
import type { CdrSink } from "./CdrSink.js";
import { PostgresCdrSink } from "./PostgresCdrSink.js";
import type { RecordingReadyRecord } from "./recordingReady.js";
import { SqliteCdrStore, type SqliteSynchronous } from "./SqliteCdrStore.js";
import { WebhookCdrSink } from "./WebhookCdrSink.js";

/** The `cdr` config section (src/config/schema.ts) plus `data.dir`. */
export interface CdrServiceConfig {
  dataDir: string;
  synchronous: SqliteSynchronous;
  postgresUrl: string;
  postgresTable: string;
  webhookUrl: string;
  webhookTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  /** Period of the batched journal write (default {@link DEFAULT_JOURNAL_INTERVAL_MS}). */
  journalIntervalMs?: number;
}

export const DEFAULT_JOURNAL_INTERVAL_MS = 2_000;

/** The parts of KorusConfig the service reads (structural, so cdr/ does not import src/config). */
export interface CdrConfigSource {
  data: { dir: string };
  cdr: Omit<CdrServiceConfig, "dataDir"> & { enabled: boolean };
}

/** The service configuration from the `data` and `cdr` config sections. */
export function cdrServiceConfig(cfg: CdrConfigSource): CdrServiceConfig {
  const { enabled: _enabled, ...cdr } = cfg.cdr;
  return { ...cdr, dataDir: cfg.data.dir };
}

/** The subset of pino's logger the service uses. */
export interface CdrLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Minimum time between two "sink failing" log lines of one sink. */
const FAILURE_LOG_INTERVAL_MS = 10_000;

export class CdrService {
  readonly store: SqliteCdrStore;
  readonly recorder: CdrRecorder;
  readonly dispatcher: CdrDispatcher;
  /** Feeds the "recording ready" records (recordingReady.ts) to the webhook sink, from their own spool table. */
  readonly readyDispatcher: CdrDispatcher<RecordingReadyRecord>;
  private readonly log: CdrLogger;
  private readonly lastFailureLog = new Map<string, number>();
  private committed = 0;
  private commitFailures = 0;
  private journalFailures = 0;
  private lastJournalErrorLog = 0;
  private readonly journalTimer: NodeJS.Timeout;
  /** Records of calls a crash left open, closed at start-up. */
  readonly recovered: number;

  /**
   * Opens the store and starts delivering any spooled records.
   * @throws CdrStoreError when the database cannot be opened.
   */
  constructor(config: CdrServiceConfig, log: CdrLogger, extraSinks: readonly CdrSink[] = []) {
    this.log = log;
    const sinks: CdrSink[] = [...extraSinks];
    if (config.postgresUrl !== "") {
      sinks.push(
        new PostgresCdrSink({
          url: config.postgresUrl,
          table: config.postgresTable,
          onIdleError: (err) => log.warn({ err: err.message }, "cdr: PostgreSQL idle connection error"),
        }),
      );
    }
    // "Recording ready" records go to the webhook only (a CDR table is no place for them).
    const readySinks: CdrSink<RecordingReadyRecord>[] = [];
    if (config.webhookUrl !== "") {
      sinks.push(new WebhookCdrSink({ url: config.webhookUrl, timeoutMs: config.webhookTimeoutMs }));
      readySinks.push(
        new WebhookCdrSink<RecordingReadyRecord>({ url: config.webhookUrl, timeoutMs: config.webhookTimeoutMs }),
      );
    }
    this.store = SqliteCdrStore.open(config.dataDir, {
      synchronous: config.synchronous,
      sinks: sinks.map((s) => s.name),
      readySinks: readySinks.map((s) => s.name),
    });
    this.dispatcher = new CdrDispatcher({
      store: this.store,
      sinks,
      retryMinMs: config.retryMinMs,
      retryMaxMs: config.retryMaxMs,
      onFailure: (sink, err, attempts) => this.logFailure(sink, err, attempts),
    });
    this.recorder = new CdrRecorder({
      commit: (r) => this.commit(r),
      onCommitError: (err, r) => {
        this.commitFailures++;
        log.error({ err: String(err), record: r }, "cdr: record could not be stored; logged here instead");
      },
      journal: this.store.journal(randomUUID()),
      onJournalError: (err, recordId) => this.logJournalError(err, recordId),
    });
    const recovered = this.recorder.recover();
    this.recovered = recovered.length;
    if (recovered.length > 0) {
      log.warn(
        {
          records: recovered.length,
          answered: recovered.filter((r) => r.answerTime !== null).length,
          recordIds: recovered.map((r) => r.recordId),
        },
        "cdr: closed calls left open by a crash (end_reason server-crash)",
      );
    }
    const intervalMs = config.journalIntervalMs ?? DEFAULT_JOURNAL_INTERVAL_MS;
    this.journalTimer = setInterval(() => this.recorder.flushJournal(), intervalMs);
    this.journalTimer.unref();
    this.readyDispatcher = new CdrDispatcher({
      store: this.store.readySpool,
      sinks: readySinks,
      retryMinMs: config.retryMinMs,
      retryMaxMs: config.retryMaxMs,
      onFailure: (sink, err, attempts) => this.logFailure(`${sink} (recording ready)`, err, attempts),
    });
    log.info({ file: this.store.file, sinks: sinks.map((s) => s.name) }, "cdr: store open");
    this.dispatcher.start();
    this.readyDispatcher.start();
  }

  /**
   * Stores a "recording ready" record and wakes its sinks; a record already stored (same recordId) is not stored or
   * sent again. @returns true when it was new. @throws what SqliteCdrStore.insertReady throws.
   */
  recordingReady(r: RecordingReadyRecord): boolean {
    const fresh = this.store.insertReady(r);
    if (fresh) {
      this.readyDispatcher.kick();
    }
    return fresh;
  }

  private logJournalError(err: unknown, recordId: string): void {
    this.journalFailures++;
    const now = Date.now();
    if (now - this.lastJournalErrorLog < FAILURE_LOG_INTERVAL_MS) {
      return;
    }
    this.lastJournalErrorLog = now;
    this.log.error(
      { err: err instanceof Error ? err.message : String(err), recordId, failures: this.journalFailures },
      "cdr: journal write failed; a crash now could lose this open call's record",
    );
  }

  /** Called with every record once stored (metrics); a listener that throws is ignored. */
  readonly committedListeners: ((r: CdrRecord) => void)[] = [];

  /** Stores a finished record, then wakes the sinks. @throws what SqliteCdrStore.insert throws. */
  commit(r: CdrRecord): void {
    this.store.insert(r);
    this.committed++;
    this.dispatcher.kick();
    for (const l of this.committedListeners) {
      try {
        l(r);
      } catch {
        // an observer never fails a commit
      }
    }
  }

  /** Counters for /health and tests. */
  stats(): {
    committed: number;
    commitFailures: number;
    journalFailures: number;
    openLegs: number;
    pending: Record<string, number>;
  } {
    return {
      committed: this.committed,
      commitFailures: this.commitFailures,
      journalFailures: this.journalFailures,
      openLegs: this.recorder.openLegs,
      pending: this.dispatcher.pending(),
    };
  }

  private logFailure(sink: string, err: unknown, attempts: number): void {
    const now = Date.now();
    if (now - (this.lastFailureLog.get(sink) ?? 0) < FAILURE_LOG_INTERVAL_MS) {
      return;
    }
    this.lastFailureLog.set(sink, now);
    this.log.warn(
      { sink, attempts, err: err instanceof Error ? err.message : String(err), pending: this.store.pendingCount(sink) },
      "cdr: sink delivery failing; records stay spooled and are retried",
    );
  }

  /** Stops the sinks (waiting for deliveries in flight) and closes the database. Open legs stay in the journal
   * (closed as `server-crash` at the next start): end them first (recorder.endAll) on shutdown. */
  async close(): Promise<void> {
    clearInterval(this.journalTimer);
    if (this.recorder.openLegs > 0) {
      this.recorder.flushJournal();
    }
    await this.dispatcher.close();
    await this.readyDispatcher.close();
    this.store.close();
  }
}
