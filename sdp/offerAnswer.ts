/**
 * The offer/answer model of RFC 3264 as pure functions over {@link SessionDescription}:
 *
 * - {@link createAnswer}: answer a remote offer from local capabilities: codec and payload type intersection with
 *   the fmtp rules of each codec, direction and hold, port-0 refusal, BUNDLE and rtcp-mux, ICE/DTLS/SDES transport
 *   attributes, ptime, and preconditions;
 * - {@link createOffer}: build an offer for an RTP (or WebRTC) endpoint from the same capabilities;
 * - {@link processAnswer}: read the remote answer to one of our offers into the same negotiated shape;
 * - {@link mapPayloadTypes}: the payload type translation table between two legs of a bridge.
 *
 * Nothing here does I/O: ports, keys, ICE credentials and fingerprints come in through the options, so the same
 * function serves the SIP gateway (plain RTP/AVP towards a trunk) and the WebRtcEndpoint (UDP/TLS/RTP/SAVPF).
 *
 * @see https://www.rfc-editor.org/rfc/rfc3264
 */
import { SdpNegotiationError } from "./errors.js";
import type { MediaDescription, SdpMediaType } from "./MediaDescription.js";
import { isRtpProto } from "./MediaDescription.js";
import { SessionDescription } from "./SessionDescription.js";
import { addressTypeOf, isHoldAddress } from "./lines.js";
import type { Candidate, IceParameters } from "./attributes/candidate.js";
import type { Crypto } from "./attributes/crypto.js";
import { formatCrypto } from "./attributes/crypto.js";
import type { Direction } from "./attributes/direction.js";
import { answerDirection, directionOf, receives, sends } from "./attributes/direction.js";
import type { Fingerprint, SetupRole } from "./attributes/fingerprint.js";
import { answerSetup, formatFingerprint } from "./attributes/fingerprint.js";
import {
  amrCompatible,
  formatEventList,
  formatFmtpParameters,
  h264AnswerParameters,
  h264Compatible,
  parseEventList,
  parseFmtpParameters,
} from "./attributes/fmtp.js";
import type { Precondition } from "./attributes/preconditions.js";
import { rtcpFbKey } from "./attributes/rtcpFb.js";
import { STATIC_PAYLOAD_TYPES, sameEncodingName } from "./attributes/rtpmap.js";

// =================================================================================================================
// Capabilities and options
// =================================================================================================================

/**
 * One codec the local endpoint can send and receive.
 *
 * `parameters` is fmtp text with a per-codec meaning:
 * - offers: written as the fmtp of the payload type;
 * - AMR / AMR-WB: the packing and mode constraints (`octet-align=1`, `mode-set=...`); list one capability per
 *   packing to accept both (RFC 4867 §8.3.1, see {@link amrCompatible});
 * - H.264: our `profile-level-id`, `packetization-mode` and `level-asymmetry-allowed` (RFC 6184 §8.2.2);
 * - telephone-event: the events we support, e.g. `0-15` (RFC 4733 §2.4.1);
 * - Opus, VP8 and the rest: our receive preferences, written as is into the answer (RFC 7587 §7).
 */
export interface CodecCapability {
  /** Encoding name as it should be written (`opus`, `PCMU`, `AMR-WB`, `telephone-event`, `VP8`, `rtx`, ...). */
  readonly name: string;
  readonly clockRate: number;
  /** Audio channels; default 1 (Opus is always 2 in SDP, RFC 7587 §7). */
  readonly channels?: number;
  readonly parameters?: string;
  /** RTCP feedback we support, as `type` or `type subtype` strings: `"nack"`, `"nack pli"`, `"ccm fir"`, ... */
  readonly rtcpFeedback?: readonly string[];
  /** Payload type for offers when it is free (dynamic codecs get 96+ otherwise). */
  readonly preferredPayloadType?: number;
  /**
   * Accepted in answers but never offered: a variant we can take when a peer offers it (e.g. H.264 packetization
   * mode 0 for a peer whose offer has no fmtp, RFC 6184 §8.1) without adding a payload type to our own offers.
   */
  readonly answerOnly?: boolean;
}

/** Local capabilities, per media kind, in preference order. */
export interface Capabilities {
  readonly audio?: readonly CodecCapability[];
  readonly video?: readonly CodecCapability[];
  /** RTP header extension URIs we understand, per kind (RFC 8285); offered ids are kept in answers. */
  readonly headerExtensions?: { readonly audio?: readonly string[]; readonly video?: readonly string[] };
}

/** ICE parameters of the local side. `candidates` are raw `a=candidate:` values. */
export interface LocalIce {
  readonly ufrag: string;
  readonly pwd: string;
  readonly lite?: boolean;
  readonly options?: readonly string[];
  readonly candidates?: readonly string[];
  readonly endOfCandidates?: boolean;
}

/** DTLS parameters of the local side (RFC 5763 §5). */
export interface LocalDtls {
  readonly fingerprints: readonly Fingerprint[];
  /** Our role when the peer offers `actpass` (answers), or what we offer (offers, default `actpass`). */
  readonly setup?: SetupRole;
}

/** A local media source announced with `a=ssrc` / `a=msid` (RFC 5576, RFC 8830). */
export interface LocalSource {
  readonly ssrc: number;
  readonly cname: string;
  /** `<stream id> <track id>` */
  readonly msid?: string;
}

/** Options shared by {@link createOffer} and {@link createAnswer}. */
export interface DescriptionOptions {
  /** Our media address, written into `o=` and `c=`; IPv6 literals give `IP6`. */
  readonly address: string;
  /**
   * RTP port per transport. A function gets the m-line index and kind; a number is used for the first transport
   * and increased by 2 for each further one (RTP/RTCP pairs, RFC 3550 §11).
   */
  readonly port: number | ((index: number, kind: SdpMediaType) => number);
  readonly username?: string;
  /** `<sess-id>`; defaults to the current time in milliseconds. */
  readonly sessionId?: string;
  readonly sessionVersion?: string;
  /** `s=`; RFC 8866 §5.3 suggests `-` when there is no name. */
  readonly sessionName?: string;
  /** What we want to do with media (default `sendrecv`); hold is `sendonly`, mute-both is `inactive`. */
  readonly direction?: Direction;
  readonly ptime?: number;
  readonly maxptime?: number;
  readonly ice?: LocalIce;
  readonly dtls?: LocalDtls;
  /** SDES keys per crypto suite: base64 of master key ‖ salt (RFC 4568 §6.1). The caller generates them. */
  readonly sdes?: Readonly<Record<string, string>>;
  /** Offer or accept `a=rtcp-mux` (RFC 5761). Answers default to true; offers default to true only with DTLS. */
  readonly rtcpMux?: boolean;
  /** Offer or accept BUNDLE (RFC 8843). Answers default to true; offers default to true only with DTLS. */
  readonly bundle?: boolean;
  /** Our sources per kind, announced only when we send. */
  readonly sources?: Partial<Record<string, LocalSource>>;
}

