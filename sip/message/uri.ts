/**
 * URIs found in SIP messages: `sip:`/`sips:` (RFC 3261 §19.1), `tel:` (RFC 3966) and any other scheme kept opaque
 * (RFC 3261 §19.1 allows absoluteURI in Request-URI, To, From and Contact; RFC 4475 §3.3.2–§3.3.4).
 *
 * Parsing unescapes user, password, parameters and headers exactly once; `toString()` escapes them again, so
 * `parseUri(x).toString()` is canonical (it may differ from `x` only in escaping that was not required).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-19.1.1
 */

import { SipParseError } from "../errors.js";
import {
  CH_AT,
  CH_COLON,
  CH_QUESTION,
  CH_R_BRACKET,
  CH_SEMI,
  HEADER_CHARS,
  PARAM_CHARS,
  PASSWORD_CHARS,
  USER_CHARS,
  escapeUri,
  isHostChar,
  isScheme,
  unescapeUri,
} from "./grammar.js";
import { Parameters, parseUriParams } from "./Parameters.js";

/**
 * A `sip:` or `sips:` URI. `host` keeps IPv6 references in brackets (`[2001:db8::1]`), as in the grammar.
 *
 * ```
 * sip:+4930123456@gw.example.com:5060;user=phone;transport=udp?Subject=hi
 *     └── user ──┘ └──── host ───┘└port┘└──────── params ───────┘└headers┘
 * ```
 * `sips:` requires TLS on every hop (RFC 3261 §19.1, §26.2.2); the transport layer enforces it.
 */
export class SipUri {
  readonly kind = "sip" as const;
  /** `"sip"` or `"sips"` (lower case). */
  scheme: "sip" | "sips";
  /** Unescaped user part (RFC 3261 §19.1.2), e.g. `"+4930123"`; may contain `;` (RFC 4475 §3.1.1.9). */
  user: string | undefined;
  /** Unescaped password (deprecated by RFC 3261 §19.1.1 but parsed). */
  password: string | undefined;
  /** Host name, IPv4 address or bracketed IPv6 reference. */
  host: string;
  /** Port, when present. */
  port: number | undefined;
  /** uri-parameters (`transport`, `user`, `lr`, `maddr`, …), unescaped. */
  readonly params: Parameters;
  /** URI headers (`?Route=…`), unescaped (RFC 4475 §3.3.14 keeps them in a Contact). */
  readonly headers: Parameters;

  constructor(init: {
    scheme?: "sip" | "sips";
    user?: string | undefined;
    password?: string | undefined;
    host: string;
    port?: number | undefined;
    params?: Parameters;
    headers?: Parameters;
  }) {
    this.scheme = init.scheme ?? "sip";
    this.user = init.user;
    this.password = init.password;
    this.host = init.host;
    this.port = init.port;
    this.params = init.params ?? new Parameters();
    this.headers = init.headers ?? new Parameters();
  }

  /** `host[:port]`, as written in the URI (what Via sent-by and Route comparisons use). */
  get hostport(): string {
    return this.port === undefined ? this.host : `${this.host}:${this.port}`;
  }

  /** The `transport` parameter in lower case, if present. */
  get transport(): string | undefined {
    return this.params.get("transport")?.toLowerCase();
  }

  /** True with `;lr` (loose routing, RFC 3261 §16.12.1.1). */
  get lr(): boolean {
    return this.params.has("lr");
  }

  /** A deep copy (parameters and headers are copied, so the clone can be edited for a Route or Contact). */
  clone(): SipUri {
    return new SipUri({
      scheme: this.scheme,
      user: this.user,
      password: this.password,
      host: this.host,
      port: this.port,
      params: this.params.clone(),
      headers: this.headers.clone(),
    });
  }

  /**
   * Canonical text: user and password are escaped with their own character sets, parameters with paramchar and
   * headers with hnv characters (RFC 3261 §19.1.2: "characters other than those in the 'unreserved' and 'user-
   * unreserved' ... MUST be escaped" in the user part).
   */
  toString(): string {
    let out = `${this.scheme}:`;
    if (this.user !== undefined) {
      out += escapeUri(this.user, USER_CHARS);
      if (this.password !== undefined) {
        out += `:${escapeUri(this.password, PASSWORD_CHARS)}`;
      }
      out += "@";
    }
    out += this.hostport;
    if (this.params.size > 0) {
      out += this.params.toString(PARAM_CHARS);
    }
    if (this.headers.size > 0) {
      out += this.headers.toString(HEADER_CHARS, "?", "&");
    }
    return out;
  }
}

/** A `tel:` URI (RFC 3966): a global (`+…`) or local number plus parameters such as `phone-context`. */
export class TelUri {
  readonly kind = "tel" as const;
  readonly scheme = "tel" as const;
  /** The telephone-subscriber number as written, visual separators included (`+1-201-555-0123`). */
  number: string;
  /** Parameters (`phone-context`, `ext`, `isub`, …), unescaped. */
  readonly params: Parameters;

