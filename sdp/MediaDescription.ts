/**
 * One media description: an `m=` line and every line after it up to the next `m=` (RFC 8866 §5.14).
 *
 * The section keeps its raw lines; every typed accessor derives from them on demand, so an untouched section
 * re-emits byte for byte. Edits (`port`, `direction`, `setConnection`, `setAttribute`, ...) rewrite or insert only
 * the lines they concern. Attributes that may also sit at session level (direction, `c=`, ICE credentials, DTLS
 * fingerprint and setup) fall back to the session level through a closure the parent passes in (architecture.md
 * §5.2: children get closures, not parent references).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5.14
 */
import { SdpParseError } from "./errors.js";
import type { Attribute, Bandwidth, Connection, SdpLine } from "./lines.js";
import {
  formatAttribute,
  formatConnection,
  formatLine,
  parseAttribute,
  parseBandwidth,
  parseConnection,
  parseInteger,
} from "./lines.js";
import type { Candidate, IceParameters } from "./attributes/candidate.js";
import { parseCandidate } from "./attributes/candidate.js";
import type { Crypto } from "./attributes/crypto.js";
import { parseCrypto } from "./attributes/crypto.js";
import type { Direction } from "./attributes/direction.js";
import { isDirection } from "./attributes/direction.js";
import type { Extmap } from "./attributes/extmap.js";
import { parseExtmap } from "./attributes/extmap.js";
import type { Fingerprint, SetupRole } from "./attributes/fingerprint.js";
import { parseFingerprint, parseSetup } from "./attributes/fingerprint.js";
import { parseFmtp, parseFmtpParameters } from "./attributes/fmtp.js";
import type { RtcpAttribute } from "./attributes/group.js";
import { parseGroup, parseRtcp } from "./attributes/group.js";
import type { Precondition } from "./attributes/preconditions.js";
import { isPreconditionAttribute, parsePrecondition } from "./attributes/preconditions.js";
import type { RtcpFb } from "./attributes/rtcpFb.js";
import { parseRtcpFb } from "./attributes/rtcpFb.js";
import type { Rtpmap } from "./attributes/rtpmap.js";
import { STATIC_PAYLOAD_TYPES, parseRtpmap } from "./attributes/rtpmap.js";
import type { SsrcAttribute, SsrcGroup } from "./attributes/ssrc.js";
import { parseSsrc, parseSsrcGroup } from "./attributes/ssrc.js";

/**
 * Media types of RFC 8866 §5.14 (`audio`, `video`, `text`, `application`, `message`); others are kept as written.
 * Not Kurento's MediaType (`AUDIO`/`VIDEO`/`DATA`, media/'s `MediaKind`): the m-line's own word.
 */
export type SdpMediaType = "audio" | "video" | "text" | "application" | "message" | (string & {});

/**
 * The fields of an `m=<media> <port>[/<number of ports>] <proto> <fmt> ...` line (RFC 8866 §5.14).
 */
export interface MediaLine {
  readonly kind: SdpMediaType;
  readonly port: number;
  readonly portCount?: number;
  /** `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF`, `RTP/SAVPF`, `UDP/TLS/RTP/SAVPF`, `UDP/DTLS/SCTP`, ... */
  readonly proto: string;
  readonly formats: readonly string[];
}

/**
 * Parses the value of an `m=` line.
 *
 * RFC 3264 §6 requires at least one format even in a rejected stream, but rejected sections without formats occur
 * in the wild, so an empty format list is accepted only when the port is 0.
 *
 * @throws {SdpParseError} for a missing field, a port that is not 0–65535 or a section without formats.
 */
export function parseMediaLine(value: string, line = 0): MediaLine {
  const text = `m=${value}`;
  const [kind, portSpec, proto, ...formats] = value.split(" ").filter((f, i) => f !== "" || i === 0);
  if (kind === undefined || kind === "" || portSpec === undefined || proto === undefined || proto === "") {
    throw new SdpParseError("m= must be <media> <port>[/<count>] <proto> <fmt> ...", line, text);
  }
  const [portText = "", countText] = portSpec.split("/");
  const port = parseInteger(portText, "m= port", line, text);
  if (port > 65535) {
    throw new SdpParseError(`m= port ${port} is out of range`, line, text);
  }
  if (formats.length === 0 && port !== 0) {
    throw new SdpParseError("m= lists no formats", line, text);
  }
  return {
    kind,
    port,
    ...(countText === undefined ? {} : { portCount: parseInteger(countText, "m= port count", line, text) }),
    proto,
    formats,
  };
}