/** Options of {@link createAnswer}. */
export interface AnswerOptions extends DescriptionOptions {
  /**
   * How the offer's SIP request listed the `precondition` option tag (RFC 3312 §11): `"supported"` (the default,
   * also right for non-SIP offers) answers without precondition attributes; `"required"` (`Require:
   * precondition`) makes {@link createAnswer} throw, since Korus cannot take part in resource reservation.
   */
  readonly preconditions?: "supported" | "required";
  /**
   * Answer with at most one primary codec per stream (plus the telephone-event, CN and rtx that go with it), as
   * SIP gateways usually do to avoid codec switching mid-call. Default false.
   */
  readonly singleCodec?: boolean;
}

/** Options of {@link createOffer}. */
export interface OfferOptions extends DescriptionOptions {
  /** Kinds to offer, one m-line each, in order; default: every kind with capabilities (audio, then video). */
  readonly media?: readonly ("audio" | "video")[];
  /** Transport protocol; default `UDP/TLS/RTP/SAVPF` with DTLS, `RTP/SAVP` with SDES, else `RTP/AVP`. */
  readonly proto?: string;
}

// =================================================================================================================
// Results
// =================================================================================================================

/** One codec both sides agreed on. */
export interface NegotiatedCodec {
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** Payload type we receive with (the PT in our SDP). */
  readonly payloadType: number;
  /** Payload type we send with (the PT in the remote SDP, RFC 3264 §6.1). */
  readonly sendPayloadType: number;
  /** fmtp text of our SDP for this codec, if any. */
  readonly parameters?: string;
  /** fmtp text of the remote SDP for this codec, if any. */
  readonly remoteParameters?: string;
  /** Feedback both sides listed (`"nack"`, `"nack pli"`, ...). */
  readonly rtcpFeedback: readonly string[];
}

/** The remote transport of one stream. */
export interface RemoteTransport {
  /** From `c=` (media or session level); `undefined` if absent. */
  readonly address: string | undefined;
  readonly port: number;
  readonly rtcpPort: number;
  readonly rtcpMux: boolean;
  readonly ice: IceParameters | undefined;
  readonly candidates: readonly Candidate[];
  readonly fingerprints: readonly Fingerprint[];
  readonly setup: SetupRole | undefined;
  /** The remote ptime preference (RFC 8866 §6.4), if given. */
  readonly ptime: number | undefined;
  readonly maxptime: number | undefined;
}

/** The outcome for one m-line. */
export interface NegotiatedMedia {
  readonly index: number;
  readonly mid: string | undefined;
  readonly kind: SdpMediaType;
  readonly proto: string;
  readonly accepted: boolean;
  /** Why a stream was rejected, for logs. */
  readonly rejectReason?: string;
  /** Our port for this stream (0 when rejected). */
  readonly port: number;
  /** Our direction for this stream, from our point of view. */
  readonly direction: Direction;
  readonly codecs: readonly NegotiatedCodec[];
  readonly rtcpMux: boolean;
  /** Whether the stream shares the BUNDLE transport (RFC 8843). */
  readonly bundled: boolean;
  readonly remote: RemoteTransport;
  /** Our DTLS role (RFC 5763 §5), if DTLS is used. */
  readonly setup?: SetupRole;
  /** SDES: the remote crypto line chosen and ours (RFC 4568 §7.1.3). */
  readonly crypto?: { readonly remote: Crypto; readonly local: Crypto };
}

/** What {@link createAnswer} returns. */
export interface Answer {
  readonly sdp: SessionDescription;
  readonly media: readonly NegotiatedMedia[];
}

// =================================================================================================================
// Codec intersection
// =================================================================================================================

/** Payload formats that only make sense next to a primary codec (RFC 4733, RFC 3389, RFC 4588, RFC 2198, RFC 5109). */
const AUXILIARY = ["telephone-event", "cn", "rtx", "red", "ulpfec", "flexfec-03"];

function isAuxiliary(name: string): boolean {
  return AUXILIARY.includes(name.toLowerCase());
}

/** Audio channel count with the RFC 8866 §6.6 default of 1; video has none. */
function channelsOf(kind: SdpMediaType, channels: number | undefined): number | undefined {
  return kind === "audio" ? (channels ?? 1) : undefined;
}

/**
 * Whether an offered codec and a capability are the same codec: same encoding name (case-insensitive, RFC 4855
 * §3), same clock rate and same channel count, plus the codec-specific fmtp rules (AMR packing and modes, RFC 4867
 * §8.3.1; H.264 profile and packetization mode, RFC 6184 §8.2.2).
 */
export function codecMatches(
  kind: SdpMediaType,
  offered: {
    readonly name: string;
    readonly clockRate: number;
    readonly channels?: number;
    readonly parameters?: string;
  },
  capability: CodecCapability,
): boolean {
  if (!sameEncodingName(offered.name, capability.name) || offered.clockRate !== capability.clockRate) {
    return false;
  }
  if (channelsOf(kind, offered.channels) !== channelsOf(kind, capability.channels)) {
    return false;
  }
  // Only codecs whose fmtp changes the bitstream need a closer look; for the others (Opus, VP8, G.711, ...) the
  // fmtp holds receiver preferences that never prevent a match.
  const name = offered.name.toLowerCase();
  const o = parseFmtpParameters(offered.parameters ?? "");
  const c = parseFmtpParameters(capability.parameters ?? "");
  if (name === "amr" || name === "amr-wb") {
    return amrCompatible(o, c);
  }
  if (name === "h264") {
    return h264Compatible(o, c);
  }
  return true;
}

