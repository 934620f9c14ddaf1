/**
 * The raw line layer of the SDP model: splitting text into `<type>=<value>` lines that keep their own line
 * terminators, so that `toString()` can re-emit every untouched line byte for byte, plus the parsers for the
 * non-attribute fields shared by the session and media levels (`c=`, `b=`).
 *
 * Grammar reminder (RFC 8866 §5): "An SDP description consists of a number of lines of text of the form
 * `<type>=<value>` where `<type>` is exactly one case-significant character and `<value>` is structured text whose
 * format depends on `<type>`. In general, `<value>` is either a number of subfields delimited by a single space
 * character or a free format string. Whitespace MUST NOT be used on either side of the `=` sign."
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5
 */
import { SdpParseError } from "./errors.js";

/**
 * One line of an SDP text. `raw` is exactly `${type}=${value}${eol}`.
 *
 * @remarks `number` is the 1-based line number in the parsed input, or 0 for lines created by an edit.
 */
export interface SdpLine {
  readonly type: string;
  readonly value: string;
  /** "\r\n", "\n" or "" (last line without terminator); kept so the text round-trips byte for byte. */
  readonly eol: string;
  readonly number: number;
}

/** Result of {@link splitLines}. */
export interface SplitText {
  readonly lines: SdpLine[];
  /** Blank lines after the last SDP line (some stacks append an extra CRLF); kept for the round trip. */
  readonly trailer: string;
  /** The line terminator new lines get: the one used by the first line, CRLF when the text has none. */
  readonly eol: string;
}

// RFC 8866 §5: <type> is one alphabetic character, then "=" with no surrounding whitespace.
const LINE_RE = /^([A-Za-z])=(.*)$/s;

/**
 * Splits an SDP text into typed lines, preserving each line's terminator.
 *
 * RFC 8866 §5 mandates CRLF but tells parsers to also accept a bare LF ("parsers SHOULD be tolerant and also accept
 * lines terminated with a single newline character"), so both are accepted and remembered per line.
 *
 * @throws {SdpParseError} when a line is not of the `x=value` form or a blank line appears between SDP lines.
 */
export function splitLines(text: string): SplitText {
  const lines: SdpLine[] = [];
  let pos = 0;
  let number = 0;
  let firstEol: string | undefined;
  while (pos < text.length) {
    const lf = text.indexOf("\n", pos);
    const end = lf === -1 ? text.length : lf;
    const crlf = end > pos && text.charCodeAt(end - 1) === 13;
    const body = text.slice(pos, crlf ? end - 1 : end);
    const eol = lf === -1 ? "" : crlf ? "\r\n" : "\n";
    number++;
    if (body === "") {
      // Only trailing blank lines are tolerated; they become the trailer.
      const rest = text.slice(pos);
      if (/^[\r\n]*$/.test(rest)) {
        return { lines, trailer: rest, eol: firstEol ?? "\r\n" };
      }
      throw new SdpParseError("blank line inside the description", number, "");
    }
    const match = LINE_RE.exec(body);
    if (match === null) {
      throw new SdpParseError("expected a line of the form <type>=<value>", number, body);
    }
    firstEol ??= eol === "" ? undefined : eol;
    lines.push({ type: match[1] ?? "", value: match[2] ?? "", eol, number });
    pos = end + 1;
  }
  return { lines, trailer: "", eol: firstEol ?? "\r\n" };
}

/** Re-emits one line exactly as it was read (or as an edit created it). */
export function formatLine(line: SdpLine): string {
  return `${line.type}=${line.value}${line.eol}`;
}

/** A parsed `a=` line: `a=<name>` (property attribute) or `a=<name>:<value>` (value attribute), RFC 8866 §5.13. */
export interface Attribute {
  readonly name: string;
  /** `undefined` for property attributes such as `a=sendrecv` or `a=rtcp-mux`. */
  readonly value: string | undefined;
}

/** Splits the value of an `a=` line at the first colon (RFC 8866 §5.13). */
export function parseAttribute(value: string): Attribute {
  const colon = value.indexOf(":");
  return colon === -1
    ? { name: value, value: undefined }
    : { name: value.slice(0, colon), value: value.slice(colon + 1) };
}

