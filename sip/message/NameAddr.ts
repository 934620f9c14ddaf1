/**
 * name-addr / addr-spec header values: From, To, Contact, Route, Record-Route, Reply-To, P-Asserted-Identity,
 * Refer-To, Diversion and friends (RFC 3261 §20.10, §20.20, §20.39).
 *
 * ```
 * name-addr      = [ display-name ] LAQUOT addr-spec RAQUOT
 * addr-spec      = SIP-URI / SIPS-URI / absoluteURI
 * display-name   = *(token LWS) / quoted-string
 * ```
 * "If the URI is not enclosed in angle brackets, any semicolon-delimited parameters are header-parameters, not URI
 * parameters" (RFC 3261 §20.10); a bare URI with `,`, `?` or `;` of its own must be bracketed (RFC 4475 §3.1.2.13).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-20.10
 */

import { SipParseError } from "../errors.js";
import {
  CH_COMMA,
  CH_COLON,
  CH_GT,
  CH_LT,
  CH_QUOTE,
  CH_SEMI,
  isTokenChar,
  isWs,
  quote,
  scanQuoted,
  scanToken,
  skipWs,
  unquote,
} from "./grammar.js";
import { Parameters, parseHeaderParams } from "./Parameters.js";
import { parseUri, type Uri } from "./uri.js";

export class NameAddr {
  /** Display name with quoted-pairs resolved; `undefined` when absent. */
  displayName: string | undefined;
  /** The address. */
  uri: Uri;
  /** Header parameters (`tag`, `expires`, `q`, …); values keep their quotes. */
  readonly params: Parameters;

  constructor(uri: Uri, displayName?: string, params = new Parameters()) {
    this.uri = uri;
    this.displayName = displayName;
    this.params = params;
  }

  /** The `tag` parameter (RFC 3261 §19.3), used by From and To. */
  get tag(): string | undefined {
    return this.params.get("tag") ?? undefined;
  }

  set tag(value: string | undefined) {
    if (value === undefined) {
      this.params.delete("tag");
    } else {
      this.params.set("tag", value);
    }
  }

  /**
   * The Contact `expires` parameter in seconds (RFC 3261 §20.10). Overlarge or malformed values read as 3600, the
   * default RFC 4475 §3.1.2.4 allows.
   */
  get expires(): number | undefined {
    const raw = this.params.get("expires");
    if (raw === undefined || raw === null) {
      return undefined;
    }
    return parseDeltaSeconds(raw, 3600);
  }

  /**
   * The Contact `q` parameter (RFC 3261 §20.10: `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`), the
   * preference among several contacts in a 3xx or REGISTER; `undefined` when absent or invalid.
   */
  get q(): number | undefined {
    const raw = this.params.get("q");
    if (raw === undefined || raw === null || !/^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(raw)) {
      return undefined;
    }
    return Number(raw);
  }

  /** A deep copy, e.g. to build a response's To from the request's (RFC 3261 §8.2.6.2). */
  clone(): NameAddr {
    return new NameAddr(this.uri.clone(), this.displayName, this.params.clone());
  }

  /** Always renders the bracketed name-addr form, which is legal for every URI. */
  toString(): string {
    const display = this.displayName === undefined ? "" : `${quote(this.displayName)} `;
    return `${display}<${this.uri.toString()}>${this.params.toString()}`;
  }
}

/**
 * delta-seconds (RFC 3261 §25.1: `1*DIGIT`) with a fallback for values above 2**32-1 or not numeric. RFC 3261 §10.2.1.1
 * and RFC 4475 §3.1.2.4 let an element treat such an Expires as the 3600 s default instead of rejecting the request.
 */
export function parseDeltaSeconds(raw: string, fallback: number): number {
  if (!/^\d{1,10}$/.test(raw)) {
    return fallback;
  }
  const v = Number(raw);
  return v > 0xffffffff ? fallback : v;
}

/**
 * Parses one name-addr or addr-spec starting at `pos`. With `list`, a `,` ends the value.
 * @returns the value and the index after it.
 * @throws {SipParseError} on an unterminated quote (quotbal), a non-token display name (baddn), LWS inside `<>`
 *   (badaspec), a bare URI carrying headers (regbadct) or an empty parameter.
 */
