/**
 * SIP requests and responses (RFC 3261 §7).
 *
 * A message keeps its header fields as received (name spelling, order, one entry per line) and parses structured
 * headers on first access, caching the result (libraries.md §10: split once, parse lazily). Parsed structured values
 * are live objects: mutating `msg.topVia.received = …` or `msg.to.tag = …` is reflected when the message is
 * serialised, because cached structured headers are rendered from their objects. Every header mutator first folds
 * such live objects back into text, so nothing is lost.
 *
 * Serialisation always writes Content-Length from the body (RFC 3261 §20.14, mandatory on streams, §18.3).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-7
 */

import { SipParseError } from "../errors.js";
import { AuthHeader, parseAuthHeader } from "./AuthHeader.js";
import { CSeq, parseCSeq } from "./CSeq.js";
import { CH_COMMA, CH_GT, CH_LT, CH_QUOTE, scanQuoted, trimLws } from "./grammar.js";
import { canonicalHeaderName, headerKey, LIST_HEADERS } from "./headerNames.js";
import { assertHeaderLine, breaksLine, SipHeaderTextError } from "./headerText.js";
import { MediaType, parseMediaType, parseMediaTypeAt } from "./MediaType.js";
import { NameAddr, parseDeltaSeconds, parseNameAddr, parseNameAddrList } from "./NameAddr.js";
import type { TrunkDefinition } from "../trunk/Trunk.js";
import type { Uri } from "./uri.js";
import { parseViaList, Via } from "./Via.js";

/** Something with a textual header form (a string or one of the header classes). */
export type HeaderValue = string | { toString(): string };

/** Header fields to construct a message with, in order. */
export type HeaderInit = Iterable<readonly [string, HeaderValue]>;

interface CacheEntry {
  readonly value: unknown;
  /** Renders the live value back to one string per header line; absent for immutable values. */
  readonly render: (() => string[]) | undefined;
}

const EMPTY_BODY = new Uint8Array(0);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Assigned in SipMessage's static block: lets the parser install header arrays without copying.
let installHeaders: (message: SipMessage, names: string[], keys: string[], values: string[]) => void;

/**
 * Splits a list header value on the commas that separate elements, ignoring commas inside quoted strings and `<…>`
 * (RFC 3261 §7.3.1).
 */
export function splitHeaderList(value: string): string[] {
  if (!value.includes(",")) {
    const t = trimLws(value);
    return t.length > 0 ? [t] : [];
  }
  const out: string[] = [];
  let start = 0;
  let angle = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === CH_QUOTE) {
      i = scanQuoted(value, i, "header list") - 1;
    } else if (c === CH_LT) {
      angle = true;
    } else if (c === CH_GT) {
      angle = false;
    } else if (c === CH_COMMA && !angle) {
      out.push(trimLws(value.slice(start, i)));
      start = i + 1;
    }
  }
  out.push(trimLws(value.slice(start)));
  return out.filter((v) => v.length > 0);
}

/**
 * Base class of {@link SipRequest} and {@link SipResponse}.
 *
 * ```ts
 * const req = parseMessage(datagram) as SipRequest;   // core headers already validated
 * req.topVia.branch;                                   // "z9hG4bK…"
 * req.to.tag = "a1b2";                                 // live: serialised below
 * req.getHeaderValues("Supported");                    // ["100rel", "timer"]
 * socket.send(req.toBuffer());
 * ```
 * Header names are matched case-insensitively and compact forms are equivalent (`i` = `Call-ID`, RFC 3261 §7.3.3).
 */
export abstract class SipMessage {
  #names: string[] = [];
  #keys: string[] = [];
  #values: string[] = [];
  readonly #cache = new Map<string, CacheEntry>();
  /** The body octets (never line-converted; RFC 4475 §3.1.1.11 carries binary parts). */
  body: Uint8Array;

  // A static block can reach the #private fields; it hands the parser a way to install the split header arrays
  // without exposing a public mutator or copying them.
  static {
    installHeaders = (message, names, keys, values): void => {
      message.#names = names;
      message.#keys = keys;
      message.#values = values;
      message.#cache.clear();
    };
  }

