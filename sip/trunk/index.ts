/**
 * Public API of the trunk layer: validated trunk definitions, the source-address trunk table (IP ACLs), per-source
 * rate limiting, OPTIONS keepalive monitoring and the REGISTER client (issue 3 §5, §6).
 */

export {
  cidrContains,
  formatIpAddress,
  isIpAddress,
  parseCidr,
  parseIpAddress,
  type CidrRange,
  type IpAddress,
} from "./address.js";
export { AddressParseError, TrunkConfigError } from "./errors.js";
export { SourceRateLimiter, type RateDecision, type RateLimiterOptions } from "./RateLimiter.js";
export { statelessResponse } from "./stateless.js";
export {
  keepaliveTarget,
  parseTrunkDefinition,
  parseTrunkDefinitions,
  parseTrunkPeer,
  TRUNK_CODECS,
  trunkListIssue,
  type DtmfMode,
  type TrunkAuthMode,
  type TrunkCodec,
  type TrunkCredentials,
  type TrunkDefinition,
  type TrunkKeepalive,
  type TrunkPeer,
  type TrunkRegistration,
  type TrunkTransport,
} from "./Trunk.js";
export { TrunkSchema, type TrunkInput } from "./schema.js";
export { TrunkTable, type InboundSource, type TrunkClassification, type TrunkTableOptions } from "./TrunkTable.js";
export {
  OptionsKeepalive,
  TrunkState,
  type OptionsKeepaliveEvents,
  type OptionsKeepaliveOptions,
  type ProbeResult,
  type RequestSender,
  type SendOutcome,
  type TrunkStateChange,
} from "./OptionsKeepalive.js";
export { buildRequest, generateCallId, type LocalEndpoint, type OutOfDialogRequestInit } from "./requests.js";
export {
  RegisterClient,
  RegistrationState,
  type RegisterClientEvents,
  type RegisterClientOptions,
  type Registered,
  type RegistrationFailure,
} from "./RegisterClient.js";
export { transactionSender, type ClientTransactionStarter, type NonInviteClientUser } from "./sender.js";
