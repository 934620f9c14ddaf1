/**
 * Public API of Korus's SIP stack (architecture.md §3). Other folders import only this barrel.
 *
 * Layers (RFC 3261 §5): message syntax (`message/`), transport seam (`transport/`), transactions (`transaction/`).
 * Dialogs, the UA core, digest authentication and trunks build on these.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-5
 */

// Errors and logging seam (architecture.md §4, §5.6).
export { SipParseError, SipResponseError, TransactionStateError, type SipParseErrorInit } from "./errors.js";
export { getLogger, noopLogger, setLoggerFactory, type Logger, type LoggerFactory } from "./logger.js";
export {
  annotation,
  anyCasePattern,
  checkSchema,
  expectedOf,
  refine,
  type RefineIssue,
  type SchemaIssue,
} from "./schema.js";

// Message layer: parser, serializer, URIs and header classes (RFC 3261 §7, §19, §20, §25).
export { AuthHeader, parseAuthHeader, type AuthParam } from "./message/AuthHeader.js";
export { CSeq, parseCSeq } from "./message/CSeq.js";
export { canonicalHeaderName, headerKey } from "./message/headerNames.js";
export {
  assertHeaderLine,
  breaksLine,
  hasControlChar,
  isHeaderName,
  isStackOwnedHeader,
  SipHeaderTextError,
  STACK_OWNED_HEADERS,
} from "./message/headerText.js";
export { MediaType, parseMediaType } from "./message/MediaType.js";
export { parseMultipart, serializeMultipart, type BodyPart } from "./message/multipart.js";
export { NameAddr, parseNameAddr, parseNameAddrList } from "./message/NameAddr.js";
export { Parameters } from "./message/Parameters.js";
export {
  DEFAULT_MAX_HEADER_COUNT,
  KNOWN_METHODS,
  parseMessage,
  type Framing,
  type ParseOptions,
} from "./message/parser.js";
export {
  createResponse,
  createStatelessErrorResponse,
  generateBranch,
  generateTag,
  reasonPhrase,
  REASON_PHRASES,
  type CreateResponseOptions,
} from "./message/responses.js";
export {
  SipMessage,
  SipRequest,
  SipResponse,
  splitHeaderList,
  type HeaderInit,
  type HeaderValue,
} from "./message/SipMessage.js";
export { DEFAULT_MAX_MESSAGE_SIZE, SipStreamFramer, type SipStreamFramerOptions } from "./message/SipStreamFramer.js";
export { GenericUri, hostToAddress, parseSipUri, parseUri, SipUri, TelUri, type Uri } from "./message/uri.js";
export { BRANCH_MAGIC_COOKIE, Via } from "./message/Via.js";

// Transaction layer: RFC 3261 §17 with RFC 6026, timers on an injectable clock.
export { InviteClientTransaction, type InviteClientTransactionOptions } from "./transaction/InviteClientTransaction.js";
export { InviteServerTransaction } from "./transaction/InviteServerTransaction.js";
export {
  cancelTargetId,
  clientTransactionId,
  isCancelFor,
  responseTransactionId,
  serverTransactionId,
} from "./transaction/matching.js";
export { NonInviteClientTransaction } from "./transaction/NonInviteClientTransaction.js";
export { NonInviteServerTransaction } from "./transaction/NonInviteServerTransaction.js";
export { createCancel, createNon2xxAck } from "./transaction/requests.js";
export {
  DEFAULT_TIMER_BASE,
  systemClock,
  timerTable,
  type Clock,
  type TimerBase,
  type TimerHandle,
  type TimerTable,
} from "./transaction/timers.js";
export {
  TimerSet,
  Transaction,
  type TransitionTable,
  type ClientTransactionUser,
  type ServerTransactionUser,
  type TransactionOptions,
  type TransactionUserBase,
} from "./transaction/Transaction.js";
export { TransactionState } from "./transaction/TransactionState.js";
export {
  TransactionLayer,
  TransactionLayerError,
  type ClientTransaction,
  type ServerTransaction,
  type TransactionLayerCore,
  type TransactionLayerOptions,
} from "./transaction/TransactionLayer.js";

// Dialogs (RFC 3261 §12).
export { Dialog, dialogKey, requestDialogKey, uriDestination, type DialogRequestCheck } from "./dialog/Dialog.js";
export { DialogState } from "./dialog/DialogState.js";

// Transport layer: the SipTransport seam, UDP and TCP (RFC 3261 §18, RFC 3581).
export {
  defaultPort,
  isReliableTransport,
  responseDestination,
  stampReceived,
  type InboundMessage,
  type SipDestination,
  type SipTransport,
  type TransportProtocol,
} from "./transport/SipTransport.js";
export { type InboundHandlers } from "./transport/inbound.js";
export { TcpTransport, type TcpTransportOptions } from "./transport/TcpTransport.js";
export { UdpTransport, type UdpTransportOptions } from "./transport/UdpTransport.js";

// UA core and gateway API (RFC 3261 §8, §13–§15, RFC 3262, RFC 3311, RFC 4028).
export {
  ACCEPTED_TYPES,
  ALLOWED_METHODS,
  captureIdentity,
  formatQ850Reason,
  isHoldOffer,
  parseChargingVector,
  parseReasons,
  parseSessionExpires,
  q850Cause,
  mappedQ850,
  statusToQ850,
  SUPPORTED_OPTIONS,
  type CallIdentity,
  type ChargingVector,
  type ReasonValue,
  type SessionExpires,
} from "./ua/headers.js";
export {
  InviteSession,
  SessionStateError,
  type EndOptions,
  type HangupSide,
  type InviteSessionEvents,
  type ProgressOptions,
  type SessionTimerConfig,
  type TerminationInfo,
} from "./ua/InviteSession.js";
export { MediaUnavailableError, type MediaHandler, type OfferRequest } from "./ua/MediaHandler.js";
export { holdDirection, type HoldOptions, type HoldState } from "./ua/SessionHold.js";
export { OfferAnswerState, SessionState } from "./ua/SessionState.js";
export {
  DTMF_RELAY_TYPE,
  DTMF_TYPE,
  DtmfInfoError,
  formatDtmfRelay,
  parseDtmfInfo,
  type DtmfInfoDigit,
} from "./ua/dtmfRelay.js";
export { TypedEmitter, type EventMap } from "./TypedEmitter.js";
export {
  UserAgent,
  UserAgentError,
  type CallOptions,
  type IncomingCall,
  type ListenOptions,
  type UserAgentEvents,
  type UserAgentOptions,
} from "./ua/UserAgent.js";

// Digest authentication (RFC 2617, RFC 3261 §22, RFC 7616, RFC 8760) and trunks (ACLs, rate limit, OPTIONS, REGISTER).
export * from "./auth/index.js";
export * from "./trunk/index.js";
export { TlsTransport, type TlsTransportOptions } from "./transport/TlsTransport.js";