/** Formats a {@link MediaLine} as the value of an `m=` line. */
export function formatMediaLine(m: MediaLine): string {
  const port = m.portCount === undefined ? `${m.port}` : `${m.port}/${m.portCount}`;
  return [m.kind, port, m.proto, ...m.formats].join(" ");
}

/** Whether a transport protocol carries RTP (so that its formats are payload types, RFC 8866 §5.14). */
export function isRtpProto(proto: string): boolean {
  return proto.split("/").includes("RTP");
}

/**
 * One payload type with its rtpmap, fmtp and rtcp-fb lines joined, as most callers want it.
 */
export interface Codec {
  readonly payloadType: number;
  /** Encoding name as written (`opus`, `PCMU`, `AMR-WB`, `telephone-event`, ...). */
  readonly name: string;
  readonly clockRate: number;
  /** Audio channels; `undefined` when the rtpmap has no encoding parameter (audio then means 1). */
  readonly channels?: number;
  /** The fmtp parameter text exactly as written, or `undefined` without an fmtp line. */
  readonly parameters?: string;
  /** Feedback lines for this payload type and for `*`. */
  readonly rtcpFeedback: readonly RtcpFb[];
}

/**
 * What a media section may read from its session: the session-level lines (for inherited attributes) and the line
 * terminator new lines get.
 */
export interface SessionContext {
  readonly sessionLines: () => readonly SdpLine[];
  readonly eol: () => string;
}

/**
 * Validates the value of an attribute whose grammar this module knows, so that `parse()` rejects garbage early and
 * the typed accessors cannot fail later. Unknown attributes are accepted as they are (RFC 8866 §5.13: "attribute
 * fields that are not recognized SHOULD be ignored", and here: kept).
 *
 * @throws {SdpParseError} when a known attribute is malformed.
 */
export function checkAttribute(attr: Attribute, line: number): void {
  const { name, value } = attr;
  // Property attributes (a=sendrecv, a=rtcp-mux, a=ice-lite, ...) have no value to check.
  if (value === undefined) {
    return;
  }
  switch (name) {
    case "rtpmap": {
      parseRtpmap(value, line);
      return;
    }
    case "fmtp": {
      parseFmtp(value, line);
      return;
    }
    case "rtcp-fb": {
      parseRtcpFb(value, line);
      return;
    }
    case "extmap": {
      parseExtmap(value, line);
      return;
    }
    case "candidate": {
      parseCandidate(value, line);
      return;
    }
    case "fingerprint": {
      parseFingerprint(value, line);
      return;
    }
    case "setup": {
      parseSetup(value, line);
      return;
    }
    case "crypto": {
      parseCrypto(value, line);
      return;
    }
    case "ssrc": {
      parseSsrc(value, line);
      return;
    }
    case "ssrc-group": {
      parseSsrcGroup(value, line);
      return;
    }
    case "group": {
      parseGroup(value, line);
      return;
    }
    case "rtcp": {
      parseRtcp(value, line);
      return;
    }
    case "ptime":
    case "maxptime": {
      // RFC 8866 §6.4/§6.5: a number of milliseconds; decimal fractions are allowed ("a=ptime:20.0" occurs).
      if (!/^\d+(?:\.\d+)?$/.test(value.trim())) {
        throw new SdpParseError(`${name} must be a number of milliseconds`, line, `a=${name}:${value}`);
      }
      return;
    }
    default: {
      if (isPreconditionAttribute(name)) {
        parsePrecondition(name, value, line);
      }
    }
  }
}

/**
 * Refuses an RTP section whose ports run past 65535: `m=audio 65535 RTP/AVP 0` without `a=rtcp-mux` (RFC 5761) or
 * `a=rtcp` (RFC 3605) puts RTCP at 65536 (RFC 3550 §11), and `<port>/<count>` covers `count` RTP/RTCP pairs
 * (RFC 8866 §5.14). Port 0 (a rejected or disabled stream) is always fine.
 *
 * @throws {SdpParseError} naming the port that falls outside 1-65535.
 */