/**
 * The fmtp text our answer carries for an accepted codec (`undefined` = no fmtp line).
 *
 * - AMR / AMR-WB: the offer's text verbatim. RFC 4867 §8.3.1 binds the answer to the offered packing, mode-set and
 *   mode-change parameters, and "an answer without octet-align means bandwidth-efficient", so an octet-aligned PT
 *   must never be answered with a bare rtpmap (sip-ims.md §4.2).
 * - H.264: {@link h264AnswerParameters}.
 * - telephone-event: the intersection of the offered and supported events (RFC 4733 §2.4.1).
 * - rtx and audio RED: the offer's text (`apt=` / the redundancy list refer to the offer's payload types).
 * - everything else: our own receive preferences (RFC 7587 §7 for Opus; VP8's max-fr/max-fs, RFC 7741 §6.1).
 */
function answerParameters(
  offered: { readonly name: string; readonly parameters?: string },
  capability: CodecCapability,
): string | undefined {
  const name = offered.name.toLowerCase();
  switch (name) {
    case "amr":
    case "amr-wb":
    case "rtx":
    case "red": {
      return offered.parameters;
    }
    case "h264": {
      return formatFmtpParameters(
        h264AnswerParameters(
          parseFmtpParameters(offered.parameters ?? ""),
          parseFmtpParameters(capability.parameters ?? ""),
        ),
      );
    }
    case "telephone-event": {
      if (offered.parameters === undefined) {
        return undefined;
      }
      const ours = parseEventList(capability.parameters);
      return formatEventList(parseEventList(offered.parameters).filter((e) => ours.includes(e)));
    }
    default: {
      return capability.parameters;
    }
  }
}

interface Selected {
  readonly offered: {
    readonly payloadType: number;
    readonly name: string;
    readonly clockRate: number;
    readonly channels?: number;
    readonly parameters?: string;
    readonly rtcpFeedback: readonly {
      readonly payloadType: number | "*";
      readonly type: string;
      readonly subtype?: string;
    }[];
  };
  readonly capability: CodecCapability;
  readonly parameters: string | undefined;
  readonly rtcpFeedback: string[];
}

/**
 * Intersects the codecs of an offered section with local capabilities (RFC 3264 §6.1: "the answerer MUST ... use
 * the same payload type numbers as the offer"; the answer lists a subset of the offered formats, here in the
 * offer's preference order).
 *
 * Auxiliary formats follow their primary codecs: telephone-event and CN are kept only at the clock rate of an
 * accepted primary codec (RFC 4733 §2.1: the event clock "SHOULD" be that of the audio codec; RFC 3389 §4 for CN);
 * rtx only when its `apt` names an accepted payload type (RFC 4588 §8.6); RED only when every payload type of its
 * redundancy list is accepted (RFC 2198 §5).
 */
function intersect(
  media: MediaDescription,
  capabilities: readonly CodecCapability[],
  singleCodec: boolean,
): Selected[] {
  const kind = media.kind;
  // Pass 1, primary codecs in the offerer's preference order; each takes the first matching capability, so a
  // capability list with both AMR packings serves a BE and an OA payload type of the same offer.
  const primary: Selected[] = [];
  for (const codec of media.codecs) {
    if (isAuxiliary(codec.name)) {
      continue;
    }
    const capability = capabilities.find((c) => codecMatches(kind, codec, c));
    if (capability === undefined) {
      continue;
    }
    primary.push(select(codec, capability));
    if (singleCodec) {
      break;
    }
  }
  // Pass 2, auxiliary formats, which depend on what pass 1 accepted (their clock rate or the PTs they refer to).
  const accepted = new Set(primary.map((s) => s.offered.payloadType));
  const rates = new Set(primary.map((s) => s.offered.clockRate));
  const auxiliary: Selected[] = [];
  for (const codec of media.codecs) {
    const name = codec.name.toLowerCase();
    if (!isAuxiliary(name)) {
      continue;
    }
    const capability = capabilities.find((c) => codecMatches(kind, codec, c));
    if (capability === undefined) {
      continue;
    }
    const params = parseFmtpParameters(codec.parameters ?? "");
    const ok =
      name === "telephone-event" || name === "cn"
        ? rates.has(codec.clockRate)
        : name === "rtx"
          ? accepted.has(Number(params.get("apt")))
          : name === "red" && kind === "audio"
            ? (params.get("") ?? "").split("/").every((pt) => accepted.has(Number(pt)))
            : primary.length > 0;
    const selected = select(codec, capability);
    // An empty event intersection means we understand none of the offered events: drop the payload type.
    if (ok && selected.parameters !== "") {
      auxiliary.push(selected);
    }
  }
  const keep = new Set([...primary, ...auxiliary].map((s) => s.offered.payloadType));
  const all = [...primary, ...auxiliary];
  // Restore the offer's order across primary and auxiliary formats.
  return media.codecs
    .filter((c) => keep.has(c.payloadType))
    .flatMap((c) => all.filter((s) => s.offered.payloadType === c.payloadType));
}

// Builds the selection record of one accepted codec: answer fmtp and the rtcp-fb both sides listed (RFC 4585
// §4.2: feedback not listed by the answerer must not be used).
function select(offered: Selected["offered"], capability: CodecCapability): Selected {
  const ours = capability.rtcpFeedback ?? [];
  const rtcpFeedback = [...new Set(offered.rtcpFeedback.map(rtcpFbKey))].filter((f) => ours.includes(f));
  return { offered, capability, parameters: answerParameters(offered, capability), rtcpFeedback };
}

// =================================================================================================================
// Preconditions
// =================================================================================================================

/** Every precondition attribute of a description, per media section (RFC 3312 §5). */
export function offeredPreconditions(sdp: SessionDescription): Precondition[] {
  return sdp.media.flatMap((m) => m.preconditions);
}

/**
 * Whether any desired-status line has strength `mandatory` (RFC 3312 §5.1). RFC 3312 §11 says such an offer is sent
 * with `Require: precondition`, but VoLTE handsets send it with `Supported` only (sip-ims.md §4.3), so the SIP
 * header, not this flag, decides whether to refuse.
 */
