/**
 * The CSeq header (RFC 3261 §20.16, §8.1.1.5): `CSeq = 1*DIGIT LWS Method`.
 *
 * "The sequence number MUST be expressible as a 32-bit unsigned integer" (§8.1.1.5); RFC 4475 §3.1.2.4/§3.1.2.5
 * reject larger values. Leading zeros are legal (RFC 4475 §3.1.1.1, `0009`).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-20.16
 */

import { SipParseError } from "../errors.js";
import { isToken, isWs, trimLws } from "./grammar.js";

export class CSeq {
  /** Sequence number, 0 … 2**32-1. */
  seq: number;
  /** Method, case-sensitive (RFC 3261 §7.1). */
  method: string;

  constructor(seq: number, method: string) {
    this.seq = seq;
    this.method = method;
  }

  /** A copy; ACK and CANCEL reuse the number with another method (RFC 3261 §9.1, §17.1.1.3). */
  clone(): CSeq {
    return new CSeq(this.seq, this.method);
  }

  toString(): string {
    return `${this.seq} ${this.method}`;
  }
}

/**
 * Parses a CSeq value.
 * @throws {SipParseError} on a missing or overlarge number or a non-token method.
 */
export function parseCSeq(value: string): CSeq {
  let i = 0;
  let seq = 0;
  const n = value.length;
  while (i < n) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) {
      break;
    }
    seq = seq * 10 + d;
    i++;
    // 2**32-1 has ten digits; stop before the number loses precision (36893488147419103232, RFC 4475 §3.1.2.4).
    if (seq > 0xffffffff) {
      throw new SipParseError("Invalid CSeq: sequence number above 2**32-1");
    }
  }
  if (i === 0 || i >= n || !isWs(value.charCodeAt(i))) {
    throw new SipParseError("Invalid CSeq");
  }
  const method = trimLws(value.slice(i));
  if (!isToken(method)) {
    throw new SipParseError("Invalid CSeq: bad method");
  }
  return new CSeq(seq, method);
}
