/**
 * Checks on text that becomes part of a SIP message (issue 9, defect 5: header injection).
 *
 * A header line is `field-name: field-value CRLF` (RFC 3261 §7.3.1, §25.1): the name is a `token`, and the value
 * may hold no CR or LF outside line folding, which the stack never writes. A CR or LF in a value given by an
 * application would end the header early and start another one, or even a second request; NUL ends C strings in
 * many peers' parsers. Two layers use these checks:
 *
 * - the API edge (src/sip/SipService.ts) refuses such text with a Kurento error naming the parameter or header;
 * - the serializer ({@link SipMessage.headerSection}) refuses to render a message whose start line or header lines
 *   break these rules ({@link SipHeaderTextError}), so no path, checked or not, can smuggle a line onto the wire.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-7.3.1
 */

import { isToken } from "./grammar.js";
import { headerKey } from "./headerNames.js";

/** A header name that is not a token, or a header value or start line with CR, LF or NUL, was about to be sent. */
export class SipHeaderTextError extends Error {
  override readonly name = "SipHeaderTextError";
  /** The offending header name (or `start-line`). */
  readonly header: string;
  constructor(header: string, message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.header = header;
  }
}

/** True when `s` holds CR, LF or NUL: what the serializer never writes inside a line. */
export function breaksLine(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x0d || c === 0x0a || c === 0x00) {
      return true;
    }
  }
  return false;
}

/**
 * True when `s` holds a control character other than HTAB (CR, LF and NUL included) or DEL: what application text
 * bound for a header may not hold (RFC 3261 §25.1: TEXT-UTF8char and LWS).
 */
export function hasControlChar(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      return true;
    }
  }
  return false;
}

/** True when `name` may be written as a header name (RFC 3261 §7.3.1: `token`). */
export function isHeaderName(name: string): boolean {
  return isToken(name);
}

/**
 * The serializer's last-line check of one header line (no allocation on the good path).
 * @throws {SipHeaderTextError} when the name is not a token or the value holds CR, LF or NUL.
 */
export function assertHeaderLine(name: string, value: string): void {
  if (!isToken(name)) {
    throw new SipHeaderTextError(name, `refusing to send a header whose name is not a token: ${JSON.stringify(name)}`);
  }
  if (breaksLine(value)) {
    throw new SipHeaderTextError(name, `refusing to send header ${name}: its value holds CR, LF or NUL`);
  }
}

/**
 * Headers the stack writes itself or that change how the stack behaves: an application may not give them as extra
 * headers of an outgoing call (the dialog's identifiers and tags, routing, framing, negotiation of extensions and
 * session timers, authentication). Keys are lower-case long names ({@link headerKey}).
 */
export const STACK_OWNED_HEADERS: ReadonlySet<string> = new Set([
  "via",
  "call-id",
  "cseq",
  "from",
  "to",
  "contact",
  "content-length",
  "content-type",
  "content-encoding",
  "content-disposition",
  "mime-version",
  "max-forwards",
  "route",
  "record-route",
  "allow",
  "supported",
  "require",
  "proxy-require",
  "session-expires",
  "min-se",
  "rseq",
  "rack",
  "user-agent",
  "authorization",
  "proxy-authorization",
  "expires",
]);

/** True when the stack owns `name` (compact forms count: `i` is Call-ID). */
export function isStackOwnedHeader(name: string): boolean {
  return STACK_OWNED_HEADERS.has(headerKey(name));
}