  /**
   * @param headers header lines in order; values may be strings or header objects (Via, NameAddr, CSeq…), which are
   *   rendered with `toString()`.
   * @param body octets, or text encoded as UTF-8.
   */
  protected constructor(headers?: HeaderInit, body?: Uint8Array | string) {
    this.body = typeof body === "string" ? encoder.encode(body) : (body ?? EMPTY_BODY);
    if (headers) {
      for (const [name, value] of headers) {
        this.addHeader(name, value);
      }
    }
  }

  /** The start line without CRLF. */
  abstract get startLine(): string;

  // ---------------------------------------------------------------------------------------------------------------
  // Raw header access

  /** Number of header lines. */
  get headerCount(): number {
    return this.#names.length;
  }

  /** Positions of every line of `key` (linear scan: a message has a few dozen lines at most). */
  #indices(key: string): number[] {
    const out: number[] = [];
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === key) {
        out.push(i);
      }
    }
    return out;
  }

  /** Position of the first line of `key`, or -1. */
  #first(key: string): number {
    return this.#keys.indexOf(key);
  }

  /** Raw values of every line of `key`, rendered from a live parsed value when there is one. */
  #lineValues(key: string): string[] {
    const cached = this.#cache.get(key);
    if (cached?.render) {
      return cached.render();
    }
    const out: string[] = [];
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === key) {
        out.push(this.#values[i] ?? "");
      }
    }
    return out;
  }

  /**
   * Writes a live parsed value back into the header lines and forgets it (before any mutation of `key`), so an edit
   * made through the object (`msg.topVia.received = …`) is not lost when lines are then added or removed.
   */
  #flush(key: string): void {
    const cached = this.#cache.get(key);
    if (!cached) {
      return;
    }
    this.#cache.delete(key);
    if (cached.render) {
      this.#replace(key, cached.render(), undefined);
    }
  }

  /**
   * Replaces all lines of `key` by `values` at the position of the first one (or at the end). Keeping the position
   * matters for proxies: RFC 3261 §7.3.1 lets header order vary except among lines of the same name, but peers and
   * humans reading traces expect Via first and Content-Length last.
   */
  #replace(key: string, values: string[], name: string | undefined): void {
    const indices = this.#indices(key);
    const first = indices[0];
    const lineName = name ?? (first === undefined ? key : (this.#names[first] ?? key));
    for (let j = indices.length - 1; j >= 0; j--) {
      const i = indices[j] ?? 0;
      this.#names.splice(i, 1);
      this.#keys.splice(i, 1);
      this.#values.splice(i, 1);
    }
    const at = first ?? this.#names.length;
    this.#names.splice(at, 0, ...values.map(() => lineName));
    this.#keys.splice(at, 0, ...values.map(() => key));
    this.#values.splice(at, 0, ...values);
  }

  /** True when at least one line of that header exists (compact and long names are equivalent). */
  hasHeader(name: string): boolean {
    return this.#first(headerKey(name)) >= 0;
  }

  /** The first line's value of a header, or `undefined`. */
  getHeader(name: string): string | undefined {
    const key = headerKey(name);
    if (this.#cache.get(key)?.render) {
      return this.#lineValues(key)[0];
    }
    const i = this.#first(key);
    return i < 0 ? undefined : this.#values[i];
  }

  /** Every line's value of a header, in order. */
  getHeaders(name: string): string[] {
    return this.#lineValues(headerKey(name));
  }

  /**
   * The elements of a header: for list headers (Via, Contact, Allow, Supported…) the comma-separated values of all
   * lines, otherwise one element per line.
   */
  getHeaderValues(name: string): string[] {
    const key = headerKey(name);
    const lines = this.#lineValues(key);
    return LIST_HEADERS.has(key) ? lines.flatMap(splitHeaderList) : lines;
  }

  /**
   * All header lines as `[name, value]`, live parsed values rendered. A live list header is emitted at the position
   * of its first line, one value per line (equivalent to comma-joining, RFC 3261 §7.3.1).
   */
  *headers(): IterableIterator<[string, string]> {
    const emitted = new Set<string>();
    for (let i = 0; i < this.#names.length; i++) {
      const key = this.#keys[i] ?? "";
      const name = this.#names[i] ?? "";
      const cached = this.#cache.get(key);
      if (cached?.render) {
        if (!emitted.has(key)) {
          emitted.add(key);
          for (const v of cached.render()) {
            yield [name, v];
          }
        }
      } else {
        yield [name, this.#values[i] ?? ""];
      }
    }
    // Live values of headers that had no line yet (e.g. a Route pushed onto an empty `routes` list).
    for (const [key, cached] of this.#cache) {
      if (cached.render && !emitted.has(key) && this.#first(key) < 0) {
        for (const v of cached.render()) {
          yield [canonicalHeaderName(key), v];
        }
      }
    }
  }

  /**
   * Replaces every line of a header by the given value(s); an array writes one line per element.
   * An empty array removes the header.
   */
  setHeader(name: string, value: HeaderValue | readonly HeaderValue[]): this {
    const key = headerKey(name);
    this.#cache.delete(key);
    const values = Array.isArray(value) ? value.map(String) : [String(value)];
    this.#replace(key, values, name);
    return this;
  }

  /**
   * Adds a header line. `position: "top"` inserts it before the first line of the same header, as a proxy does with
   * Via and Record-Route (RFC 3261 §16.6 steps 4 and 8).
   */
  addHeader(name: string, value: HeaderValue, position: "top" | "bottom" = "bottom"): this {
    const key = headerKey(name);
    this.#flush(key);
    const first = this.#first(key);
    const at = position === "top" && first >= 0 ? first : this.#names.length;
    this.#names.splice(at, 0, name);
    this.#keys.splice(at, 0, key);
    this.#values.splice(at, 0, String(value));
    return this;
  }

  /** Removes every line of a header; returns true if there was one. */
  removeHeader(name: string): boolean {
    const key = headerKey(name);
    this.#cache.delete(key);
    const had = this.#first(key) >= 0;
    this.#replace(key, [], undefined);
    return had;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Structured access (parsed on first use, cached)

  /**
   * The parse-once cache behind every structured accessor. A parse failure is not cached, so a later access throws
   * again with the same error. `render` makes the cached value live: it is serialised instead of the raw lines.
   */
  #parsed<T>(key: string, parse: (lines: string[]) => T, render?: (value: T) => string[]): T {
    const cached = this.#cache.get(key);
    if (cached) {
      return cached.value as T;
    }
    const value = parse(this.#lineValues(key));
    this.#cache.set(key, { value, render: render ? (): string[] => render(value) : undefined });
    return value;
  }

  /**
   * The single value of a header that must appear once; `required` decides between "Missing X" and `undefined`.
   * These reasons become the stateless reason phrase, e.g. `400 Bad Request (Missing Call-ID)`.
   */
  #single(key: string, what: string, required: true): string;
  #single(key: string, what: string, required: false): string | undefined;
  #single(key: string, what: string, required: boolean): string | undefined {
    const lines = this.#lineValues(key);
    if (lines.length === 0) {
      if (required) {
        throw new SipParseError(`Missing ${what}`);
      }
      return undefined;
    }
    if (lines.length > 1) {
      // RFC 3261 §7.3.1: only list headers may appear several times (RFC 4475 §3.3.8, multi01).
      throw new SipParseError(`Multiple ${what} header fields`);
    }
    return trimLws(lines[0] ?? "");
  }

  /**
   * Via values, top first (RFC 3261 §20.42), from every Via line and every comma-separated value. Live: edits are
   * serialised, e.g. the `received`/`rport` a server adds (§18.2.1).
   * @throws {SipParseError} when a Via value is malformed.
   */
  get via(): Via[] {
    return this.#parsed(
      "via",
      (lines) => {
        const out: Via[] = [];
        for (const line of lines) {
          parseViaList(line, out);
        }
        return out;
      },
      (list) => list.map(String),
    );
  }

  /**
   * The top Via (RFC 3261 §8.1.1.7, §18.2.1).
   * @throws {SipParseError} "Missing Via".
   */
  get topVia(): Via {
    const top = this.via[0];
    if (!top) {
      throw new SipParseError("Missing Via");
    }
    return top;
  }

  /**
   * The From header (RFC 3261 §20.20): the initiator of the request, with its tag (§8.1.1.3: "The From field MUST
   * contain a new 'tag' parameter"). Live.
   * @throws {SipParseError} when missing, repeated or malformed.
   */
  get from(): NameAddr {
    return this.#parsed(
      "from",
      () => parseNameAddr(this.#single("from", "From", true), "From"),
      (v) => [v.toString()],
    );
  }

  /**
   * The To header (RFC 3261 §20.39): the logical recipient; its tag is added by the UAS (§8.2.6.2). Live.
   * @throws {SipParseError} when missing, repeated or malformed.
   */
  get to(): NameAddr {
    return this.#parsed(
      "to",
      () => parseNameAddr(this.#single("to", "To", true), "To"),
      (v) => [v.toString()],
    );
  }

  /**
   * Call-ID (RFC 3261 §20.8): `word [ "@" word ]`, compared byte by byte. Only emptiness, whitespace and NUL (echoed
   * in every response, where the serializer refuses it) are rejected;
   * RFC 4475 §3.1.1.2 shows how wide the legal character set is.
   * @throws {SipParseError} when missing, repeated or empty.
   */
  get callId(): string {
    return this.#parsed("call-id", () => {
      const v = this.#single("call-id", "Call-ID", true);
      if (v.length === 0 || /[\s\0]/.test(v)) {
        throw new SipParseError("Invalid Call-ID");
      }
      return v;
    });
  }

  /**
   * CSeq (RFC 3261 §20.16): sequence number and method; orders requests within a dialog. Live.
   * @throws {SipParseError} when missing, repeated or malformed.
   */
  get cseq(): CSeq {
    return this.#parsed(
      "cseq",
      () => parseCSeq(this.#single("cseq", "CSeq", true)),
      (v) => [v.toString()],
    );
  }

  /**
   * Max-Forwards (RFC 3261 §20.22), `undefined` when absent (RFC 2543 peers omit it, RFC 4475 §3.4.1).
   * @throws {SipParseError} when not a number in 0–255.
   */
  get maxForwards(): number | undefined {
    return this.#parsed("max-forwards", () => {
      const v = this.#single("max-forwards", "Max-Forwards", false);
      if (v === undefined) {
        return undefined;
      }
      if (!/^\d{1,10}$/.test(v) || Number(v) > 255) {
        throw new SipParseError("Invalid Max-Forwards");
      }
      return Number(v);
    });
  }

  set maxForwards(value: number | undefined) {
    if (value === undefined) {
      this.removeHeader("Max-Forwards");
    } else {
      this.setHeader("Max-Forwards", String(value));
    }
  }

  /**
   * True for `Contact: *` (RFC 3261 §10.2.2: removes all bindings; only valid in REGISTER with `Expires: 0`, which the
   * registrar logic checks).
   */
  get contactWildcard(): boolean {
    const lines = this.#lineValues("contact");
    return lines.length === 1 && lines[0]?.trim() === "*";
  }

  /**
   * Contact values (none for `Contact: *`): the remote target of a dialog (§12.1.1) or the bindings of a REGISTER
   * (§10.2.1). Live.
   * @throws {SipParseError} when a value is malformed (RFC 4475 §3.1.2.13).
   */
  get contacts(): NameAddr[] {
    return this.#nameAddrList("contact", "Contact");
  }

  /** Route values, in order: the route set a request follows (RFC 3261 §12.2.1.1, §16.12). Live. */
  get routes(): NameAddr[] {
    return this.#nameAddrList("route", "Route");
  }

  /**
   * Record-Route values, in order: proxies that want to stay on the path; the UAS copies them into dialog-creating
   * responses and builds its route set from them (RFC 3261 §12.1.1). Live.
   */
  get recordRoutes(): NameAddr[] {
    return this.#nameAddrList("record-route", "Record-Route");
  }

  /** Any name-addr list header (P-Asserted-Identity, Path, Diversion, History-Info…). Live. */
  nameAddrs(name: string): NameAddr[] {
    const key = headerKey(name);
    return this.#nameAddrList(key, name);
  }

  #nameAddrList(key: string, what: string): NameAddr[] {
    return this.#parsed(
      key,
      (lines) => {
        const out: NameAddr[] = [];
        if (key === "contact" && lines.length === 1 && lines[0]?.trim() === "*") {
          return out;
        }
        for (const line of lines) {
          parseNameAddrList(line, what, out);
        }
        return out;
      },
      (list) => (list.length === 0 && key === "contact" ? this.#rawLines(key) : list.map(String)),
    );
  }

  #rawLines(key: string): string[] {
    return this.#indices(key).map((i) => this.#values[i] ?? "");
  }

  /**
   * Content-Type (RFC 3261 §20.15), `undefined` when absent. "The Content-Type header field MUST be present if the
   * body is not empty" (§20.15); enforcing that is left to the layer that reads the body.
   */
  get contentType(): MediaType | undefined {
    return this.#parsed(
      "content-type",
      () => {
        const v = this.#single("content-type", "Content-Type", false);
        return v === undefined ? undefined : parseMediaType(v);
      },
      (v) => (v ? [v.toString()] : []),
    );
  }

  /**
   * Accept media ranges (RFC 3261 §20.1). An absent Accept means application/sdp for INVITE-related requests; an
   * Accept without SDP is the RFC 4475 §3.3.15 case (406).
   */
  get accept(): MediaType[] {
    return this.#parsed("accept", (lines) => {
      const out: MediaType[] = [];
      for (const line of lines) {
        let pos = 0;
        while (pos < line.length) {
          const [type, end] = parseMediaTypeAt(line, pos, "Accept", true);
          out.push(type);
          pos = end + 1;
        }
      }
      return out;
    });
  }

  /** Body length in octets; what serialisation writes as Content-Length. */
  get contentLength(): number {
    return this.body.length;
  }

  /**
   * Expires in seconds (RFC 3261 §20.19); malformed or overlarge values read as 3600 (RFC 4475 §3.1.2.4).
   */
  get expires(): number | undefined {
    return this.#parsed("expires", () => {
      const v = this.#single("expires", "Expires", false);
      return v === undefined ? undefined : parseDeltaSeconds(v, 3600);
    });
  }

  /**
   * Date (RFC 3261 §20.17: rfc1123-date, which MUST use "GMT").
   * @throws {SipParseError} for another zone or a malformed date (RFC 4475 §3.1.2.12, baddate).
   */
  get date(): Date | undefined {
    return this.#parsed("date", () => {
      const v = this.#single("date", "Date", false);
      if (v === undefined) {
        return undefined;
      }
      const m = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/.exec(v);
      const d = new Date(v);
      if (!m || Number.isNaN(d.getTime())) {
        throw new SipParseError("Invalid Date: rfc1123-date in GMT required");
      }
      return d;
    });
  }

  /**
   * Option tags or tokens of a list header such as Require, Supported, Allow, Proxy-Require, Unsupported
   * (RFC 3261 §20.32, §20.37, §20.5). The UA core compares Require against its supported set and answers 420 with
   * Unsupported (RFC 4475 §3.3.5).
   */
  tokens(name: string): string[] {
    return this.getHeaderValues(name);
  }

  /**
   * WWW-Authenticate, Proxy-Authenticate, Authorization or Proxy-Authorization values, one per line (their values
   * contain commas, so they are never split as lists; RFC 3261 §7.3.1 names them as the exception). Live.
   * @throws {SipParseError} when a value is malformed.
   */
  authHeaders(name: string): AuthHeader[] {
    const key = headerKey(name);
    return this.#parsed(
      key,
      (lines) => lines.map((l) => parseAuthHeader(l, name)),
      (list) => list.map(String),
    );
  }

  /** Body decoded as UTF-8 (lossy for binary bodies). */
  get bodyText(): string {
    return decoder.decode(this.body);
  }

  set bodyText(text: string) {
    this.body = encoder.encode(text);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Serialisation

  /**
   * The start line and header section, each line ending in CRLF, followed by the blank line (RFC 3261 §7).
   * Content-Length is written at the position of the original line (or last) with the body's real length, so a
   * forwarded or edited message can never announce a wrong size.
   *
   * Last line of defence against header injection (headerText.ts): a start line or header value with CR, LF or NUL,
   * or a header name that is not a token, is never written.
   * @throws {SipHeaderTextError} for such a line; nothing is rendered.
   */
  headerSection(): string {
    const startLine = this.startLine;
    if (breaksLine(startLine)) {
      throw new SipHeaderTextError("start-line", "refusing to send a start line that holds CR, LF or NUL");
    }
    let out = `${startLine}\r\n`;
    let wroteLength = false;
    for (const [name, value] of this.headers()) {
      assertHeaderLine(name, value);
      if (headerKey(name) === "content-length") {
        if (!wroteLength) {
          out += `${name}: ${this.body.length}\r\n`;
          wroteLength = true;
        }
        continue;
      }
      out += `${name}: ${value}\r\n`;
    }
    if (!wroteLength) {
      out += `Content-Length: ${this.body.length}\r\n`;
    }
    return `${out}\r\n`;
  }

  /** The wire form. */
  toBuffer(): Buffer {
    const head = Buffer.from(this.headerSection(), "utf8");
    return this.body.length === 0 ? head : Buffer.concat([head, this.body]);
  }

  /** The wire form as text (a binary body is decoded lossily; use {@link toBuffer} to send). */
  toString(): string {
    return this.headerSection() + this.bodyText;
  }
}

