/**
 * The CDR subsystem as main.ts wires it: the SQLite store in `data.dir`, the configured sinks behind the
 * dispatcher, and the recorder that call events feed. cdr/ imports none of its siblings in src/ (architecture.md
 * §4): the config slice and the logger are structural types here.
 */
import { CdrDispatcher } from "./CdrDispatcher.js";
import type { CdrRecord } from "./CdrRecord.js";
import { CdrRecorder } from "./CdrRecorder.js";
import type { CdrSink } from "./CdrSink.js";
import { PostgresCdrSink } from "./PostgresCdrSink.js";
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
}

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
  private readonly log: CdrLogger;
  private readonly lastFailureLog = new Map<string, number>();
  private committed = 0;
  private commitFailures = 0;

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
    if (config.webhookUrl !== "") {
      sinks.push(new WebhookCdrSink({ url: config.webhookUrl, timeoutMs: config.webhookTimeoutMs }));
    }
    this.store = SqliteCdrStore.open(config.dataDir, {
      synchronous: config.synchronous,
      sinks: sinks.map((s) => s.name),
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
    });
    log.info({ file: this.store.file, sinks: sinks.map((s) => s.name) }, "cdr: store open");
    this.dispatcher.start();
  }

  /** Stores a finished record, then wakes the sinks. @throws what SqliteCdrStore.insert throws. */
  commit(r: CdrRecord): void {
    this.store.insert(r);
    this.committed++;
    this.dispatcher.kick();
  }

  /** Counters for /health and tests. */
  stats(): { committed: number; commitFailures: number; openLegs: number; pending: Record<string, number> } {
    return {
      committed: this.committed,
      commitFailures: this.commitFailures,
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

  /** Stops the sinks (waiting for deliveries in flight) and closes the database. Open legs stay unrecorded:
   * end them first (recorder.endAll) on shutdown. */
  async close(): Promise<void> {
    await this.dispatcher.close();
    this.store.close();
  }
}