export function parseNameAddrAt(s: string, pos: number, what: string, list: boolean): [NameAddr, number] {
  const n = s.length;
  pos = skipWs(s, pos);
  let displayName: string | undefined;
  let c = s.charCodeAt(pos);
  // Three shapes: quoted display name then <…>; bare <…>; tokens then <…> or an addr-spec. A run of token
  // characters followed directly by ":" can only be a URI scheme, because ":" is not a token character.
  if (c === CH_QUOTE) {
    const end = scanQuoted(s, pos, what);
    displayName = unquote(s.slice(pos, end));
    pos = skipWs(s, end);
    if (s.charCodeAt(pos) !== CH_LT) {
      throw new SipParseError(`Invalid ${what}: expected "<" after display name`);
    }
  } else if (c !== CH_LT) {
    const tokenEnd = scanToken(s, pos);
    if (tokenEnd > pos && s.charCodeAt(tokenEnd) === CH_COLON) {
      return parseAddrSpec(s, pos, what, list);
    }
    // display-name = *(token LWS): tokens separated by LWS up to "<" (RFC 4475 §3.1.1.6 allows no LWS before "<").
    const start = pos;
    let last = pos;
    while (pos < n) {
      c = s.charCodeAt(pos);
      if (c === CH_LT) {
        break;
      }
      if (isTokenChar(c)) {
        pos++;
        last = pos;
      } else if (isWs(c)) {
        pos++;
      } else {
        throw new SipParseError(`Invalid display name in ${what}`);
      }
    }
    if (pos >= n) {
      throw new SipParseError(`Invalid ${what}: missing address`);
    }
    if (last > start) {
      displayName = s.slice(start, last).replace(/[ \t]+/g, " ");
    }
  }
  // LAQUOT addr-spec RAQUOT: no LWS is allowed inside the brackets (RFC 4475 §3.1.2.14).
  const gt = s.indexOf(">", pos + 1);
  if (gt < 0) {
    throw new SipParseError(`Invalid ${what}: missing ">"`);
  }
  const uriText = s.slice(pos + 1, gt);
  if (uriText.length === 0 || isWs(uriText.charCodeAt(0)) || isWs(uriText.charCodeAt(uriText.length - 1))) {
    throw new SipParseError(`Invalid ${what}: whitespace inside <>`);
  }
  const uri = parseUri(uriText, what);
  const params = new Parameters();
  pos = parseHeaderParams(s, gt + 1, params, what, list);
  return [new NameAddr(uri, displayName, params), pos];
}

/**
 * addr-spec without brackets: the URI ends at the first ";" (header parameters follow), LWS, or "," in a list.
 * A stray ">" means unbalanced brackets.
 */
function parseAddrSpec(s: string, pos: number, what: string, list: boolean): [NameAddr, number] {
  const n = s.length;
  const start = pos;
  while (pos < n) {
    const c = s.charCodeAt(pos);
    if (c === CH_SEMI || isWs(c) || (list && c === CH_COMMA)) {
      break;
    }
    if (c === CH_GT) {
      throw new SipParseError(`Invalid ${what}: stray ">"`);
    }
    pos++;
  }
  const uriText = s.slice(start, pos);
  // RFC 3261 §20.10: a URI with headers or parameters of its own MUST be enclosed in <> (RFC 4475 §3.1.2.13).
  if (uriText.includes("?") && /^sips?:/i.test(uriText)) {
    throw new SipParseError(`Invalid ${what}: URI with headers must be enclosed in <>`);
  }
  const uri = parseUri(uriText, what);
  const params = new Parameters();
  pos = parseHeaderParams(s, pos, params, what, list);
  return [new NameAddr(uri, undefined, params), pos];
}

/**
 * Parses a single name-addr header value (From, To, Reply-To, Refer-To…).
 * @throws {SipParseError} when the value is malformed or followed by anything.
 */
export function parseNameAddr(value: string, what: string): NameAddr {
  const [addr, end] = parseNameAddrAt(value, 0, what, false);
  if (end !== value.length) {
    throw new SipParseError(`Invalid ${what}: trailing characters`);
  }
  return addr;
}

/**
 * Parses a comma-separated list of name-addr values (Contact, Route, Record-Route, P-Asserted-Identity…) and
 * appends them to `into`.
 * @throws {SipParseError} on a malformed value or an empty element (`a,,b`).
 */
export function parseNameAddrList(value: string, what: string, into: NameAddr[]): void {
  const n = value.length;
  let pos = 0;
  for (;;) {
    const [addr, end] = parseNameAddrAt(value, pos, what, true);
    into.push(addr);
    pos = skipWs(value, end);
    if (pos >= n) {
      return;
    }
    // parseHeaderParams stops only at "," in list mode.
    pos++;
    if (skipWs(value, pos) >= n) {
      throw new SipParseError(`Invalid ${what}: empty list element`);
    }
  }
}