  constructor(number: string, params = new Parameters()) {
    this.number = number;
    this.params = params;
  }

  /** True for a global number (RFC 3966 §5.1.4). */
  get isGlobal(): boolean {
    return this.number.startsWith("+");
  }

  /** The number without visual separators (`-`, `.`, `(`, `)`), as RFC 3966 §4 compares it. */
  get digits(): string {
    return this.number.replace(/[-.()]/g, "");
  }

  /** A deep copy. */
  clone(): TelUri {
    return new TelUri(this.number, this.params.clone());
  }

  toString(): string {
    return `tel:${this.number}${this.params.toString(PARAM_CHARS)}`;
  }
}

/** Any other absoluteURI (`http:`, `isbn:`, `urn:`, …), kept opaque. */
export class GenericUri {
  readonly kind = "generic" as const;
  /** Scheme as written. */
  readonly scheme: string;
  /** Everything after the first `:`. */
  readonly opaque: string;

  constructor(scheme: string, opaque: string) {
    this.scheme = scheme;
    this.opaque = opaque;
  }

  /** Generic URIs are immutable, so the clone is the same object. */
  clone(): GenericUri {
    return this;
  }

  toString(): string {
    return `${this.scheme}:${this.opaque}`;
  }
}

/**
 * Every URI form the parser produces. Discriminate on `kind`:
 * - `"sip"`: {@link SipUri}, for `sip:` and `sips:` (RFC 3261 §19.1);
 * - `"tel"`: {@link TelUri} (RFC 3966), what IMS puts in P-Asserted-Identity and often in To/From;
 * - `"generic"`: {@link GenericUri}, any other absoluteURI. The UA core answers 416 Unsupported URI Scheme to a
 *   Request-URI it cannot serve (RFC 3261 §8.2.2.1, RFC 4475 §3.3.2), but the parser never fails on one.
 */
export type Uri = SipUri | TelUri | GenericUri;

