/**
 * Authentication headers: WWW-Authenticate, Proxy-Authenticate (challenges) and Authorization,
 * Proxy-Authorization (credentials), RFC 3261 §20.7, §20.27, §20.28, §20.44 and §22.4; RFC 7616 / RFC 8760 for the
 * newer digest algorithms.
 *
 * ```
 * challenge   = ("Digest" LWS digest-cln *(COMMA digest-cln)) / other-challenge
 * credentials = ("Digest" LWS digest-response) / other-response
 * auth-param  = auth-param-name EQUAL ( token / quoted-string )
 * ```
 * Unknown schemes parse generically (RFC 4475 §3.3.7: a proxy forwards `NoOneKnowsThisScheme opaque-data=here`
 * unchanged). Parameter values are stored unquoted together with whether they were quoted, so rendering is faithful.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-22.4
 */

import { SipParseError } from "../errors.js";
import { CH_COMMA, CH_EQ, CH_QUOTE, quote, scanGenValue, scanQuoted, scanToken, skipWs, unquote } from "./grammar.js";

/** One auth-param. */
export interface AuthParam {
  name: string;
  value: string;
  quoted: boolean;
}

// Digest parameters that RFC 3261 §25.1 / RFC 7616 §3.4 always quote. `qop` is quoted in a challenge
// (qop-options) and a token in credentials (message-qop); `algorithm`, `stale`, `nc` are tokens.
const QUOTED_BY_DEFAULT = new Set(["realm", "nonce", "opaque", "domain", "username", "uri", "response", "cnonce"]);

export class AuthHeader {
  /** Scheme as written, e.g. `"Digest"`; compared case-insensitively. */
  scheme: string;
  /** Parameters in order. */
  readonly params: AuthParam[];

  constructor(scheme: string, params: AuthParam[] = []) {
    this.scheme = scheme;
    this.params = params;
  }

  /** True for the Digest scheme. */
  get isDigest(): boolean {
    return this.scheme.toLowerCase() === "digest";
  }

  /** A parameter's unquoted value (name compared case-insensitively). */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    return this.params.find((p) => p.name.toLowerCase() === key)?.value;
  }

  /** Sets a parameter; `quoted` defaults to the RFC 3261 convention for that name. */
  set(name: string, value: string, quoted = QUOTED_BY_DEFAULT.has(name.toLowerCase())): this {
    const key = name.toLowerCase();
    const existing = this.params.find((p) => p.name.toLowerCase() === key);
    if (existing) {
      existing.value = value;
      existing.quoted = quoted;
    } else {
      this.params.push({ name, value, quoted });
    }
    return this;
  }

  /** Digest `realm`. */
  get realm(): string | undefined {
    return this.get("realm");
  }

  /** Digest `nonce`. */
  get nonce(): string | undefined {
    return this.get("nonce");
  }

  /** Digest `algorithm` (default MD5, RFC 3261 §20.44 / RFC 2617 §3.2.1). */
  get algorithm(): string {
    return this.get("algorithm") ?? "MD5";
  }

  /** Digest `stale=true` (RFC 2617 §3.2.1). */
  get stale(): boolean {
    return this.get("stale")?.toLowerCase() === "true";
  }

  /** qop values offered in a challenge (`"auth,auth-int"`) or chosen in credentials. */
  get qop(): string[] {
    const raw = this.get("qop");
    return raw === undefined
      ? []
      : raw
          .split(",")
          .map((q) => q.trim())
          .filter((q) => q.length > 0);
  }

  toString(): string {
    const params = this.params.map((p) => `${p.name}=${p.quoted ? quote(p.value) : p.value}`).join(", ");
    return params.length > 0 ? `${this.scheme} ${params}` : this.scheme;
  }
}

/**
 * Parses one challenge or credentials value.
 * @throws {SipParseError} on a missing scheme or a malformed parameter.
 */
export function parseAuthHeader(value: string, what: string): AuthHeader {
  const n = value.length;
  let pos = skipWs(value, 0);
  const schemeEnd = scanToken(value, pos);
  if (schemeEnd === pos) {
    throw new SipParseError(`Invalid ${what}: missing scheme`);
  }
  const header = new AuthHeader(value.slice(pos, schemeEnd));
  pos = skipWs(value, schemeEnd);
  // auth-param *( COMMA auth-param ): COMMA = SWS "," SWS, EQUAL = SWS "=" SWS (RFC 3261 §25.1).
  while (pos < n) {
    const nameEnd = scanToken(value, pos);
    if (nameEnd === pos) {
      throw new SipParseError(`Invalid ${what}: bad parameter`);
    }
    const name = value.slice(pos, nameEnd);
    pos = skipWs(value, nameEnd);
    if (value.charCodeAt(pos) !== CH_EQ) {
      throw new SipParseError(`Invalid ${what}: parameter ${name} without value`);
    }
    pos = skipWs(value, pos + 1);
    if (value.charCodeAt(pos) === CH_QUOTE) {
      const end = scanQuoted(value, pos, what);
      header.params.push({ name, value: unquote(value.slice(pos, end)), quoted: true });
      pos = end;
    } else {
      const end = scanGenValue(value, pos);
      if (end === pos) {
        throw new SipParseError(`Invalid ${what}: empty value of ${name}`);
      }
      header.params.push({ name, value: value.slice(pos, end), quoted: false });
      pos = end;
    }
    pos = skipWs(value, pos);
    if (pos < n) {
      if (value.charCodeAt(pos) !== CH_COMMA) {
        throw new SipParseError(`Invalid ${what}: expected ","`);
      }
      pos = skipWs(value, pos + 1);
    }
  }
  return header;
}
