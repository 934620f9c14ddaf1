/**
 * Public surface of `sdp/`, the only file other folders import (architecture.md §4). Pure TypeScript: no `node:*`
 * module and no third-party package (libraries.md §11: own byte-exact parser).
 *
 * - Model: {@link SessionDescription}, {@link MediaDescription} (RFC 8866);
 * - offer/answer: {@link createAnswer}, {@link createOffer}, {@link processAnswer}, {@link mapPayloadTypes}
 *   (RFC 3264);
 * - attribute parsers and codec fmtp rules, for callers that read single lines (trickle ICE candidates, ...);
 * - errors: {@link SdpParseError}, {@link SdpNegotiationError}.
 */
// Errors (architecture.md §5.6): SdpParseError for bad text, SdpNegotiationError for offers we must refuse.
export { SdpNegotiationError, SdpParseError } from "./errors.js";
export type { SdpNegotiationReason } from "./errors.js";
// Size limits checked before any parse (SDP_LIMITS: length, lines, m= sections, candidates per section).
export { SDP_LIMITS, checkSdpBounds } from "./limits.js";
// A trunk's codec policy (allowed encoding names) applied to a description in place.
export { NoAllowedCodecError, firstAudioCodec, restrictCodecs } from "./codecPolicy.js";
// The model (RFC 8866 §5): a session and its media sections, byte-exact, with typed accessors and edits.
export { SessionDescription, formatOrigin, parseOrigin, parseTiming } from "./SessionDescription.js";
export type { Origin, Timing } from "./SessionDescription.js";
export { MediaDescription, formatMediaLine, isRtpProto, parseMediaLine } from "./MediaDescription.js";
export type { Codec, SdpMediaType, MediaLine, SessionContext } from "./MediaDescription.js";
// Raw line layer and the c= / b= fields shared by both levels.
export {
  addressTypeOf,
  formatConnection,
  isHoldAddress,
  parseAttribute,
  parseBandwidth,
  parseConnection,
} from "./lines.js";
export type { AddressType, Attribute, Bandwidth, Connection, SdpLine } from "./lines.js";
// Offer/answer (RFC 3264): pure functions, no I/O; ports, keys and credentials come in through options.
export {
  codecMatches,
  createAnswer,
  createOffer,
  effectiveDirection,
  hasMandatoryPreconditions,
  mapPayloadTypes,
  offeredPreconditions,
  processAnswer,
} from "./offerAnswer.js";
export type {
  Answer,
  AnswerOptions,
  Capabilities,
  CodecCapability,
  DescriptionOptions,
  LocalDtls,
  LocalIce,
  LocalSource,
  NegotiatedCodec,
  NegotiatedMedia,
  OfferOptions,
  RemoteTransport,
} from "./offerAnswer.js";
// Attribute families, one module each: ICE candidates (RFC 8839), SDES (RFC 4568), direction (RFC 3264 §6.1),
// header extensions (RFC 8285), DTLS (RFC 5763 / RFC 8122), fmtp incl. AMR/H.264/Opus/DTMF rules, groups and
// RTCP port (RFC 5888 / RFC 8843 / RFC 3605), preconditions (RFC 3312), rtcp-fb (RFC 4585), rtpmap (RFC 3551),
// source attributes (RFC 5576).
export { formatCandidate, parseCandidate } from "./attributes/candidate.js";
export type { Candidate, IceParameters } from "./attributes/candidate.js";
export { formatCrypto, parseCrypto, parseInlineKey } from "./attributes/crypto.js";
export type { Crypto, InlineKey } from "./attributes/crypto.js";
export { DIRECTIONS, answerDirection, directionOf, isDirection, receives, sends } from "./attributes/direction.js";
export type { Direction } from "./attributes/direction.js";
export { formatExtmap, parseExtmap } from "./attributes/extmap.js";
export type { Extmap } from "./attributes/extmap.js";
export { answerSetup, formatFingerprint, parseFingerprint, parseSetup } from "./attributes/fingerprint.js";
export type { Fingerprint, SetupRole } from "./attributes/fingerprint.js";
export {
  AMR_INVARIANT_PARAMETERS,
  amrCompatible,
  formatEventList,
  formatFmtp,
  formatFmtpParameters,
  h264AnswerParameters,
  h264Compatible,
  parseAmrParameters,
  parseEventList,
  parseFmtp,
  parseFmtpParameters,
  parseOpusParameters,
  parseProfileLevelId,
} from "./attributes/fmtp.js";
export type { AmrParameters, Fmtp, H264Profile, OpusParameters, ProfileLevelId } from "./attributes/fmtp.js";
export { formatGroup, parseGroup, parseRtcp } from "./attributes/group.js";
export type { Group, RtcpAttribute } from "./attributes/group.js";
export {
  PRECONDITION_ATTRIBUTES,
  formatPrecondition,
  isPreconditionAttribute,
  parsePrecondition,
} from "./attributes/preconditions.js";
export type {
  Precondition,
  PreconditionDirection,
  PreconditionStatus,
  PreconditionStatusType,
  PreconditionStrength,
} from "./attributes/preconditions.js";
export { formatRtcpFb, parseRtcpFb, rtcpFbKey } from "./attributes/rtcpFb.js";
export type { RtcpFb } from "./attributes/rtcpFb.js";
export {
  STATIC_PAYLOAD_TYPES,
  formatRtpmap,
  isDynamicPayloadType,
  parsePayloadType,
  parseRtpmap,
  sameEncodingName,
} from "./attributes/rtpmap.js";
export type { Rtpmap } from "./attributes/rtpmap.js";
export { formatSsrc, formatSsrcGroup, parseSsrc, parseSsrcGroup } from "./attributes/ssrc.js";
export type { SsrcAttribute, SsrcGroup } from "./attributes/ssrc.js";