/** Builds the value of an `a=` line from a name and an optional value. */
export function formatAttribute(name: string, value?: string): string {
  return value === undefined ? name : `${name}:${value}`;
}

/** Network address types of `c=` and `o=` (RFC 8866 §5.7). */
export type AddressType = "IP4" | "IP6";

/**
 * Connection data, `c=<nettype> <addrtype> <connection-address>` (RFC 8866 §5.7).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5.7
 */
export interface Connection {
  readonly netType: string;
  readonly addressType: string;
  readonly address: string;
  /** Multicast TTL (`/ttl`, IPv4 only). */
  readonly ttl?: number;
  /** Number of multicast addresses (`/n`). */
  readonly count?: number;
}

/**
 * Parses the value of a `c=` line.
 *
 * @throws {SdpParseError} when the line does not have three fields.
 */
export function parseConnection(value: string, line = 0): Connection {
  const parts = value.split(" ");
  const [netType, addressType, spec] = parts;
  if (parts.length !== 3 || netType === undefined || addressType === undefined || spec === undefined || spec === "") {
    throw new SdpParseError("c= must be <nettype> <addrtype> <connection-address>", line, `c=${value}`);
  }
  const [address = "", ...suffix] = spec.split("/");
  const numbers = suffix.map((s) => parseInteger(s, "c= multicast suffix", line, `c=${value}`));
  // RFC 8866 §5.7: IPv4 multicast carries /ttl[/count]; IPv6 multicast carries only /count.
  if (addressType === "IP6") {
    return { netType, addressType, address, ...(numbers[0] === undefined ? {} : { count: numbers[0] }) };
  }
  return {
    netType,
    addressType,
    address,
    ...(numbers[0] === undefined ? {} : { ttl: numbers[0] }),
    ...(numbers[1] === undefined ? {} : { count: numbers[1] }),
  };
}

/** Formats a {@link Connection} as the value of a `c=` line. */
export function formatConnection(c: Connection): string {
  let spec = c.address;
  if (c.ttl !== undefined) {
    spec += `/${c.ttl}`;
  }
  if (c.count !== undefined) {
    spec += `/${c.count}`;
  }
  return `${c.netType} ${c.addressType} ${spec}`;
}

/** The address type for an IP literal: IPv6 literals contain a colon. */
export function addressTypeOf(address: string): AddressType {
  return address.includes(":") ? "IP6" : "IP4";
}

/**
 * Whether a connection address is the RFC 2543 hold address: `c=IN IP4 0.0.0.0` (RFC 3264 §8.4 tells answerers to
 * still understand it) or its IPv6 counterpart `::`.
 *
 * @see https://www.rfc-editor.org/rfc/rfc3264#section-8.4
 */
export function isHoldAddress(address: string): boolean {
  return address === "0.0.0.0" || address === "::";
}

/**
 * Bandwidth, `b=<bwtype>:<bandwidth>` (RFC 8866 §5.8), e.g. `b=AS:41`, `b=TIAS:64000`, and the RTCP bandwidth
 * modifiers `b=RS:` / `b=RR:` of RFC 3556 used by VoLTE offers.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5.8
 */
export interface Bandwidth {
  readonly type: string;
  readonly value: number;
}

/**
 * Parses the value of a `b=` line.
 *
 * @throws {SdpParseError} when the line is not `<type>:<integer>`.
 */
export function parseBandwidth(value: string, line = 0): Bandwidth {
  const colon = value.indexOf(":");
  if (colon <= 0) {
    throw new SdpParseError("b= must be <bwtype>:<bandwidth>", line, `b=${value}`);
  }
  return { type: value.slice(0, colon), value: parseInteger(value.slice(colon + 1), "bandwidth", line, `b=${value}`) };
}

/**
 * Parses a non-negative decimal integer field.
 *
 * @throws {SdpParseError} naming `what` when the field is not a plain decimal number.
 */
export function parseInteger(text: string, what: string, line: number, lineText: string): number {
  if (!/^\d{1,15}$/.test(text)) {
    throw new SdpParseError(`${what} must be a decimal integer, got "${text}"`, line, lineText);
  }
  return Number(text);
}
