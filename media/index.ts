/**
 * The media barrel: what src/ may import. It exposes the channel types and the worker entry path, not internals;
 * src/ reaches pipelines only through the channel.
 */
export type {
  ConnectParams,
  FinalMedia,
  FromWorker,
  JsonObject,
  JsonValue,
  MediaKind,
  MediaMethod,
  MediaParams,
  MediaRequest,
  MediaResults,
  ReleaseResult,
  ToWorker,
  WebRtcSettings,
  WorkerDump,
  WorkerMetricsReport,
  WorkerModule,
  WorkerSettings,
} from "./channel/protocol.js";
export { DTMF_OUT_EVENT, MEDIA_KINDS } from "./channel/protocol.js";
export type { SerializedError, KurentoErrorType } from "./errors.js";
export { InvalidStateError, MediaOperationError, UnsupportedError } from "./errors.js";
export type { LogLevel } from "./logger.js";

/** Absolute URL of the compiled worker entry, for `new Worker(...)`. */
export const MEDIA_WORKER_URL: URL = new URL("./mediaWorker.js", import.meta.url);

/** The worker entry of Korus's own "korus" module (SipEndpoint), next to the worker entry `workerScript`. */
export function korusModuleWorkerUrl(workerScript: URL): URL {
  return new URL("./elements/sipModule.js", workerScript);
}
// The durable side of recording (src/recording): the journal the recorder writes, and the http policy for uploads.
export { CompiledHttpPolicy, HttpMediaRefusedError } from "./files/httpMedia.js";
export {
  isJournalId,
  listJournal,
  readJournalEntry,
  writeJournalEntry,
  type JournalRead,
  type RecordingJournalData,
  type RecordingState,
} from "./record/journal.js";
export { JOURNAL_DIR, SPOOL_DIR } from "./record/target.js";
export { openConfined } from "./files/confine.js";
