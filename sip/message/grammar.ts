/**
 * Character classes and small scanners shared by the header parsers.
 *
 * The ABNF is RFC 3261 §25.1 (https://www.rfc-editor.org/rfc/rfc3261#section-25.1). Lookup tables over the
 * 7-bit range keep the hot loops branch-light; octets ≥ 0x80 (UTF-8) are handled explicitly where the grammar allows
 * them (quoted strings, reason phrases, opaque values).
 */

import { SipParseError } from "../errors.js";

/** Builds a 128-entry membership table: `chars` plus, with `alnum`, the ASCII letters and digits. */
function table(chars: string, alnum: boolean): Uint8Array {
  const t = new Uint8Array(128);
  if (alnum) {
    for (let c = 0x30; c <= 0x39; c++) {
      t[c] = 1;
    }
    for (let c = 0x41; c <= 0x5a; c++) {
      t[c] = 1;
      t[c + 0x20] = 1;
    }
  }
  for (let i = 0; i < chars.length; i++) {
    t[chars.charCodeAt(i)] = 1;
  }
  return t;
}

// token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
const TOKEN = table("-.!%*_+`'~", true);
// unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
const MARK = "-_.!~*'()";
// user = 1*( unreserved / escaped / user-unreserved ); user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
export const USER_CHARS = table(`${MARK}&=+$,;?/`, true);
// password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
export const PASSWORD_CHARS = table(`${MARK}&=+$,`, true);
// paramchar = param-unreserved / unreserved / escaped; param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
export const PARAM_CHARS = table(`${MARK}[]/:&+$`, true);
// hname / hvalue = hnv-unreserved / unreserved / escaped; hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
export const HEADER_CHARS = table(`${MARK}[]/?:+$`, true);
// hostname characters (plus "_" which real peers use), IPv4 digits and dots.
const HOST = table("-._", true);
// scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
const SCHEME = table("+-.", true);
// The tables below are the 7-bit part of each production; escaped octets ("%" HEX HEX) are handled by the callers
// that allow them, and UTF-8 octets only appear where the grammar has UTF8-NONASCII.
// Characters allowed in an unquoted generic header parameter value (gen-value = token / host / quoted-string),
// widened to ":" "[" "]" for IPv6 and "/" "@" for values real peers send unquoted.
const GEN_VALUE = table("-.!%*_+`'~:[]/@?&$()#{}|^", true);

// Character codes used by the scanners.
export const CH_TAB = 0x09;
export const CH_LF = 0x0a;
export const CH_CR = 0x0d;
export const CH_SPACE = 0x20;
export const CH_QUOTE = 0x22;
export const CH_PERCENT = 0x25;
export const CH_COMMA = 0x2c;
export const CH_SLASH = 0x2f;
export const CH_COLON = 0x3a;
export const CH_SEMI = 0x3b;
export const CH_LT = 0x3c;
export const CH_EQ = 0x3d;
export const CH_GT = 0x3e;
export const CH_QUESTION = 0x3f;
export const CH_AT = 0x40;
export const CH_L_BRACKET = 0x5b;
export const CH_BACKSLASH = 0x5c;
export const CH_R_BRACKET = 0x5d;

/** True for a token character. */
export function isTokenChar(c: number): boolean {
  return c < 128 && TOKEN[c] === 1;
}

/** True if `s` is a non-empty token (RFC 3261 §25.1). */
export function isToken(s: string): boolean {
  if (s.length === 0) {
    return false;
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || TOKEN[c] !== 1) {
      return false;
    }
  }
  return true;
}

/** True for a host name / IPv4 character (IPv6 references are handled separately). */
export function isHostChar(c: number): boolean {
  return c < 128 && HOST[c] === 1;
}

/** True if `s` is a valid URI scheme. */
export function isScheme(s: string): boolean {
  if (s.length === 0) {
    return false;
  }
  const c0 = s.charCodeAt(0) | 0x20;
  if (c0 < 0x61 || c0 > 0x7a) {
    return false;
  }
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || SCHEME[c] !== 1) {
      return false;
    }
  }
  return true;
}

/** True for SP or HTAB (after unfolding, LWS is only these). */
export function isWs(c: number): boolean {
  return c === CH_SPACE || c === CH_TAB;
}

/**
 * Removes leading and trailing SP/HTAB only. `String.prototype.trim` would also strip U+FEFF and other Unicode
 * spaces, which are data in SIP (RFC 4475 §3.1.1.2 puts a BOM at the start of a header value).
 */
export function trimLws(s: string): string {
  let start = 0;
  let end = s.length;
  while (start < end && isWs(s.charCodeAt(start))) {
    start++;
  }
  while (end > start && isWs(s.charCodeAt(end - 1))) {
    end--;
  }
  return start === 0 && end === s.length ? s : s.slice(start, end);
}