export function hasMandatoryPreconditions(sdp: SessionDescription): boolean {
  return offeredPreconditions(sdp).some((p) => p.status === "des" && p.strength === "mandatory");
}

// =================================================================================================================
// Builders
// =================================================================================================================

// Collects lines as `type=value` strings; joined with CRLF as RFC 8866 §5 requires.
// The result is re-parsed with SessionDescription.parse(), which validates what we generate with the same rules
// as what we receive.
class Lines {
  readonly #lines: string[] = [];
  /** Appends a `<type>=<value>` line. */
  add(type: string, value: string): void {
    this.#lines.push(`${type}=${value}`);
  }
  /** Appends `a=<name>` or `a=<name>:<value>`. */
  attr(name: string, value?: string): void {
    this.add("a", value === undefined ? name : `${name}:${value}`);
  }
  /** The text with CRLF after every line, the last one included. */
  text(): string {
    return this.#lines.map((l) => `${l}\r\n`).join("");
  }
}

// The RTP port of the n-th transport: the caller's allocator, or consecutive even ports from a base (RFC 3550 §11
// recommends an even RTP port with RTCP on the next odd one).
function portFor(options: DescriptionOptions, transportIndex: number, mLineIndex: number, kind: SdpMediaType): number {
  return typeof options.port === "function" ? options.port(mLineIndex, kind) : options.port + 2 * transportIndex;
}

// v=, o=, s=, c= and t= (RFC 8866 §5 order) plus a=ice-lite, which is session-level only (RFC 8839 §5.3).
function sessionHeader(lines: Lines, options: DescriptionOptions): void {
  const addressType = addressTypeOf(options.address);
  // RFC 8866 §5.2: "<sess-id> is a numeric string ... suggested that [it] be an NTP format timestamp".
  const sessionId = options.sessionId ?? `${Date.now()}`;
  lines.add("v", "0");
  lines.add(
    "o",
    `${options.username ?? "-"} ${sessionId} ${options.sessionVersion ?? "1"} IN ${addressType} ${options.address}`,
  );
  lines.add("s", options.sessionName ?? "-");
  lines.add("c", `IN ${addressType} ${options.address}`);
  lines.add("t", "0 0");
  if (options.ice?.lite === true) {
    lines.attr("ice-lite");
  }
}

// ICE credentials, DTLS fingerprints and role, then candidates (only where `candidates` is true).
function transportAttributes(
  lines: Lines,
  options: DescriptionOptions,
  setup: SetupRole | undefined,
  candidates: boolean,
): void {
  if (options.ice !== undefined) {
    lines.attr("ice-ufrag", options.ice.ufrag);
    lines.attr("ice-pwd", options.ice.pwd);
    if (options.ice.options !== undefined && options.ice.options.length > 0) {
      lines.attr("ice-options", options.ice.options.join(" "));
    }
  }
  if (options.dtls !== undefined && setup !== undefined) {
    for (const f of options.dtls.fingerprints) {
      lines.attr("fingerprint", formatFingerprint(f));
    }
    lines.attr("setup", setup);
  }
  if (options.ice !== undefined && candidates) {
    for (const c of options.ice.candidates ?? []) {
      lines.attr("candidate", c.startsWith("candidate:") ? c.slice("candidate:".length) : c);
    }
    if (options.ice.endOfCandidates === true) {
      lines.attr("end-of-candidates");
    }
  }
}

// rtpmap, fmtp and rtcp-fb per payload type, grouped per codec as browsers write them. The channel count is only
// written when it is not the default of 1 (RFC 8866 §6.6), so Opus reads "opus/48000/2" and PCMU "PCMU/8000".
function codecAttributes(
  lines: Lines,
  kind: SdpMediaType,
  codecs: readonly {
    pt: number;
    name: string;
    clockRate: number;
    channels?: number;
    parameters?: string;
    rtcpFeedback: readonly string[];
  }[],
): void {
  for (const c of codecs) {
    const channels = kind === "audio" && c.channels !== undefined && c.channels !== 1 ? `/${c.channels}` : "";
    lines.attr("rtpmap", `${c.pt} ${c.name}/${c.clockRate}${channels}`);
    if (c.parameters !== undefined && c.parameters !== "") {
      lines.attr("fmtp", `${c.pt} ${c.parameters}`);
    }
    for (const fb of c.rtcpFeedback) {
      lines.attr("rtcp-fb", `${c.pt} ${fb}`);
    }
  }
}

// a=msid (RFC 8830 §2) and a=ssrc cname (RFC 5576 §4.1) for a stream we send; nothing for receive-only streams.
function sourceAttributes(lines: Lines, source: LocalSource | undefined, direction: Direction): void {
  if (source === undefined || !sends(direction)) {
    return;
  }
  if (source.msid !== undefined) {
    lines.attr("msid", source.msid);
  }
  lines.attr("ssrc", `${source.ssrc} cname:${source.cname}`);
}

// =================================================================================================================
// createAnswer
// =================================================================================================================

/** The transport protocols and what each needs locally. */
function protoRequirement(proto: string): "dtls" | "sdes" | "plain" | "unsupported" {
  if (!isRtpProto(proto)) {
    return "unsupported";
  }
  if (proto.includes("TLS")) {
    return "dtls";
  }
  if (proto.includes("SAVP")) {
    return "sdes";
  }
  return proto === "RTP/AVP" || proto === "RTP/AVPF" ? "plain" : "unsupported";
}

/** The remote transport of an m-section. */
function remoteTransport(m: MediaDescription): RemoteTransport {
  return {
    address: m.connection?.address,
    port: m.port,
    rtcpPort: m.rtcpPort,
    rtcpMux: m.rtcpMux,
    ice: m.ice,
    candidates: m.candidates,
    fingerprints: m.fingerprints,
    setup: m.setup,
    ptime: m.ptime,
    maxptime: m.maxptime,
  };
}

/**
 * The direction an offer effectively proposes: its direction attribute, except that the RFC 2543 hold address
 * `c=0.0.0.0` means the offerer does not want to receive (RFC 3264 §8.4: the answerer "MUST" still understand it),
 * except in ICE sections, where it is only a placeholder until candidates arrive.
 */
