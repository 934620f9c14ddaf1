/**
 * A whole session description: the session-level lines followed by zero or more media descriptions
 * (RFC 8866 §5). `SessionDescription.parse(text)` keeps every line as read, and `toString()` re-emits them byte for
 * byte (CRLF or LF, unknown attributes, line order); the typed getters derive from the raw lines.
 *
 * ```ts
 * const offer = SessionDescription.parse(text);
 * offer.media[0]?.codecs; // [{ payloadType: 111, name: "opus", clockRate: 48000, channels: 2, ... }, ...]
 * offer.toString() === text; // true
 * ```
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5
 */
import { SdpParseError } from "./errors.js";
import { checkSdpBounds } from "./limits.js";
import type { Attribute, Bandwidth, Connection, SdpLine } from "./lines.js";
import { formatConnection, formatLine, parseBandwidth, parseConnection, parseInteger, splitLines } from "./lines.js";
import { MediaDescription, sessionAttributes, sessionDirection, validateLine } from "./MediaDescription.js";
import type { Direction } from "./attributes/direction.js";
import { isDirection } from "./attributes/direction.js";
import type { Fingerprint, SetupRole } from "./attributes/fingerprint.js";
import { parseFingerprint, parseSetup } from "./attributes/fingerprint.js";
import type { Group } from "./attributes/group.js";
import { parseGroup } from "./attributes/group.js";

/**
 * The origin, `o=<username> <sess-id> <sess-version> <nettype> <addrtype> <unicast-address>` (RFC 8866 §5.2).
 *
 * `sessionId` and `sessionVersion` are strings: browsers send 19-digit values beyond `Number.MAX_SAFE_INTEGER`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5.2
 */
export interface Origin {
  readonly username: string;
  readonly sessionId: string;
  readonly sessionVersion: string;
  readonly netType: string;
  readonly addressType: string;
  readonly address: string;
}

/**
 * Parses the value of an `o=` line.
 *
 * @throws {SdpParseError} when the line does not have six fields or the id/version are not numbers.
 */
export function parseOrigin(value: string, line = 0): Origin {
  const text = `o=${value}`;
  const f = value.split(" ");
  const [username, sessionId, sessionVersion, netType, addressType, address] = f;
  if (
    f.length !== 6 ||
    username === undefined ||
    netType === undefined ||
    addressType === undefined ||
    address === undefined ||
    !/^\d+$/.test(sessionId ?? "") ||
    !/^\d+$/.test(sessionVersion ?? "")
  ) {
    throw new SdpParseError(
      "o= must be <username> <sess-id> <sess-version> <nettype> <addrtype> <address>",
      line,
      text,
    );
  }
  return { username, sessionId: sessionId ?? "", sessionVersion: sessionVersion ?? "", netType, addressType, address };
}

/** Formats an {@link Origin} as the value of an `o=` line. */
export function formatOrigin(o: Origin): string {
  return [o.username, o.sessionId, o.sessionVersion, o.netType, o.addressType, o.address].join(" ");
}

/** Timing, `t=<start-time> <stop-time>` (RFC 8866 §5.9); `0 0` is a permanent session, as in every real call. */
export interface Timing {
  readonly start: number;
  readonly stop: number;
}

/**
 * A parsed SDP. Create one with {@link SessionDescription.parse}.
 */
export class SessionDescription {
  readonly #sessionLines: SdpLine[];
  readonly #media: MediaDescription[];
  readonly #trailer: string;
  readonly #eol: string;