/** Index of the first non-SP/HTAB character at or after `pos`. */
export function skipWs(s: string, pos: number): number {
  const n = s.length;
  while (pos < n) {
    const c = s.charCodeAt(pos);
    if (c !== CH_SPACE && c !== CH_TAB) {
      break;
    }
    pos++;
  }
  return pos;
}

/** End index (exclusive) of a run of token characters starting at `pos`. */
export function scanToken(s: string, pos: number): number {
  const n = s.length;
  while (pos < n) {
    const c = s.charCodeAt(pos);
    if (c >= 128 || TOKEN[c] !== 1) {
      break;
    }
    pos++;
  }
  return pos;
}

/** End index of an unquoted generic parameter value starting at `pos` (UTF-8 allowed). */
export function scanGenValue(s: string, pos: number): number {
  const n = s.length;
  while (pos < n) {
    const c = s.charCodeAt(pos);
    if (c < 128 && GEN_VALUE[c] !== 1) {
      break;
    }
    pos++;
  }
  return pos;
}

/**
 * Scans a quoted-string starting at the opening quote at `pos` and returns the index just past the closing quote.
 * ```
 * quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
 * qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
 * ```
 * The scan is lenient about qdtext (raw control octets are accepted, as RFC 4475 §3.1.1.2 needs NUL inside quotes
 * only as quoted-pairs but real peers send worse); only the closing quote is mandatory.
 * quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F), RFC 3261 §25.1.
 * @throws {SipParseError} when the closing quote is missing (RFC 4475 §3.1.2.6, quotbal).
 */
export function scanQuoted(s: string, pos: number, what: string): number {
  const n = s.length;
  for (let i = pos + 1; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_BACKSLASH) {
      i++;
    } else if (c === CH_QUOTE) {
      return i + 1;
    }
  }
  throw new SipParseError(`Unterminated quoted string in ${what}`);
}

/** The content of a quoted string (with its quotes) with quoted-pairs resolved. */
export function unquote(quoted: string): string {
  if (quoted.length < 2 || quoted.charCodeAt(0) !== CH_QUOTE) {
    return quoted;
  }
  const inner = quoted.slice(1, -1);
  return inner.includes("\\") ? inner.replace(/\\([\s\S])/g, "$1") : inner;
}

/**
 * Wraps `s` in quotes, escaping `"`, backslash and control characters (other than HTAB, which qdtext allows) as
 * quoted-pairs (RFC 3261 §25.1; RFC 4475 §3.1.1.2 puts NUL, BEL and DEL in a display name). CR and LF cannot be
 * represented and are dropped.
 */
export function quote(s: string): string {
  return `"${s.replace(/[\r\n]/g, "").replace(/["\\\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, "\\$&")}"`;
}

const HEX = "0123456789ABCDEF";
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });
const utf8Encoder = new TextEncoder();

/** Value of one hex digit character, or -1 (HEXDIG is case-insensitive in ABNF, RFC 5234 §2.3). */
function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) {
    return c - 0x30;
  }
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) {
    return l - 0x61 + 10;
  }
  return -1;
}

/**
 * Resolves `%HH` escapes exactly once (RFC 3261 §19.1.2; RFC 4475 §3.1.1.3 expects `%25%34%31` → `%41`).
 * The octets are decoded as UTF-8, or as Latin-1 when they are not valid UTF-8. `%00` stays a NUL character
 * (RFC 4475 §3.1.1.4).
 * @throws {SipParseError} for a `%` not followed by two hex digits.
 */
export function unescapeUri(s: string, what: string): string {
  if (!s.includes("%")) {
    return s;
  }
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === CH_PERCENT) {
      const h = hexValue(s.charCodeAt(i + 1));
      const l = hexValue(s.charCodeAt(i + 2));
      if (h < 0 || l < 0) {
        throw new SipParseError(`Invalid escape in ${what}`);
      }
      bytes.push(h * 16 + l);
      i += 2;
    } else if (c < 0x80) {
      bytes.push(c);
    } else {
      for (const b of utf8Encoder.encode(s[i] ?? "")) {
        bytes.push(b);
      }
    }
  }
  const arr = Uint8Array.from(bytes);
  try {
    return utf8Decoder.decode(arr);
  } catch {
    return String.fromCharCode(...arr);
  }
}

/**
 * Escapes every character of `s` not allowed by `allowed` as `%HH` of its UTF-8 octets (RFC 3261 §19.1.2; upper-case
 * hex as RFC 3986 §2.1 recommends). The fast path returns `s` itself when nothing needs escaping, which is the normal
 * case for user parts and parameters.
 */
export function escapeUri(s: string, allowed: Uint8Array): string {
  let fast = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128 || allowed[c] !== 1) {
      fast = false;
      break;
    }
  }
  if (fast) {
    return s;
  }
  let out = "";
  for (const b of utf8Encoder.encode(s)) {
    if (b < 128 && allowed[b] === 1) {
      out += String.fromCharCode(b);
    } else {
      out += `%${HEX[b >> 4]}${HEX[b & 15]}`;
    }
  }
  return out;
}