export function effectiveDirection(m: MediaDescription): Direction {
  const address = m.connection?.address;
  // With ICE, `c=IN IP4 0.0.0.0` and port 9 are placeholders, not hold (RFC 8840 §4.2.1.2, RFC 8829 §5.2.1).
  if (address !== undefined && isHoldAddress(address) && m.ice === undefined) {
    return directionOf(sends(m.direction), false);
  }
  return m.direction;
}

interface Plan {
  readonly media: MediaDescription;
  readonly index: number;
  readonly reason: string | undefined;
  readonly codecs: Selected[];
  readonly crypto?: { readonly remote: Crypto; readonly local: Crypto };
}

/**
 * Builds the answer to a remote offer (RFC 3264 §6).
 *
 * Per offered m-line, in order (the answer has exactly as many m-lines, RFC 3264 §6):
 * 1. port 0 without `a=bundle-only` → rejected (port 0) as offered (RFC 3264 §6, §8.2);
 * 2. a kind without capabilities, or a transport we cannot serve (DTLS without `options.dtls`, SDES without a key
 *    for an offered suite, non-RTP protocols) → rejected;
 * 3. `a=rtcp-mux-only` while rtcp-mux is disabled → rejected (RFC 8858 §4.2);
 * 4. no common codec → rejected; otherwise accepted with the offered payload type numbers.
 *
 * Accepted streams get the answer direction of RFC 3264 §6.1 (see {@link answerDirection}; `c=0.0.0.0` counts as
 * hold, §8.4), `a=rtcp-mux` when offered (RFC 5761 §5.1.1), the offer's `a=mid`, extmaps we know (RFC 8285 §6),
 * ICE and DTLS attributes from the options (RFC 8839 §5, RFC 5763 §5), one SDES crypto line (RFC 4568 §7.1.3) and
 * ptime. When the offer has a BUNDLE group and bundling is enabled, the accepted members share the first one's
 * port and transport (RFC 8843 §7.3; rtcp-mux is then mandatory, §9.1).
 *
 * @throws {SdpNegotiationError} `"preconditions-required"` when `options.preconditions` is `"required"`;
 * `"no-common-codec"` when no stream has a common codec; `"no-acceptable-media"` when every stream is rejected for
 * another reason.
 */
