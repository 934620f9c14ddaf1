/**
 * The Via header (RFC 3261 §20.42, §18.2.1; RFC 3581 rport).
 *
 * ```
 * via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
 * sent-protocol = protocol-name SLASH protocol-version SLASH transport
 * sent-by       = host [ COLON port ]
 * ```
 * SLASH and COLON allow LWS around them (RFC 4475 §3.1.1.1 folds a Via across three lines).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-20.42
 */

import { SipParseError } from "../errors.js";
import { CH_COLON, CH_COMMA, CH_SLASH, isHostChar, scanToken, skipWs } from "./grammar.js";
import { Parameters, parseHeaderParams } from "./Parameters.js";

/** The RFC 3261 branch magic cookie (§8.1.1.7). */
export const BRANCH_MAGIC_COOKIE = "z9hG4bK";

export class Via {
  /** protocol-name/protocol-version, normally `"SIP/2.0"`. */
  protocol: string;
  /** Transport in upper case: UDP, TCP, TLS, SCTP, WS, WSS or an unknown token (RFC 4475 §3.1.1.10). */
  transport: string;
  /** sent-by host; IPv6 references keep their brackets. */
  host: string;
  /** sent-by port, when present. */
  port: number | undefined;
  /** via-params: branch, received, rport, maddr, ttl and extensions. */
  readonly params: Parameters;

  constructor(init: {
    transport: string;
    host: string;
    port?: number | undefined;
    protocol?: string;
    params?: Parameters;
    branch?: string;
  }) {
    this.protocol = init.protocol ?? "SIP/2.0";
    this.transport = init.transport.toUpperCase();
    this.host = init.host;
    this.port = init.port;
    this.params = init.params ?? new Parameters();
    if (init.branch !== undefined) {
      this.params.set("branch", init.branch);
    }
  }

  /** The branch parameter (transaction id, RFC 3261 §17.2.3). */
  get branch(): string | undefined {
    return this.params.get("branch") ?? undefined;
  }

  set branch(value: string | undefined) {
    setOrDelete(this.params, "branch", value);
  }

  /** The received parameter (RFC 3261 §18.2.1). */
  get received(): string | undefined {
    return this.params.get("received") ?? undefined;
  }

  set received(value: string | undefined) {
    setOrDelete(this.params, "received", value);
  }

  /**
   * rport (RFC 3581 §4): `undefined` when absent, `null` when present without value (the client asks for it), the
   * port number once a server filled it in.
   */
  get rport(): number | null | undefined {
    const raw = this.params.get("rport");
    if (raw === undefined || raw === null) {
      return raw;
    }
    const v = Number(raw);
    return Number.isInteger(v) && v >= 0 && v <= 65535 ? v : null;
  }

  set rport(value: number | null | undefined) {
    if (value === undefined) {
      this.params.delete("rport");
    } else {
      this.params.set("rport", value === null ? null : String(value));
    }
  }

  /** The maddr parameter. */
  get maddr(): string | undefined {
    return this.params.get("maddr") ?? undefined;
  }

  /** `host[:port]` as written in sent-by. */
  get sentBy(): string {
    return this.port === undefined ? this.host : `${this.host}:${this.port}`;
  }

  /** True when the branch starts with the magic cookie and has something after it (RFC 3261 §17.2.3). */
  get isRfc3261Branch(): boolean {
    const b = this.branch;
    return b !== undefined && b.length > BRANCH_MAGIC_COOKIE.length && b.startsWith(BRANCH_MAGIC_COOKIE);
  }

  /** A deep copy, e.g. for the single Via of an ACK or CANCEL (RFC 3261 §9.1, §17.1.1.3). */
  clone(): Via {
    return new Via({
      protocol: this.protocol,
      transport: this.transport,
      host: this.host,
      port: this.port,
      params: this.params.clone(),
    });
  }