/**
 * A SIP request (RFC 3261 §7.1): `Method SP Request-URI SP SIP-Version CRLF`, headers, body.
 * Method names are case-sensitive; unknown methods are legal (RFC 4475 §3.1.1.2) and answered 501 by a UAS.
 */
export class SipRequest extends SipMessage {
  /** Method, case-sensitive (RFC 3261 §7.1). */
  method: string;
  /** Request-URI. */
  uri: Uri;
  /**
   * The trunk the server's admission (sip/admission) recognised the sender as, by source address or by digest
   * credentials, before the stack saw the request; undefined otherwise. It travels with the request to the user
   * agent's incoming call.
   */
  trunk: TrunkDefinition | undefined = undefined;

  constructor(method: string, uri: Uri, headers?: HeaderInit, body?: Uint8Array | string) {
    super(headers, body);
    this.method = method;
    this.uri = uri;
  }

  get startLine(): string {
    return `${this.method} ${this.uri.toString()} SIP/2.0`;
  }
}

/**
 * A SIP response (RFC 3261 §7.2): `SIP-Version SP Status-Code SP Reason-Phrase CRLF`, headers, body. The reason
 * phrase is informational only; behaviour follows the code (§21).
 */
export class SipResponse extends SipMessage {
  /** Status code, 100–699. */
  status: number;
  /** Reason phrase (may be empty, RFC 4475 §3.1.1.13). */
  reason: string;

  constructor(status: number, reason: string, headers?: HeaderInit, body?: Uint8Array | string) {
    super(headers, body);
    this.status = status;
    this.reason = reason;
  }

  get startLine(): string {
    return `SIP/2.0 ${this.status} ${this.reason}`;
  }
}

/** @internal Used by the parser to install split header arrays without copying. */
export function setParsedHeaders(message: SipMessage, names: string[], keys: string[], values: string[]): void {
  installHeaders(message, names, keys, values);
}