  private constructor(sessionLines: SdpLine[], mediaLines: SdpLine[][], trailer: string, eol: string) {
    this.#sessionLines = sessionLines;
    this.#trailer = trailer;
    this.#eol = eol;
    // Media sections read inherited attributes through this closure, so session edits are visible to them.
    const context = { sessionLines: (): readonly SdpLine[] => this.#sessionLines, eol: (): string => this.#eol };
    this.#media = mediaLines.map((lines) => new MediaDescription(lines, context));
  }

  /**
   * Parses an SDP text. CRLF and bare LF line endings are both accepted (RFC 8866 §5) and preserved.
   *
   * Checks: the first line is `v=0` (RFC 8866 §5.1); every line has the `<type>=<value>` form; `o=` is present
   * and well formed (RFC 8866 §5.2); `c=`, `b=`, `t=`, `m=` and the attributes whose grammar is known (rtpmap,
   * fmtp, rtcp-fb, extmap, candidate, fingerprint, setup, crypto, ssrc, group, rtcp, ptime, preconditions) are
   * well formed. `s=` and `t=` may be missing: some SIP devices omit them, and refusing their calls helps nobody.
   *
   * @throws {SdpParseError} with the 1-based line number of the first offending line.
   */
  static parse(text: string): SessionDescription {
    // 0. Size limits first, so a hostile description costs one cheap scan and no parse (sdp/limits.ts).
    checkSdpBounds(text);
    if (text.trim() === "") {
      throw new SdpParseError("empty session description", 1, "");
    }
    // 1. Split into typed lines (rejects anything that is not `x=value`), remembering each line's terminator.
    const { lines, trailer, eol } = splitLines(text);
    // 2. RFC 8866 §5.1: "v=0" is the first line; there is no other version.
    const first = lines[0];
    if (first?.type !== "v") {
      throw new SdpParseError(
        "missing v= line: a session description must start with v=0",
        1,
        first && formatLine(first).trimEnd(),
      );
    }
    if (first.value !== "0") {
      throw new SdpParseError(`unsupported protocol version "${first.value}"`, 1, `v=${first.value}`);
    }
    // 3. Everything before the first m= is session level (RFC 8866 §5: "session-level section ... followed by zero
    //    or more media-level sections"); validate it, then cut the rest into sections at each m=.
    const firstMedia = lines.findIndex((l) => l.type === "m");
    const sessionLines = firstMedia === -1 ? lines : lines.slice(0, firstMedia);
    for (const l of sessionLines.slice(1)) {
      validateSessionLine(l);
    }
    if (!sessionLines.some((l) => l.type === "o")) {
      throw new SdpParseError("missing o= line", sessionLines.length + 1);
    }
    // 4. Session-only fields inside a media section mean a concatenation or a broken generator: refuse them.
    const mediaLines: SdpLine[][] = [];
    for (const l of firstMedia === -1 ? [] : lines.slice(firstMedia)) {
      if (l.type === "v" || l.type === "o" || l.type === "s" || l.type === "t") {
        throw new SdpParseError(
          `${l.type}= is a session-level line but appears inside a media description`,
          l.number,
          formatLine(l).trimEnd(),
        );
      }
      if (l.type === "m") {
        mediaLines.push([l]);
      } else {
        mediaLines[mediaLines.length - 1]?.push(l);
      }
    }
    return new SessionDescription(sessionLines, mediaLines, trailer, eol);
  }

  /** The description exactly as read, with any edits applied. */
  toString(): string {
    return this.#sessionLines.map(formatLine).join("") + this.#media.map((m) => m.toString()).join("") + this.#trailer;
  }

  /** The line terminator of the input ("\r\n" or "\n"); lines added by edits use it. */
  get eol(): string {
    return this.#eol;
  }

  /** The session-level lines (`v=` up to the first `m=`). */
  get sessionLines(): readonly SdpLine[] {
    return this.#sessionLines;
  }

  /** The media descriptions in order. Their index is the "m-line index" of RFC 3264 §6. */
  get media(): readonly MediaDescription[] {
    return this.#media;
  }

  /** The media description with the given `a=mid` (RFC 5888 §4), or `undefined`. */
  mediaByMid(mid: string): MediaDescription | undefined {
    return this.#media.find((m) => m.mid === mid);
  }

  // -------------------------------------------------------------------------------------------------------------
  // Session-level fields
  // -------------------------------------------------------------------------------------------------------------

  /** `o=` (RFC 8866 §5.2); always present after a successful parse. */
  get origin(): Origin {
    const line = this.#sessionLines.find((l) => l.type === "o");
    return parseOrigin(line?.value ?? "");
  }

  /**
   * Increments `<sess-version>` of `o=` by one, as every new offer or answer in a session must (RFC 3264 §8:
   * "the version number ... MUST be incremented by one from the previous SDP"). Only the version digits change.
   */
  incrementVersion(): void {
    const index = this.#sessionLines.findIndex((l) => l.type === "o");
    const line = this.#sessionLines[index];
    if (line === undefined) {
      return;
    }
    // BigInt: 19-digit browser versions exceed Number.MAX_SAFE_INTEGER.
    const o = this.origin;
    const next = (BigInt(o.sessionVersion) + 1n).toString();
    const fields = line.value.split(" ");
    fields[2] = next;
    this.#sessionLines[index] = { ...line, value: fields.join(" ") };
  }

  /** `s=` (RFC 8866 §5.3), `undefined` when absent. */
  get sessionName(): string | undefined {
    return this.#sessionLines.find((l) => l.type === "s")?.value;
  }

  /** Session-level `c=` (RFC 8866 §5.7), or `undefined`. */
  get connection(): Connection | undefined {
    const line = this.#sessionLines.find((l) => l.type === "c");
    return line === undefined ? undefined : parseConnection(line.value);
  }

  /**
   * Sets the session-level `c=`: rewrites it in place or inserts it before the first `b=`, `t=` or `a=` line
   * (RFC 8866 §5 order: v, o, s, i, u, e, p, c, b, t).
   */
  setConnection(connection: Connection): void {
    const value = formatConnection(connection);
    const index = this.#sessionLines.findIndex((l) => l.type === "c");
    const old = this.#sessionLines[index];
    if (old !== undefined) {
      this.#sessionLines[index] = { ...old, value };
      return;
    }
    const at = this.#sessionLines.findIndex((l) => "btrzka".includes(l.type));
    const line: SdpLine = { type: "c", value, eol: this.#eol, number: 0 };
    this.#sessionLines.splice(at === -1 ? this.#sessionLines.length : at, 0, line);
  }

  /** Session-level `b=` lines. */
  get bandwidths(): Bandwidth[] {
    return this.#sessionLines.filter((l) => l.type === "b").map((l) => parseBandwidth(l.value));
  }

  /** The first `t=` line, or `undefined`. */
  get timing(): Timing | undefined {
    const line = this.#sessionLines.find((l) => l.type === "t");
    return line === undefined ? undefined : parseTiming(line.value);
  }

  /** Session-level `a=` lines in order. */
  get attributes(): Attribute[] {
    return sessionAttributes(this.#sessionLines);
  }

  /** The value of the first session-level `a=<name>:` line, or `undefined`. */
  attribute(name: string): string | undefined {
    return this.attributes.find((a) => a.name === name)?.value;
  }

  /** Whether a session-level `a=<name>` line exists. */
  hasAttribute(name: string): boolean {
    return this.attributes.some((a) => a.name === name);
  }

  /** Session-level direction, or `undefined` when none is written (media sections then default to sendrecv). */
  get direction(): Direction | undefined {
    return sessionDirection(this.#sessionLines);
  }

  /** Sets the session-level direction: rewrites the existing line in place or appends one to the session part. */
  set direction(direction: Direction) {
    const index = this.#sessionLines.findIndex((l) => l.type === "a" && isDirection(l.value));
    const old = this.#sessionLines[index];
    if (old === undefined) {
      this.#sessionLines.push({ type: "a", value: direction, eol: this.#eol, number: 0 });
    } else {
      this.#sessionLines[index] = { ...old, value: direction };
    }
  }

  /** `a=group` lines (RFC 5888 §5). */
  get groups(): Group[] {
    return this.attributes.flatMap((a) => (a.name === "group" && a.value !== undefined ? [parseGroup(a.value)] : []));
  }

  /** The mids of the first BUNDLE group (RFC 8843 §7), or `undefined` when the description has none. */
  get bundle(): readonly string[] | undefined {
    return this.groups.find((g) => g.semantics === "BUNDLE")?.mids;
  }

  /** `a=ice-lite` (RFC 8839 §5.3). */
  get iceLite(): boolean {
    return this.hasAttribute("ice-lite");
  }

  /** Session-level `a=fingerprint` lines (RFC 8122 §5). */
  get fingerprints(): Fingerprint[] {
    return this.attributes.flatMap((a) =>
      a.name === "fingerprint" && a.value !== undefined ? [parseFingerprint(a.value)] : [],
    );
  }

  /** Session-level `a=setup` (RFC 4145 §4), or `undefined`. */
  get setup(): SetupRole | undefined {
    const v = this.attribute("setup");
    return v === undefined ? undefined : parseSetup(v);
  }
}

/**
 * Parses the value of a `t=` line.
 *
 * @throws {SdpParseError} when it is not two decimal numbers.
 */
export function parseTiming(value: string, line = 0): Timing {
  const text = `t=${value}`;
  const [start, stop, ...extra] = value.split(" ");
  if (start === undefined || stop === undefined || extra.length > 0) {
    throw new SdpParseError("t= must be <start-time> <stop-time>", line, text);
  }
  return {
    start: parseInteger(start, "t= start time", line, text),
    stop: parseInteger(stop, "t= stop time", line, text),
  };
}

// Session-level validation: o= and t= here, the rest is shared with the media level.
function validateSessionLine(l: SdpLine): void {
  switch (l.type) {
    case "v": {
      throw new SdpParseError("duplicate v= line", l.number, formatLine(l).trimEnd());
    }
    case "o": {
      parseOrigin(l.value, l.number);
      return;
    }
    case "t": {
      parseTiming(l.value, l.number);
      return;
    }
    default: {
      validateLine(l);
    }
  }
}