// RFC 3966 §3: telephone-subscriber characters.
//   global-number-digits = "+" *phonedigit DIGIT *phonedigit; phonedigit = DIGIT / visual-separator
//   local-number-digits  = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex
//   visual-separator     = "-" / "." / "(" / ")"
// "p" and "w" (pause/wait) are accepted as real dial strings contain them; RFC 3966 §5.1.1 drops them, it does not
// forbid them in received URIs.
const TEL_NUMBER = /^(?:\+[0-9().-]+|[0-9A-Fa-f*#().pw-]+)$/;

/**
 * True for a character that can never appear unescaped in a URI (controls, SP, `"`, `<`, `>`, DEL).
 * This is what rejects LWS inside a Request-URI (RFC 4475 §3.1.2.8) and `<>` around it (§3.1.2.7): neither SP nor
 * the angle brackets are in any URI production of RFC 3261 §25.1 or RFC 3986.
 */
function badUriChar(c: number): boolean {
  return c <= 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x7f;
}

/**
 * Parses any URI.
 * @throws {SipParseError} when the scheme is missing or invalid, or a sip/sips/tel URI breaks its grammar.
 */
export function parseUri(text: string, what = "URI"): Uri {
  // scheme ":" … — the first colon ends the scheme (RFC 3986 §3.1); schemes compare case-insensitively.
  const colon = text.indexOf(":");
  if (colon <= 0) {
    throw new SipParseError(`Invalid ${what}: missing scheme`);
  }
  const scheme = text.slice(0, colon);
  const lower = scheme.length <= 4 ? scheme.toLowerCase() : scheme;
  if (lower === "sip" || lower === "sips") {
    return parseSipUriRest(lower, text, colon + 1, what);
  }
  if (!isScheme(scheme)) {
    throw new SipParseError(`Invalid ${what}: bad scheme`);
  }
  for (let i = colon + 1; i < text.length; i++) {
    if (badUriChar(text.charCodeAt(i))) {
      throw new SipParseError(`Invalid ${what}: illegal character`);
    }
  }
  // tel: (RFC 3966 §3): telephone-subscriber *par, parameters as in SIP URIs (";" name ["=" value]).
  if (lower === "tel") {
    const rest = text.slice(colon + 1);
    const semi = rest.indexOf(";");
    const number = semi < 0 ? rest : rest.slice(0, semi);
    if (!TEL_NUMBER.test(number)) {
      throw new SipParseError(`Invalid ${what}: bad telephone number`);
    }
    const params = new Parameters();
    if (semi >= 0) {
      parseUriParams(rest.slice(semi + 1), ";", params, what);
    }
    return new TelUri(number, params);
  }
  if (colon + 1 >= text.length) {
    throw new SipParseError(`Invalid ${what}: empty ${scheme} URI`);
  }
  return new GenericUri(scheme, text.slice(colon + 1));
}

/** Parses a `sip:`/`sips:` URI and fails for any other scheme. */
export function parseSipUri(text: string, what = "SIP URI"): SipUri {
  const uri = parseUri(text, what);
  if (uri.kind !== "sip") {
    throw new SipParseError(`Invalid ${what}: not a sip or sips URI`);
  }
  return uri;
}

/**
 * sip-URI / sips-URI (RFC 3261 §25.1):
 * `"sip:" [ userinfo ] hostport uri-parameters [ headers ]`, userinfo = `( user / telephone-subscriber ) [ ":" password ] "@"`.
 * `@` cannot occur unescaped after the userinfo, so the first `@` ends it even when the user part holds `;`, `?` or
 * `,` (RFC 4475 §3.1.1.2 and §3.1.1.9).
 */
function parseSipUriRest(scheme: "sip" | "sips", text: string, start: number, what: string): SipUri {
  const n = text.length;
  let at = -1;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (badUriChar(c)) {
      throw new SipParseError(`Invalid ${what}: illegal character`);
    }
    if (c === CH_AT && at < 0) {
      at = i;
    }
  }
  // userinfo: the user part is unescaped once here and escaped again on output, so comparisons (RFC 3261 §19.1.4:
  // "comparison of the userinfo of SIP and SIPS URIs is case-sensitive", after unescaping) work on the real text.
  let user: string | undefined;
  let password: string | undefined;
  let pos = start;
  if (at >= 0) {
    const userinfo = text.slice(start, at);
    const pc = userinfo.indexOf(":");
    const rawUser = pc < 0 ? userinfo : userinfo.slice(0, pc);
    if (rawUser.length === 0) {
      throw new SipParseError(`Invalid ${what}: empty user`);
    }
    user = unescapeUri(rawUser, what);
    if (pc >= 0) {
      password = unescapeUri(userinfo.slice(pc + 1), what);
    }
    pos = at + 1;
  }
  // hostport = host [ ":" port ]; host = hostname / IPv4address / IPv6reference (RFC 3261 §25.1).
  // IPv6 references are bracketed ("[2001:db8::1]"), which is the only way to tell the address's colons from the
  // port separator (RFC 5118 §4.1 torture cases); hostnames and IPv4 addresses share one character class here, as
  // both are validated by DNS or the socket API later.
  const hostStart = pos;
  if (text.charCodeAt(pos) === 0x5b) {
    const close = text.indexOf("]", pos);
    if (close < 0) {
      throw new SipParseError(`Invalid ${what}: unterminated IPv6 reference`);
    }
    pos = close + 1;
  } else {
    while (pos < n && isHostChar(text.charCodeAt(pos))) {
      pos++;
    }
  }
  if (pos === hostStart) {
    throw new SipParseError(`Invalid ${what}: missing host`);
  }
  const host = text.slice(hostStart, pos);
  if (host.charCodeAt(host.length - 1) === CH_R_BRACKET && !/^\[[0-9A-Fa-f:.]+\]$/.test(host)) {
    throw new SipParseError(`Invalid ${what}: bad IPv6 reference`);
  }
  // port = 1*DIGIT, bounded to 0–65535 because it is handed to a socket.
  let port: number | undefined;
  if (pos < n && text.charCodeAt(pos) === CH_COLON) {
    const portStart = ++pos;
    let value = 0;
    while (pos < n) {
      const d = text.charCodeAt(pos) - 0x30;
      if (d < 0 || d > 9) {
        break;
      }
      value = value * 10 + d;
      pos++;
    }
    if (pos === portStart || pos - portStart > 5 || value > 65535) {
      throw new SipParseError(`Invalid ${what}: bad port`);
    }
    port = value;
  }
  // uri-parameters = *( ";" uri-parameter ) then headers = "?" header *( "&" header ) (RFC 3261 §19.1.1).
  // Parameters stop at the first "?" since "?" is not a paramchar; header values may contain "?" (hnv-unreserved).
  const params = new Parameters();
  const headers = new Parameters();
  if (pos < n) {
    let c = text.charCodeAt(pos);
    if (c === CH_SEMI) {
      const q = text.indexOf("?", pos);
      const end = q < 0 ? n : q;
      parseUriParams(text.slice(pos + 1, end), ";", params, what);
      pos = end;
      c = pos < n ? text.charCodeAt(pos) : 0;
    }
    if (pos < n) {
      if (c !== CH_QUESTION) {
        throw new SipParseError(`Invalid ${what}: unexpected "${text[pos] ?? ""}" after host`);
      }
      parseUriParams(text.slice(pos + 1), "&", headers, what);
    }
  }
  return new SipUri({ scheme, user, password, host, port, params, headers });
}

/** Removes the brackets of an IPv6 reference (`[::1]` → `::1`), for socket APIs. */
export function hostToAddress(host: string): string {
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}