  /** `SIP/2.0/UDP host:port;params`, the canonical spacing (one SP before sent-by, no LWS elsewhere). */
  toString(): string {
    return `${this.protocol}/${this.transport} ${this.sentBy}${this.params.toString()}`;
  }
}

/** Sets a parameter, or removes it when `value` is undefined (the accessor setters above share this). */
function setOrDelete(params: Parameters, name: string, value: string | undefined): void {
  if (value === undefined) {
    params.delete(name);
  } else {
    params.set(name, value);
  }
}

/** SLASH = SWS "/" SWS (RFC 3261 §25.1): skips LWS around a required "/" and returns the index after it. */
function expectSlash(s: string, pos: number): number {
  pos = skipWs(s, pos);
  if (s.charCodeAt(pos) !== CH_SLASH) {
    throw new SipParseError("Invalid Via: bad sent-protocol");
  }
  return skipWs(s, pos + 1);
}

/**
 * Parses a Via header value, which may hold several comma-separated via-parms, and appends them to `into`.
 * @throws {SipParseError} on a malformed sent-protocol or sent-by, an empty parameter or an empty element
 *   (RFC 4475 §3.1.2.1, badinv01).
 */
export function parseViaList(s: string, into: Via[]): void {
  const n = s.length;
  let pos = 0;
  for (;;) {
    // sent-protocol = protocol-name SLASH protocol-version SLASH transport; all three are tokens.
    pos = skipWs(s, pos);
    let end = scanToken(s, pos);
    if (end === pos) {
      throw new SipParseError("Invalid Via: missing sent-protocol");
    }
    const name = s.slice(pos, end);
    pos = expectSlash(s, end);
    end = scanToken(s, pos);
    const version = s.slice(pos, end);
    pos = expectSlash(s, end);
    end = scanToken(s, pos);
    if (end === pos || version.length === 0) {
      throw new SipParseError("Invalid Via: bad sent-protocol");
    }
    const transport = s.slice(pos, end);
    // LWS is mandatory between sent-protocol and sent-by.
    pos = skipWs(s, end);
    if (pos === end) {
      throw new SipParseError("Invalid Via: missing sent-by");
    }
    // sent-by = host [ COLON port ]; an IPv6 host is a bracketed reference as in URIs.
    const hostStart = pos;
    if (s.charCodeAt(pos) === 0x5b) {
      const close = s.indexOf("]", pos);
      if (close < 0) {
        throw new SipParseError("Invalid Via: unterminated IPv6 reference");
      }
      pos = close + 1;
    } else {
      while (pos < n && isHostChar(s.charCodeAt(pos))) {
        pos++;
      }
    }
    if (pos === hostStart) {
      throw new SipParseError("Invalid Via: missing sent-by");
    }
    const host = s.slice(hostStart, pos);
    let port: number | undefined;
    const afterHost = skipWs(s, pos);
    if (s.charCodeAt(afterHost) === CH_COLON) {
      pos = skipWs(s, afterHost + 1);
      const portStart = pos;
      let value = 0;
      while (pos < n) {
        const d = s.charCodeAt(pos) - 0x30;
        if (d < 0 || d > 9) {
          break;
        }
        value = value * 10 + d;
        pos++;
      }
      if (pos === portStart || pos - portStart > 5 || value > 65535) {
        throw new SipParseError("Invalid Via: bad port");
      }
      port = value;
    }
    // via-params: via-ttl / via-maddr / via-received / via-branch / response-port (RFC 3581) / via-extension,
    // all in the generic-param shape, so one parameter parser serves them.
    const params = new Parameters();
    pos = parseHeaderParams(s, pos, params, "Via", true);
    into.push(new Via({ protocol: `${name}/${version}`, transport, host, port, params }));
    if (pos >= n) {
      return;
    }
    // parseHeaderParams stopped at ",": another via-parm must follow.
    pos = skipWs(s, pos + 1);
    if (pos >= n || s.charCodeAt(pos) === CH_COMMA) {
      throw new SipParseError("Invalid Via: empty element");
    }
  }
}
