/**
 * Call detail records (issue 5 §5): the record type, the recorder that call events feed, the SQLite store, the
 * sinks and their dispatcher, and the export formats. main.ts wires {@link CdrService}.
 */
export {
  CDR_COLUMNS,
  CDR_VERSION,
  CdrDirection,
  CdrError,
  Disposition,
  HangupSide,
  IcidOrigin,
  flattenCdr,
  validateCdr,
  type BotOutcome,
  type CdrBot,
  type CdrColumn,
  type CdrMedia,
  type CdrRecord,
  type RtpDirectionStats,
} from "./CdrRecord.js";
export { CdrDispatcher, backoffMs, type CdrDispatcherOptions } from "./CdrDispatcher.js";
export { type CdrJournal, type JournalEntry, type LeftOpenEntry } from "./CdrJournal.js";
export {
  CdrRecorder,
  SERVER_CRASH,
  type CdrRecorderOptions,
  type LegBotState,
  type LegEnd,
  type LegMedia,
  type LegStart,
  type LegStats,
} from "./CdrRecorder.js";
export {
  CdrService,
  DEFAULT_JOURNAL_INTERVAL_MS,
  cdrServiceConfig,
  type CdrConfigSource,
  type CdrLogger,
  type CdrServiceConfig,
} from "./CdrService.js";
export { CdrSinkError, type CdrSink } from "./CdrSink.js";
export { formatPChargingVector, icidFromPChargingVector, originalCalledNumber, partyUri } from "./headers.js";
export { deriveDisposition, q850FromReasonHeader, q850FromSipStatus, type OutcomeFacts } from "./disposition.js";
export { estimateMos, mosFromR, type EmodelInput, type EmodelResult } from "./emodel.js";
export { EXPORT_FORMATS, csvField, csvHeader, csvRow, exportLines, jsonLine, type ExportFormat } from "./export.js";
export { PostgresCdrSink, postgresSchema, type PostgresCdrSinkOptions } from "./PostgresCdrSink.js";
export {
  CDR_DB_FILE,
  CDR_SCHEMA_VERSION,
  CdrStoreError,
  SqliteCdrStore,
  type SqliteCdrStoreOptions,
  type SqliteSynchronous,
  type TimeRange,
} from "./SqliteCdrStore.js";
export { WebhookCdrSink, type WebhookCdrSinkOptions } from "./WebhookCdrSink.js";
export { RECORDING_READY_KIND, RECORDING_READY_VERSION, type RecordingReadyRecord } from "./recordingReady.js";
export { SqliteSpool, type DeliverySpool } from "./SqliteSpool.js";
