/**
 * Media types of Content-Type and Accept (RFC 3261 §20.15, RFC 2045 §5.1):
 * `m-type SLASH m-subtype *( SEMI m-parameter )`.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-20.15
 */

import { SipParseError } from "../errors.js";
import { CH_SLASH, scanToken, skipWs, unquote } from "./grammar.js";
import { Parameters, parseHeaderParams } from "./Parameters.js";

export class MediaType {
  /** Top-level type in lower case, e.g. `"application"`. */
  type: string;
  /** Subtype in lower case, e.g. `"sdp"`. */
  subtype: string;
  /** Parameters such as `boundary` or `charset`; quoted values keep their quotes. */
  readonly params: Parameters;

  constructor(type: string, subtype: string, params = new Parameters()) {
    this.type = type.toLowerCase();
    this.subtype = subtype.toLowerCase();
    this.params = params;
  }

  /** `type/subtype` without parameters. */
  get essence(): string {
    return `${this.type}/${this.subtype}`;
  }

  /** A parameter value with quotes removed. */
  param(name: string): string | undefined {
    const v = this.params.get(name);
    return v === undefined || v === null ? undefined : unquote(v);
  }

  toString(): string {
    return `${this.essence}${this.params.toString()}`;
  }
}

/**
 * Parses one media type starting at `pos`; with `list`, stops at a `,` (Accept).
 * @throws {SipParseError} on a missing type or subtype.
 */
export function parseMediaTypeAt(s: string, pos: number, what: string, list: boolean): [MediaType, number] {
  pos = skipWs(s, pos);
  const typeEnd = scanToken(s, pos);
  const slash = skipWs(s, typeEnd);
  if (typeEnd === pos || s.charCodeAt(slash) !== CH_SLASH) {
    throw new SipParseError(`Invalid ${what}`);
  }
  const subStart = skipWs(s, slash + 1);
  const subEnd = scanToken(s, subStart);
  if (subEnd === subStart) {
    throw new SipParseError(`Invalid ${what}`);
  }
  const params = new Parameters();
  const end = parseHeaderParams(s, subEnd, params, what, list);
  return [new MediaType(s.slice(pos, typeEnd), s.slice(subStart, subEnd), params), end];
}

/**
 * Parses a Content-Type value (`c` compact form). The essence is lower-cased; parameters keep their case since
 * `boundary` values are case-sensitive (RFC 2046 §5.1.1).
 * @throws {SipParseError} when malformed.
 */
export function parseMediaType(value: string, what = "Content-Type"): MediaType {
  const [type, end] = parseMediaTypeAt(value, 0, what, false);
  if (end !== value.length) {
    throw new SipParseError(`Invalid ${what}`);
  }
  return type;
}