export function createAnswer(offer: SessionDescription, capabilities: Capabilities, options: AnswerOptions): Answer {
  // RFC 3312 §11: with "Require: precondition" the UAS must support preconditions or reject the request (420).
  if (options.preconditions === "required") {
    throw new SdpNegotiationError(
      "preconditions-required",
      "the offer requires preconditions (RFC 3312, Require: precondition); Korus does not support them",
    );
  }
  // Answers accept rtcp-mux by default: every WebRTC peer needs it and plain SIP peers simply do not offer it.
  const rtcpMuxEnabled = options.rtcpMux ?? true;
  // First decide every stream (accept or reject, codecs, crypto); only then write lines, because BUNDLE needs to
  // know which members survive before the first bundled m-line is written.
  const plans: Plan[] = offer.media.map((media, index) => plan(media, index, capabilities, options, rtcpMuxEnabled));

  // Streams the offerer itself disabled (port 0) do not count: an offer whose live streams all fail is refused as a
  // whole, which the SIP layer turns into 488 Not Acceptable Here (RFC 3261 §13.3.1.3: "If the offer cannot be
  // accepted ... 488").
  const live = plans.filter((p) => !p.media.isRejected);
  const accepted = plans.filter((p) => p.reason === undefined);
  if (live.length > 0 && accepted.length === 0) {
    const codecs = live.every((p) => p.reason === "no common codec");
    throw new SdpNegotiationError(
      codecs ? "no-common-codec" : "no-acceptable-media",
      `no acceptable media stream in the offer: ${live.map((p) => `m-line ${p.index} (${p.media.kind}): ${p.reason ?? ""}`).join("; ")}`,
    );
  }

  // BUNDLE (RFC 8843 §7.3): the accepted members of the offer's first BUNDLE group, in the group's order.
  const offeredBundle = options.bundle === false ? undefined : offer.bundle;
  const bundleMids = (offeredBundle ?? []).filter((mid) => accepted.some((p) => p.media.mid === mid));
  const isBundled = (p: Plan): boolean => p.media.mid !== undefined && bundleMids.includes(p.media.mid);

  const lines = new Lines();
  sessionHeader(lines, options);
  if (offeredBundle !== undefined) {
    // Keep the group even if empty: RFC 8843 §7.3.1 answers a group whose members were all rejected that way too.
    lines.attr("group", ["BUNDLE", ...bundleMids].join(" "));
  }

  const results: NegotiatedMedia[] = [];
  // transportIndex counts the transports actually allocated (a numeric `options.port` steps by 2 per transport);
  // bundlePort is the one shared by every accepted BUNDLE member once the first of them got it.
  let transportIndex = 0;
  let bundlePort: number | undefined;
  const local = options.direction ?? "sendrecv";
  for (const p of plans) {
    const m = p.media;
    const remote = remoteTransport(m);
    if (p.reason !== undefined) {
      // RFC 3264 §6: "the stream is rejected by setting the port to zero"; formats copied from the offer.
      lines.add("m", [m.kind, "0", m.proto, ...(m.formats.length > 0 ? m.formats : ["0"])].join(" "));
      if (m.mid !== undefined) {
        lines.attr("mid", m.mid);
      }
      results.push({
        index: p.index,
        mid: m.mid,
        kind: m.kind,
        proto: m.proto,
        accepted: false,
        rejectReason: p.reason,
        port: 0,
        direction: "inactive",
        codecs: [],
        rtcpMux: false,
        bundled: false,
        remote,
      });
      continue;
    }
    // RFC 8843 §7.3.1: the answerer-tagged (first accepted) member carries the BUNDLE address; the others repeat it,
    // as Chrome and Kurento answers do, so that peers reading each m-line alone still find a usable port.
    const bundled = isBundled(p);
    const firstOfBundle = bundled && bundlePort === undefined;
    let port: number;
    if (bundled && bundlePort !== undefined) {
      port = bundlePort;
    } else {
      port = portFor(options, transportIndex++, p.index, m.kind);
      if (bundled) {
        bundlePort = port;
      }
    }
    const direction = answerDirection(effectiveDirection(m), local);
    // RFC 8843 §9.1: bundled RTP streams MUST use rtcp-mux; otherwise answer it only if offered (RFC 5761 §5.1.1).
    const rtcpMux = bundled || (m.rtcpMux && rtcpMuxEnabled);
    // RFC 5763 §5: a DTLS role only for DTLS-SRTP profiles; plain and SDES streams carry no a=setup.
    const setup =
      protoRequirement(m.proto) === "dtls"
        ? answerSetup(m.setup, options.dtls?.setup === "passive" ? "passive" : "active")
        : undefined;

    // Line order follows what browsers emit (JSEP, RFC 8829 §5.3.1): m=, mid, transport, extmap, direction,
    // rtcp-mux, then per payload type rtpmap/fmtp/rtcp-fb, then ptime, crypto and sources.
    lines.add("m", [m.kind, `${port}`, m.proto, ...p.codecs.map((s) => `${s.offered.payloadType}`)].join(" "));
    // RFC 5888 §9.2: the answer carries the offer's mid for every m-line that had one.
    if (m.mid !== undefined) {
      lines.attr("mid", m.mid);
    }
    // ICE attributes only towards an ICE offerer (RFC 8839 §4.2: an agent that did not offer ICE ignores them, but
    // a SIP trunk is better served by a plain answer); trickled candidates go in the first bundled m-line only.
    if (m.ice !== undefined) {
      transportAttributes(lines, options, setup, !bundled || firstOfBundle);
    } else {
      transportAttributes(lines, { ...options, ice: undefined }, setup, false);
    }
    const known = capabilities.headerExtensions?.[m.kind === "video" ? "video" : "audio"] ?? [];
    for (const e of m.extmaps.filter((x) => known.includes(x.uri))) {
      lines.attr("extmap", `${e.id} ${e.uri}`);
    }
    lines.attr(direction);
    if (rtcpMux) {
      lines.attr("rtcp-mux");
    }
    // RFC 5506 §5: reduced-size RTCP is only used when both sides list it; Korus' RTCP code accepts it.
    if (m.rtcpRsize) {
      lines.attr("rtcp-rsize");
    }
    codecAttributes(
      lines,
      m.kind,
      p.codecs.map((s) => ({
        pt: s.offered.payloadType,
        name: s.offered.name,
        clockRate: s.offered.clockRate,
        ...(s.offered.channels === undefined ? {} : { channels: s.offered.channels }),
        ...(s.parameters === undefined ? {} : { parameters: s.parameters }),
        rtcpFeedback: s.rtcpFeedback,
      })),
    );
    // RFC 8866 §6.4: ptime is a receive preference; ours if configured, else echo the offer's (doc example).
    const ptime = options.ptime ?? (m.kind === "audio" ? m.ptime : undefined);
    if (ptime !== undefined) {
      lines.attr("ptime", `${ptime}`);
    }
    // RFC 8866 §6.5: maxptime bounds what we receive; AMR offers say 240 ms, our jitter buffer copes with any.
    if (options.maxptime !== undefined) {
      lines.attr("maxptime", `${options.maxptime}`);
    }
    // RFC 4568 §7.1.3: exactly one crypto line, with the tag of the offered line it accepts.
    if (p.crypto !== undefined) {
      lines.attr("crypto", formatCrypto(p.crypto.local));
    }
    sourceAttributes(lines, options.sources?.[m.kind], direction);

    results.push({
      index: p.index,
      mid: m.mid,
      kind: m.kind,
      proto: m.proto,
      accepted: true,
      port,
      direction,
      codecs: p.codecs.map((s) => negotiated(s, s.parameters, s.offered.parameters)),
      rtcpMux,
      bundled,
      remote,
      ...(setup === undefined ? {} : { setup }),
      ...(p.crypto === undefined ? {} : { crypto: p.crypto }),
    });
  }
  return { sdp: SessionDescription.parse(lines.text()), media: results };
}

function negotiated(
  s: Selected,
  parameters: string | undefined,
  remoteParameters: string | undefined,
): NegotiatedCodec {
  return {
    name: s.offered.name,
    clockRate: s.offered.clockRate,
    ...(s.offered.channels === undefined ? {} : { channels: s.offered.channels }),
    payloadType: s.offered.payloadType,
    sendPayloadType: s.offered.payloadType,
    ...(parameters === undefined ? {} : { parameters }),
    ...(remoteParameters === undefined ? {} : { remoteParameters }),
    rtcpFeedback: s.rtcpFeedback,
  };
}

function plan(
  media: MediaDescription,
  index: number,
  capabilities: Capabilities,
  options: AnswerOptions,
  rtcpMuxEnabled: boolean,
): Plan {
  const reject = (reason: string): Plan => ({ media, index, reason, codecs: [] });
  // RFC 3264 §6: "An offered stream MAY be rejected in the answer, for any reason"; the checks below run from the
  // cheapest to the most specific so that the reason logged is the most useful one.
  if (media.isRejected) {
    return reject("rejected in the offer (port 0)");
  }
  if (media.bundleOnly && options.bundle === false) {
    return reject("bundle-only stream while BUNDLE is disabled");
  }
  const caps = media.kind === "audio" ? capabilities.audio : media.kind === "video" ? capabilities.video : undefined;
  if (caps === undefined || caps.length === 0) {
    return reject(`no ${media.kind} capabilities`);
  }
  let crypto: Plan["crypto"];
  // RFC 3264 §6.1: the answer uses the offered transport protocol; we cannot downgrade SAVP to AVP, so a secure
  // profile we cannot key is a rejection, never a silent fallback to plain RTP.
  switch (protoRequirement(media.proto)) {
    case "unsupported": {
      return reject(`unsupported transport ${media.proto}`);
    }
    case "dtls": {
      if (options.dtls === undefined || media.fingerprints.length === 0) {
        return reject("DTLS-SRTP offered but no local DTLS parameters or no remote fingerprint");
      }
      break;
    }
    case "sdes": {
      // RFC 4568 §7.1.3: pick the first offered crypto line whose suite we have a key for; same tag in the answer.
      const keys = options.sdes ?? {};
      const remote = media.crypto.find((c) => keys[c.suite] !== undefined);
      const key = remote === undefined ? undefined : keys[remote.suite];
      if (remote === undefined || key === undefined) {
        return reject("SDES-SRTP offered but no key for any offered crypto suite");
      }
      crypto = {
        remote,
        local: { tag: remote.tag, suite: remote.suite, keyParams: [`inline:${key}`], sessionParams: [] },
      };
      break;
    }
    case "plain": {
      break;
    }
  }
  if (media.rtcpMuxOnly && !rtcpMuxEnabled) {
    return reject("rtcp-mux-only offered while rtcp-mux is disabled");
  }
  const codecs = intersect(media, caps, options.singleCodec ?? false);
  // A stream of only telephone-event / CN / rtx carries no media: treat it as having no common codec.
  if (!codecs.some((s) => !isAuxiliary(s.offered.name))) {
    return reject("no common codec");
  }
  return { media, index, reason: undefined, codecs, ...(crypto === undefined ? {} : { crypto }) };
}