function checkPortRange(m: MediaLine, lines: readonly SdpLine[], text: string, line: number): void {
  if (m.port === 0 || !isRtpProto(m.proto)) {
    return;
  }
  const count = m.portCount ?? 1;
  const lastRtp = m.port + 2 * (Math.max(count, 1) - 1);
  if (count < 1 || lastRtp > 65535) {
    throw new SdpParseError(`m= ports ${m.port}/${count} run past 65535`, line, text);
  }
  if (lastRtp + 1 > 65535) {
    const ownRtcp = lines.some((l) => l.type === "a" && (l.value === "rtcp-mux" || l.value.startsWith("rtcp:")));
    if (!ownRtcp) {
      throw new SdpParseError(
        `m= port ${lastRtp} puts RTCP at ${lastRtp + 1}, outside 1-65535 (no a=rtcp-mux or a=rtcp)`,
        line,
        text,
      );
    }
  }
}

/**
 * One `m=` section of a {@link SessionDescription}.
 */
export class MediaDescription {
  readonly #lines: SdpLine[];
  readonly #context: SessionContext;

  /**
   * Builds a section from its lines; `lines[0]` must be the `m=` line. Used by `SessionDescription.parse()`.
   *
   * @throws {SdpParseError} when the `m=` line or a known attribute is malformed.
   */
  constructor(lines: readonly SdpLine[], context: SessionContext) {
    const first = lines[0];
    if (first?.type !== "m") {
      throw new SdpParseError("a media description must start with m=", first?.number ?? 0);
    }
    const m = parseMediaLine(first.value, first.number);
    for (const l of lines.slice(1)) {
      validateLine(l);
    }
    checkPortRange(m, lines, formatLine(first).trimEnd(), first.number);
    this.#lines = [...lines];
    this.#context = context;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Raw access
  // -------------------------------------------------------------------------------------------------------------

  /** The raw lines, `m=` first. */
  get lines(): readonly SdpLine[] {
    return this.#lines;
  }

  /** The section exactly as it will be serialised. */
  toString(): string {
    return this.#lines.map(formatLine).join("");
  }

  /** All `a=` lines of this section, parsed into name and value, in order. */
  get attributes(): Attribute[] {
    return this.#lines.filter((l) => l.type === "a").map((l) => parseAttribute(l.value));
  }

  /** Values of every `a=<name>` line of this section, in order (`undefined` for property attributes). */
  attributeValues(name: string): (string | undefined)[] {
    return this.attributes.filter((a) => a.name === name).map((a) => a.value);
  }

  /** The value of the first `a=<name>:` line, or `undefined`. */
  attribute(name: string): string | undefined {
    return this.attributes.find((a) => a.name === name)?.value;
  }

  /** Whether an `a=<name>` line (with or without value) exists in this section. */
  hasAttribute(name: string): boolean {
    return this.attributes.some((a) => a.name === name);
  }

  // -------------------------------------------------------------------------------------------------------------
  // m= line
  // -------------------------------------------------------------------------------------------------------------

  /** The parsed `m=` line. */
  get mediaLine(): MediaLine {
    // Re-parsed on each access: the m= line may have been edited, and parsing one line is cheap. The constructor
    // validated it, and edits only change the port digits or drop formats (never all of them on a live port), so
    // this cannot throw.
    const m = this.#lines[0];
    return parseMediaLine(m?.value ?? "");
  }

  /** `audio`, `video`, `application`, ... */
  get kind(): SdpMediaType {
    return this.mediaLine.kind;
  }

  /** The transport port; 0 means rejected or disabled (RFC 3264 §6) unless `a=bundle-only` (RFC 8843 §6). */
  get port(): number {
    return this.mediaLine.port;
  }

  /**
   * Sets the port, rewriting only the port digits of the `m=` line (everything else stays byte-identical).
   *
   * @throws {RangeError} for a port outside 0–65535.
   */
  set port(port: number) {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`port must be an integer 0-65535, got ${port}`);
    }
    const m = this.#lines[0];
    // Only the digits after "<media> " change; a "/<count>" suffix and every format stay byte-identical.
    if (m !== undefined) {
      this.#lines[0] = { ...m, value: m.value.replace(/^(\S+ +)\d+/, `$1${port}`) };
    }
  }

  /** `RTP/AVP`, `UDP/TLS/RTP/SAVPF`, ... */
  get proto(): string {
    return this.mediaLine.proto;
  }

  /** The `<fmt>` tokens of the `m=` line, in order. */
  get formats(): readonly string[] {
    return this.mediaLine.formats;
  }

  /**
   * Keeps only the formats `keep` accepts, in their `m=` order: rewrites the format list of the `m=` line and removes
   * the `a=rtpmap`, `a=fmtp` and `a=rtcp-fb` lines of the dropped formats (an `a=rtcp-fb:*` line stays). Every other
   * line stays byte-identical. Returns the kept formats.
   *
   * @throws {RangeError} when no format would remain on a port other than 0 (RFC 8866 §5.14 requires one).
   */
  retainFormats(keep: (format: string) => boolean): string[] {
    const m = this.mediaLine;
    const kept = m.formats.filter(keep);
    if (kept.length === m.formats.length) {
      return kept;
    }
    if (kept.length === 0 && m.port !== 0) {
      throw new RangeError(`no format of m=${formatMediaLine(m)} would remain`);
    }
    const dropped = new Set(m.formats.filter((f) => !kept.includes(f)));
    const first = this.#lines[0];
    const rest = this.#lines.slice(1).filter((l) => {
      if (l.type !== "a") {
        return true;
      }
      const a = parseAttribute(l.value);
      if (a.name !== "rtpmap" && a.name !== "fmtp" && a.name !== "rtcp-fb") {
        return true;
      }
      return !dropped.has(a.value?.split(" ", 1)[0] ?? "");
    });
    if (first !== undefined) {
      this.#lines.splice(0, this.#lines.length, { ...first, value: formatMediaLine({ ...m, formats: kept }) }, ...rest);
    }
    return kept;
  }

  /** The formats as payload types (RTP profiles only; empty for SCTP and other non-RTP protocols). */
  get payloadTypes(): number[] {
    return isRtpProto(this.proto) ? this.formats.filter((f) => /^\d+$/.test(f)).map(Number) : [];
  }

  /** Port 0 without `a=bundle-only`: the stream is rejected or disabled (RFC 3264 §6, §8.2). */
  get isRejected(): boolean {
    return this.port === 0 && !this.bundleOnly;
  }

  /** `a=bundle-only` (RFC 8843 §6): port 0 that still means "accept me inside the BUNDLE group". */
  get bundleOnly(): boolean {
    return this.hasAttribute("bundle-only");
  }

  // -------------------------------------------------------------------------------------------------------------
  // Codecs
  // -------------------------------------------------------------------------------------------------------------

  /** Every explicit `a=rtpmap`, in order. */
  get rtpmaps(): Rtpmap[] {
    return this.attributeValues("rtpmap").flatMap((v) => (v === undefined ? [] : [parseRtpmap(v)]));
  }

  /**
   * The rtpmap of a payload type: the explicit line, else the RFC 3551 static assignment, else `undefined`.
   */
  rtpmap(payloadType: number): Rtpmap | undefined {
    const explicit = this.rtpmaps.find((r) => r.payloadType === payloadType);
    if (explicit !== undefined) {
      return explicit;
    }
    const known = STATIC_PAYLOAD_TYPES.get(payloadType);
    return known === undefined ? undefined : { payloadType, ...known };
  }

  /** The raw fmtp parameter text of a format (`"0-15"`, `"minptime=10;useinbandfec=1"`), or `undefined`. */
  fmtp(format: number | string): string | undefined {
    const key = `${format}`;
    for (const v of this.attributeValues("fmtp")) {
      const f = v === undefined ? undefined : parseFmtp(v);
      if (f?.format === key) {
        return f.parameters;
      }
    }
    return undefined;
  }

  /** The fmtp parameters of a format as a map (keys lower-cased), empty without an fmtp line. */
  fmtpParameters(format: number | string): Map<string, string> {
    return parseFmtpParameters(this.fmtp(format) ?? "");
  }

  /** `a=rtcp-fb` lines that apply to a payload type (its own and the `*` wildcard). */
  rtcpFeedback(payloadType: number): RtcpFb[] {
    return this.attributeValues("rtcp-fb")
      .flatMap((v) => (v === undefined ? [] : [parseRtcpFb(v)]))
      .filter((f) => f.payloadType === payloadType || f.payloadType === "*");
  }

  /**
   * The codecs of this section in `m=` order (i.e. the sender's preference order, RFC 3264 §5.1). Payload types
   * with neither an rtpmap nor a static assignment are skipped.
   */
  get codecs(): Codec[] {
    // Formats are walked in m= order, not rtpmap order: Firefox writes all fmtp lines before the rtpmaps, and
    // the preference order is the m= line's (RFC 3264 §5.1).
    const codecs: Codec[] = [];
    for (const pt of this.payloadTypes) {
      const map = this.rtpmap(pt);
      if (map === undefined) {
        continue;
      }
      const parameters = this.fmtp(pt);
      codecs.push({
        payloadType: pt,
        name: map.encodingName,
        clockRate: map.clockRate,
        ...(map.channels === undefined ? {} : { channels: map.channels }),
        ...(parameters === undefined ? {} : { parameters }),
        rtcpFeedback: this.rtcpFeedback(pt),
      });
    }
    return codecs;
  }

  // -------------------------------------------------------------------------------------------------------------
  // Direction, connection, bandwidth
  // -------------------------------------------------------------------------------------------------------------

  /**
   * The direction of the section: the media-level attribute, else the session-level one, else `sendrecv`
   * (RFC 8866 §6.7).
   */
  get direction(): Direction {
    return this.#ownDirection() ?? sessionDirection(this.#context.sessionLines()) ?? "sendrecv";
  }

  /**
   * Sets the media-level direction: rewrites the existing direction line in place, or appends one.
   */
  set direction(direction: Direction) {
    // Rewriting in place keeps the line where the peer put it (Firefox writes a=sendrecv right after c=).
    const index = this.#lines.findIndex((l) => l.type === "a" && isDirection(l.value));
    if (index === -1) {
      this.#lines.push(this.#newLine("a", direction));
    } else {
      const old = this.#lines[index];
      if (old !== undefined) {
        this.#lines[index] = { ...old, value: direction };
      }
    }
  }

  #ownDirection(): Direction | undefined {
    const line = this.#lines.find((l) => l.type === "a" && isDirection(l.value));
    return line !== undefined && isDirection(line.value) ? line.value : undefined;
  }

  /** The media-level `c=` line, or `undefined`. */
  get mediaConnection(): Connection | undefined {
    const line = this.#lines.find((l) => l.type === "c");
    return line === undefined ? undefined : parseConnection(line.value);
  }

  /** The effective connection: media-level `c=`, else session-level (RFC 8866 §5.7). */
  get connection(): Connection | undefined {
    const session = this.#context.sessionLines().find((l) => l.type === "c");
    return this.mediaConnection ?? (session === undefined ? undefined : parseConnection(session.value));
  }

  /**
   * Sets a media-level `c=` line: rewrites the existing one, or inserts one after `m=` and `i=` (RFC 8866 §5 field
   * order: m, i, c, b, k, a).
   */
  setConnection(connection: Connection): void {
    const value = formatConnection(connection);
    const index = this.#lines.findIndex((l) => l.type === "c");
    const old = this.#lines[index];
    if (old !== undefined) {
      this.#lines[index] = { ...old, value };
      return;
    }
    const at = this.#lines.findIndex((l, i) => i > 0 && l.type !== "i");
    this.#lines.splice(at === -1 ? this.#lines.length : at, 0, this.#newLine("c", value));
  }

  /** `b=` lines of this section. */
  get bandwidths(): Bandwidth[] {
    return this.#lines.filter((l) => l.type === "b").map((l) => parseBandwidth(l.value));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Transport: mid, RTCP, ICE, DTLS, SDES
  // -------------------------------------------------------------------------------------------------------------

  /** `a=mid` (RFC 5888 §4). */
  get mid(): string | undefined {
    return this.attribute("mid");
  }

  /** `a=rtcp-mux` (RFC 5761 §5.1.1): RTP and RTCP share the port. */
  get rtcpMux(): boolean {
    return this.hasAttribute("rtcp-mux");
  }

  /** `a=rtcp-mux-only` (RFC 8858 §3): the offerer cannot fall back to a separate RTCP port. */
  get rtcpMuxOnly(): boolean {
    return this.hasAttribute("rtcp-mux-only");
  }

  /** `a=rtcp-rsize` (RFC 5506 §5): reduced-size RTCP is allowed. */
  get rtcpRsize(): boolean {
    return this.hasAttribute("rtcp-rsize");
  }

  /** `a=rtcp:` (RFC 3605), the explicit RTCP port and address. */
  get rtcp(): RtcpAttribute | undefined {
    const v = this.attribute("rtcp");
    return v === undefined ? undefined : parseRtcp(v);
  }

  /** The port RTCP is received on: RTP port with rtcp-mux, else `a=rtcp`, else port + 1 (RFC 3550 §11). */
  get rtcpPort(): number {
    return this.rtcpMux ? this.port : (this.rtcp?.port ?? this.port + 1);
  }

  /**
   * ICE credentials, options and lite flag; media-level values win over session-level ones (RFC 8839 §5.4).
   * `undefined` when no ufrag/pwd pair is present.
   */
  get ice(): IceParameters | undefined {
    // Firefox writes ice-ufrag/ice-pwd per m-line, older stacks once at session level; both are found here.
    const ufrag = this.#inherited("ice-ufrag");
    const pwd = this.#inherited("ice-pwd");
    if (ufrag === undefined || pwd === undefined) {
      return undefined;
    }
    const options = this.#inherited("ice-options");
    return {
      ufrag,
      pwd,
      options: options === undefined ? [] : options.trim().split(/ +/),
      lite: sessionAttributes(this.#context.sessionLines()).some((a) => a.name === "ice-lite"),
    };
  }

  /** `a=candidate` lines of this section (RFC 8839 §5.1). */
  get candidates(): Candidate[] {
    return this.attributeValues("candidate").flatMap((v) => (v === undefined ? [] : [parseCandidate(v)]));
  }

  /** `a=end-of-candidates` (RFC 8840 §8.1). */
  get endOfCandidates(): boolean {
    return this.hasAttribute("end-of-candidates");
  }

  /** DTLS fingerprints: media-level lines, else session-level (RFC 8122 §5). */
  get fingerprints(): Fingerprint[] {
    const own = this.attributeValues("fingerprint");
    const values =
      own.length > 0
        ? own
        : sessionAttributes(this.#context.sessionLines())
            .filter((a) => a.name === "fingerprint")
            .map((a) => a.value);
    return values.flatMap((v) => (v === undefined ? [] : [parseFingerprint(v)]));
  }

  /** DTLS role, `a=setup` (RFC 4145 §4); media-level, else session-level. */
  get setup(): SetupRole | undefined {
    const v = this.#inherited("setup");
    return v === undefined ? undefined : parseSetup(v);
  }

  /** SDES `a=crypto` lines in preference order (RFC 4568 §9.1). */
  get crypto(): Crypto[] {
    return this.attributeValues("crypto").flatMap((v) => (v === undefined ? [] : [parseCrypto(v)]));
  }

  // -------------------------------------------------------------------------------------------------------------
  // Packetisation, RTP extensions and sources
  // -------------------------------------------------------------------------------------------------------------

  /** `a=ptime` in milliseconds (RFC 8866 §6.4). */
  get ptime(): number | undefined {
    const v = this.attribute("ptime");
    return v === undefined ? undefined : Number(v.trim());
  }

  /** `a=maxptime` in milliseconds (RFC 8866 §6.5); VoLTE offers say 240 (sip-ims.md §4.2). */
  get maxptime(): number | undefined {
    const v = this.attribute("maxptime");
    return v === undefined ? undefined : Number(v.trim());
  }

  /** `a=extmap` lines (RFC 8285 §8). */
  get extmaps(): Extmap[] {
    return this.attributeValues("extmap").flatMap((v) => (v === undefined ? [] : [parseExtmap(v)]));
  }

  /** `a=ssrc` lines (RFC 5576 §4.1). */
  get ssrcs(): SsrcAttribute[] {
    return this.attributeValues("ssrc").flatMap((v) => (v === undefined ? [] : [parseSsrc(v)]));
  }

  /** `a=ssrc-group` lines (RFC 5576 §4.2). */
  get ssrcGroups(): SsrcGroup[] {
    return this.attributeValues("ssrc-group").flatMap((v) => (v === undefined ? [] : [parseSsrcGroup(v)]));
  }

  /** `a=msid:<stream id> [<track id>]` (RFC 8830 §2), raw. */
  get msid(): string | undefined {
    return this.attribute("msid");
  }

  /** `a=curr`, `a=des`, `a=conf` lines in order (RFC 3312 §5). */
  get preconditions(): Precondition[] {
    return this.attributes.flatMap((a) =>
      isPreconditionAttribute(a.name) && a.value !== undefined ? [parsePrecondition(a.name, a.value)] : [],
    );
  }

  /** `a=sctp-port` (RFC 8841 §5), for data channel sections. */
  get sctpPort(): number | undefined {
    const v = this.attribute("sctp-port");
    return v === undefined || !/^\d+$/.test(v) ? undefined : Number(v);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Generic attribute edits
  // -------------------------------------------------------------------------------------------------------------

  /**
   * Appends an `a=` line at the end of the section.
   *
   * @throws {SdpParseError} (line 0) when the value breaks the grammar of a known attribute.
   */
  addAttribute(name: string, value?: string): void {
    // Same validation as parse(), so an edited description can always be re-parsed by the peer and by us.
    checkAttribute({ name, value }, 0);
    this.#lines.push(this.#newLine("a", formatAttribute(name, value)));
  }

  /** Removes every `a=<name>` line; returns how many were removed. */
  removeAttribute(name: string): number {
    const before = this.#lines.length;
    const kept = this.#lines.filter((l) => l.type !== "a" || parseAttribute(l.value).name !== name);
    this.#lines.splice(0, this.#lines.length, ...kept);
    return before - kept.length;
  }

  /**
   * Sets a single-valued attribute: rewrites the first `a=<name>` line in place (removing any further ones) or
   * appends it.
   *
   * @throws {SdpParseError} (line 0) when the value breaks the grammar of a known attribute.
   */
  setAttribute(name: string, value?: string): void {
    checkAttribute({ name, value }, 0);
    const index = this.#lines.findIndex((l) => l.type === "a" && parseAttribute(l.value).name === name);
    const old = this.#lines[index];
    if (old === undefined) {
      this.#lines.push(this.#newLine("a", formatAttribute(name, value)));
      return;
    }
    const replacement = { ...old, value: formatAttribute(name, value) };
    const rest = this.#lines.filter((l, i) => i <= index || l.type !== "a" || parseAttribute(l.value).name !== name);
    rest[index] = replacement;
    this.#lines.splice(0, this.#lines.length, ...rest);
  }

  // Media-level value, else session-level value (RFC 8866 §5: media-level attributes override session-level ones).
  #inherited(name: string): string | undefined {
    return this.attribute(name) ?? sessionAttributes(this.#context.sessionLines()).find((a) => a.name === name)?.value;
  }

  // Lines created by edits use the description's line terminator and line number 0 (not from the input).
  #newLine(type: string, value: string): SdpLine {
    return { type, value, eol: this.#context.eol(), number: 0 };
  }
}

/** Parses the `a=` lines of a list of (session-level) lines. */
export function sessionAttributes(lines: readonly SdpLine[]): Attribute[] {
  return lines.filter((l) => l.type === "a").map((l) => parseAttribute(l.value));
}

/** The first direction attribute among session-level lines, if any. */
export function sessionDirection(lines: readonly SdpLine[]): Direction | undefined {
  const line = lines.find((l) => l.type === "a" && isDirection(l.value));
  return line !== undefined && isDirection(line.value) ? line.value : undefined;
}

/**
 * Validates one line of either level: `c=`, `b=` and known attributes. Other types (`i=`, `k=`, `u=`, ...) are kept
 * without checks.
 *
 * @throws {SdpParseError} with the line's number when it is malformed.
 */
export function validateLine(l: SdpLine): void {
  switch (l.type) {
    case "c": {
      parseConnection(l.value, l.number);
      return;
    }
    case "b": {
      parseBandwidth(l.value, l.number);
      return;
    }
    case "a": {
      checkAttribute(parseAttribute(l.value), l.number);
      return;
    }
    default: {
      return;
    }
  }
}
