/**
 * An ordered, case-insensitive list of `;name[=value]` parameters.
 *
 * Used for header parameters (Via, name-addr, Content-Type) and for SIP URI parameters and headers. Names keep the
 * spelling they arrived with so a proxy forwards them unchanged; lookups ignore case, as RFC 3261 §7.3.1 and
 * §19.1.4 compare parameter names case-insensitively.
 *
 * Values are stored as they should be compared: header parameter values keep their quotes (use
 * {@link unquote} to read a quoted-string), URI parameter values are unescaped (RFC 3261 §19.1.2) and escaped again
 * by {@link Parameters.toString}.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-7.3.1
 */

import { SipParseError } from "../errors.js";
import {
  CH_COMMA,
  CH_EQ,
  CH_QUOTE,
  CH_SEMI,
  escapeUri,
  scanGenValue,
  scanQuoted,
  scanToken,
  skipWs,
  unescapeUri,
} from "./grammar.js";

/**
 * ```ts
 * const p = new Parameters([["branch", "z9hG4bK1"], ["rport", null]]);
 * p.get("BRANCH");   // "z9hG4bK1"
 * p.get("rport");    // null (present, no value)
 * p.get("received"); // undefined (absent)
 * p.toString();      // ";branch=z9hG4bK1;rport"
 * ```
 */
export class Parameters {
  readonly #names: string[] = [];
  readonly #keys: string[] = [];
  readonly #values: (string | null)[] = [];

  /** Builds a list from `[name, value]` pairs; `null` means a parameter without value (`;lr`). */
  constructor(init?: Iterable<readonly [string, string | null]>) {
    if (init) {
      for (const [name, value] of init) {
        this.append(name, value);
      }
    }
  }

  /** Index of the first parameter named `name` (case-insensitive), or -1. */
  #indexOf(name: string): number {
    const key = name.toLowerCase();
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === key) {
        return i;
      }
    }
    return -1;
  }

  /** Number of parameters. */
  get size(): number {
    return this.#names.length;
  }

  /** The value, `null` for a parameter present without value, `undefined` when absent. */
  get(name: string): string | null | undefined {
    const i = this.#indexOf(name);
    return i < 0 ? undefined : this.#values[i];
  }

  /** True when the parameter is present (with or without value). */
  has(name: string): boolean {
    return this.#indexOf(name) >= 0;
  }

  /** Replaces the first parameter of that name, or appends it. */
  set(name: string, value: string | null = null): this {
    const i = this.#indexOf(name);
    if (i < 0) {
      return this.append(name, value);
    }
    this.#values[i] = value;
    return this;
  }

  /** Appends a parameter even if one of the same name exists. */
  append(name: string, value: string | null = null): this {
    this.#names.push(name);
    this.#keys.push(name.toLowerCase());
    this.#values.push(value);
    return this;
  }

  /** Removes every parameter of that name; returns true if one was removed. */
  delete(name: string): boolean {
    let removed = false;
    for (let i = this.#indexOf(name); i >= 0; i = this.#indexOf(name)) {
      this.#names.splice(i, 1);
      this.#keys.splice(i, 1);
      this.#values.splice(i, 1);
      removed = true;
    }
    return removed;
  }

  /** `[name, value]` pairs in order. */
  *entries(): IterableIterator<[string, string | null]> {
    for (let i = 0; i < this.#names.length; i++) {
      yield [this.#names[i] ?? "", this.#values[i] ?? null];
    }
  }

  /** A deep copy. */
  clone(): Parameters {
    return new Parameters(this.entries());
  }

  /**
   * Renders `;name=value;flag`. With `escapeTable`, names and values are %-escaped for a URI (RFC 3261 §19.1.2);
   * `separator` and `lead` switch to URI header syntax (`?h=v&h2=v2`).
   */
  toString(escapeTable?: Uint8Array, lead = ";", separator = ";"): string {
    let out = "";
    for (let i = 0; i < this.#names.length; i++) {
      const name = this.#names[i] ?? "";
      const value = this.#values[i] ?? null;
      out += i === 0 ? lead : separator;
      out += escapeTable ? escapeUri(name, escapeTable) : name;
      if (value !== null) {
        out += `=${escapeTable ? escapeUri(value, escapeTable) : value}`;
      }
    }
    return out;
  }
}

/**
 * Parses header parameters at `pos`: `*( SEMI generic-param )` with LWS allowed around `;` and `=`
 * (SEMI = SWS ";" SWS, EQUAL = SWS "=" SWS, RFC 3261 §25.1). Stops at the end, or at a `,` when `list` is set.
 * Quoted values keep their quotes.
 * @returns the index where parsing stopped.
 * @throws {SipParseError} on an empty parameter such as `;;` (RFC 4475 §3.1.2.1, badinv01) or a stray character.
 */
export function parseHeaderParams(s: string, pos: number, into: Parameters, what: string, list: boolean): number {
  const n = s.length;
  for (;;) {
    pos = skipWs(s, pos);
    if (pos >= n) {
      return pos;
    }
    const c = s.charCodeAt(pos);
    if (c === CH_COMMA && list) {
      return pos;
    }
    if (c !== CH_SEMI) {
      throw new SipParseError(`Invalid ${what}: unexpected "${s[pos] ?? ""}"`);
    }
    pos = skipWs(s, pos + 1);
    const nameEnd = scanToken(s, pos);
    if (nameEnd === pos) {
      throw new SipParseError(`Empty parameter in ${what}`);
    }
    const name = s.slice(pos, nameEnd);
    pos = skipWs(s, nameEnd);
    let value: string | null = null;
    if (pos < n && s.charCodeAt(pos) === CH_EQ) {
      pos = skipWs(s, pos + 1);
      if (pos < n && s.charCodeAt(pos) === CH_QUOTE) {
        const end = scanQuoted(s, pos, what);
        value = s.slice(pos, end);
        pos = end;
      } else {
        const end = scanGenValue(s, pos);
        if (end === pos) {
          throw new SipParseError(`Empty value of parameter ${name} in ${what}`);
        }
        value = s.slice(pos, end);
        pos = end;
      }
    }
    into.append(name, value);
  }
}

/**
 * Parses URI parameters or URI headers from `s` (no LWS allowed, %-escapes resolved once).
 * `s` holds `name[=value]` items separated by `separator` (`;` for uri-parameters, `&` for headers).
 * @throws {SipParseError} on an empty parameter name.
 */
export function parseUriParams(s: string, separator: string, into: Parameters, what: string): void {
  for (const item of s.split(separator)) {
    const eq = item.indexOf("=");
    const rawName = eq < 0 ? item : item.slice(0, eq);
    if (rawName.length === 0) {
      throw new SipParseError(`Empty parameter in ${what}`);
    }
    const name = unescapeUri(rawName, what);
    into.append(name, eq < 0 ? null : unescapeUri(item.slice(eq + 1), what));
  }
}