// =================================================================================================================
// createOffer
// =================================================================================================================

interface OfferedCodec {
  readonly pt: number;
  readonly name: string;
  readonly clockRate: number;
  readonly channels?: number;
  readonly parameters?: string;
  readonly rtcpFeedback: readonly string[];
}

/**
 * Assigns payload types to capabilities (RFC 3551 §6): static numbers where RFC 3551 assigns one (PCMU 0, PCMA 8,
 * G722 9, CN/8000 13, G729 18, ...), else the preferred dynamic number if free, else the next free one from 96.
 * An `rtx` capability becomes one rtx payload type per primary codec, with `apt=` (RFC 4588 §8.6).
 */
function assignPayloadTypes(kind: SdpMediaType, caps: readonly CodecCapability[]): OfferedCodec[] {
  // Numbers already taken in this m-line; payload types are scoped per m-line (RFC 8866 §6.6), so each kind
  // starts afresh at 96 (BUNDLE would need them unique across m-lines only if the same PT meant different codecs;
  // we only ever reuse a number for the same capability list).
  const used = new Set<number>();
  const staticPt = (c: CodecCapability): number | undefined => {
    for (const [pt, s] of STATIC_PAYLOAD_TYPES) {
      if (sameEncodingName(s.encodingName, c.name) && s.clockRate === c.clockRate && (c.channels ?? 1) === 1) {
        return pt;
      }
    }
    return undefined;
  };
  let next = 96;
  // The next free dynamic payload type (RFC 3551 §6: 96-127 are assigned by signalling, here in order).
  const dynamic = (): number => {
    while (used.has(next)) {
      next++;
    }
    used.add(next);
    return next;
  };
  // First pass: reserve static and preferred numbers so that dynamic assignment cannot take them.
  for (const c of caps) {
    const pt = staticPt(c) ?? c.preferredPayloadType;
    if (pt !== undefined) {
      used.add(pt);
    }
  }
  const rtx = caps.find((c) => sameEncodingName(c.name, "rtx"));
  const out: OfferedCodec[] = [];
  for (const c of caps) {
    if (c === rtx) {
      continue;
    }
    const pt = staticPt(c) ?? c.preferredPayloadType ?? dynamic();
    out.push({
      pt,
      name: c.name,
      clockRate: c.clockRate,
      ...(kind === "audio" && c.channels !== undefined ? { channels: c.channels } : {}),
      ...(c.parameters === undefined ? {} : { parameters: c.parameters }),
      rtcpFeedback: c.rtcpFeedback ?? [],
    });
    if (rtx !== undefined && kind === "video" && !isAuxiliary(c.name)) {
      out.push({ pt: dynamic(), name: rtx.name, clockRate: rtx.clockRate, parameters: `apt=${pt}`, rtcpFeedback: [] });
    }
  }
  return out;
}

/**
 * Builds an offer for a local endpoint (RFC 3264 §5): one m-line per requested kind with every capability of that
 * kind in preference order, `a=rtpmap` for every payload type (also the static ones, for peers that ignore
 * RFC 3551 defaults), fmtp and rtcp-fb from the capabilities, direction, ptime/maxptime, and optionally rtcp-mux,
 * BUNDLE with mids `0`, `1`, ..., ICE, DTLS (setup `actpass`, RFC 5763 §5) and SDES crypto lines (tags 1, 2, ...).
 *
 * @throws {TypeError} when a requested kind has no capabilities.
 */
export function createOffer(capabilities: Capabilities, options: OfferOptions): SessionDescription {
  // Defaults mirror the two callers: a WebRtcEndpoint passes DTLS parameters and gets a JSEP-like offer (BUNDLE,
  // rtcp-mux, SAVPF); an RtpEndpoint towards a SIP trunk passes none and gets a classic RTP/AVP offer.
  const kinds = options.media ?? (["audio", "video"] as const).filter((k) => (capabilities[k]?.length ?? 0) > 0);
  const dtls = options.dtls !== undefined;
  const proto = options.proto ?? (dtls ? "UDP/TLS/RTP/SAVPF" : options.sdes !== undefined ? "RTP/SAVP" : "RTP/AVP");
  const bundle = options.bundle ?? dtls;
  const rtcpMux = options.rtcpMux ?? dtls;
  const direction = options.direction ?? "sendrecv";
  const lines = new Lines();
  sessionHeader(lines, options);
  if (bundle) {
    lines.attr("group", ["BUNDLE", ...kinds.map((_, i) => `${i}`)].join(" "));
  }
  let bundlePort: number | undefined;
  kinds.forEach((kind, index) => {
    const caps = (capabilities[kind] ?? []).filter((c) => c.answerOnly !== true);
    if (caps.length === 0) {
      throw new TypeError(`createOffer: no ${kind} capabilities to offer`);
    }
    const codecs = assignPayloadTypes(kind, caps);
    // With BUNDLE every m-line offers the same port (RFC 8843 §7.2.1 allows a unique port per m-line or the
    // shared one; the shared one saves ports, and Korus never offers bundle-only).
    const port = bundle ? (bundlePort ??= portFor(options, 0, index, kind)) : portFor(options, index, index, kind);
    lines.add("m", [kind, `${port}`, proto, ...codecs.map((c) => `${c.pt}`)].join(" "));
    if (bundle) {
      lines.attr("mid", `${index}`);
    }
    transportAttributes(lines, options, dtls ? (options.dtls?.setup ?? "actpass") : undefined, !bundle || index === 0);
    const extensions = capabilities.headerExtensions?.[kind] ?? [];
    extensions.forEach((uri, i) => {
      lines.attr("extmap", `${i + 1} ${uri}`);
    });
    lines.attr(direction);
    if (rtcpMux) {
      lines.attr("rtcp-mux");
    }
    codecAttributes(lines, kind, codecs);
    if (kind === "audio" && options.ptime !== undefined) {
      lines.attr("ptime", `${options.ptime}`);
    }
    if (kind === "audio" && options.maxptime !== undefined) {
      lines.attr("maxptime", `${options.maxptime}`);
    }
    Object.entries(options.sdes ?? {}).forEach(([suite, key], i) => {
      lines.attr("crypto", `${i + 1} ${suite} inline:${key}`);
    });
    sourceAttributes(lines, options.sources?.[kind], direction);
  });
  return SessionDescription.parse(lines.text());
}

// =================================================================================================================
// processAnswer and payload type mapping
// =================================================================================================================

/**
 * Reads the remote answer to one of our offers (RFC 3264 §7). For each codec of the answer the payload type we
 * receive with is the one of our offer and the one we send with is the answer's (RFC 3264 §6.1: "the offerer ...
 * MUST send using the payload type numbers of the answer").
 *
 * @throws {SdpNegotiationError} `"invalid-answer"` when the answer does not have as many m-lines as the offer or
 * changes a stream's media type (RFC 3264 §6: "The answer MUST contain exactly the same number of m lines as the
 * offer"), or lists a codec the offer did not contain.
 */
export function processAnswer(offer: SessionDescription, answer: SessionDescription): NegotiatedMedia[] {
  if (offer.media.length !== answer.media.length) {
    throw new SdpNegotiationError(
      "invalid-answer",
      `the answer has ${answer.media.length} m-lines but the offer had ${offer.media.length} (RFC 3264 §6)`,
    );
  }
  const bundle = answer.bundle ?? [];
  // m-lines are matched by position: RFC 3264 §6 makes the index the identity of a stream across offer and answer.
  return answer.media.map((a, index) => {
    const o = offer.media[index];
    if (o === undefined) {
      throw new SdpNegotiationError("invalid-answer", `m-line ${index} has no counterpart in the offer`);
    }
    if (o.kind !== a.kind) {
      throw new SdpNegotiationError("invalid-answer", `m-line ${index} changed media type in the answer (RFC 3264 §6)`);
    }
    // RFC 3264 §6: port 0 in the answer rejects the stream; a stream we disabled stays disabled whatever comes back.
    const accepted = !a.isRejected && !o.isRejected;
    const codecs: NegotiatedCodec[] = [];
    for (const c of accepted ? a.codecs : []) {
      const mine = o.codecs.find((x) =>
        codecMatches(o.kind, x, {
          name: c.name,
          clockRate: c.clockRate,
          ...(c.channels === undefined ? {} : { channels: c.channels }),
          ...(c.parameters === undefined ? {} : { parameters: c.parameters }),
        }),
      );
      if (mine === undefined) {
        throw new SdpNegotiationError(
          "invalid-answer",
          `m-line ${index}: the answer lists ${c.name}/${c.clockRate} (PT ${c.payloadType}), which the offer did not contain`,
        );
      }
      const ours = new Set(mine.rtcpFeedback.map(rtcpFbKey));
      codecs.push({
        name: mine.name,
        clockRate: mine.clockRate,
        ...(mine.channels === undefined ? {} : { channels: mine.channels }),
        payloadType: mine.payloadType,
        sendPayloadType: c.payloadType,
        ...(mine.parameters === undefined ? {} : { parameters: mine.parameters }),
        ...(c.parameters === undefined ? {} : { remoteParameters: c.parameters }),
        rtcpFeedback: [...new Set(c.rtcpFeedback.map(rtcpFbKey))].filter((f) => ours.has(f)),
      });
    }
    // Our direction is the reverse of the answerer's (RFC 3264 §6.1 applied from the offerer's side).
    const theirs = effectiveDirection(a);
    const direction = accepted
      ? directionOf(sends(o.direction) && receives(theirs), receives(o.direction) && sends(theirs))
      : "inactive";
    // Our DTLS role is the complement of the answerer's (RFC 5763 §5); without a=setup there is no DTLS.
    const setup = a.setup === undefined ? undefined : answerSetup(a.setup);
    return {
      index,
      mid: a.mid ?? o.mid,
      kind: o.kind,
      proto: a.proto,
      accepted,
      ...(accepted ? {} : { rejectReason: "rejected in the answer (port 0)" }),
      port: accepted ? o.port : 0,
      direction,
      codecs,
      rtcpMux: accepted && a.rtcpMux && o.rtcpMux,
      bundled: accepted && a.mid !== undefined && bundle.includes(a.mid),
      remote: remoteTransport(a),
      ...(setup === undefined || !accepted ? {} : { setup }),
    };
  });
}

/**
 * The payload type translation between two descriptions of the same media, e.g. the two legs of a SIP ↔ WebRTC
 * bridge relaying without transcoding: for each codec of `from` the payload type of the same codec in `to`
 * (same name, clock rate, channels and compatible fmtp). Codecs missing from `to` are left out, so a relay drops
 * their packets instead of mislabelling them (RFC 3550 §5.1: the PT meaning is set per session by signalling).
 */
export function mapPayloadTypes(from: MediaDescription, to: MediaDescription): Map<number, number> {
  const map = new Map<number, number>();
  for (const c of from.codecs) {
    const target = to.codecs.find((x) =>
      codecMatches(from.kind, c, {
        name: x.name,
        clockRate: x.clockRate,
        ...(x.channels === undefined ? {} : { channels: x.channels }),
        ...(x.parameters === undefined ? {} : { parameters: x.parameters }),
      }),
    );
    if (target !== undefined) {
      map.set(c.payloadType, target.payloadType);
    }
  }
  return map;
}
