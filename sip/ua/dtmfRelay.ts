/**
 * DTMF carried in SIP INFO requests, the way carrier SBCs and PBXs send it (RFC 6086 "legacy" INFO usage, without an
 * Info-Package header):
 *
 * - `application/dtmf-relay` (Cisco/Nortel style): `Signal=5\r\nDuration=160\r\n` (Duration in ms). Some devices send
 *   `Signal=10` and `Signal=11` for `*` and `#` (the RFC 4733 event numbers), which are accepted too;
 * - `application/dtmf`: the body is the digit itself (`5`), or its RFC 4733 event number.
 *
 * {@link parseDtmfInfo} returns undefined for any other body type and throws {@link DtmfInfoError} for a body of
 * one of these types that carries no valid digit, so the caller can log the fault.
 */
import type { SipRequest } from "../message/SipMessage.js";

/** A DTMF INFO body of a known type without a valid digit. */
export class DtmfInfoError extends Error {
  override readonly name = "DtmfInfoError";
}

export interface DtmfInfoDigit {
  /** One of 0-9 * # A-D. */
  readonly digit: string;
  /** The announced duration in ms, or undefined when the body had none. */
  readonly durationMs: number | undefined;
}

export const DTMF_RELAY_TYPE = "application/dtmf-relay";
export const DTMF_TYPE = "application/dtmf";

const EVENT_DIGITS = "0123456789*#ABCD";

function digitOf(signal: string): string | undefined {
  const s = signal.trim().toUpperCase();
  if (/^[0-9*#A-D]$/.test(s)) {
    return s;
  }
  // RFC 4733 event numbers 10-15 (* # A B C D) written as numbers.
  return /^1[0-5]$/.test(s) ? EVENT_DIGITS[Number(s)] : undefined;
}

/**
 * The digit of a DTMF INFO request, undefined when its body is not a DTMF type.
 * @throws {DtmfInfoError} for a DTMF body without a valid digit.
 */
export function parseDtmfInfo(request: SipRequest): DtmfInfoDigit | undefined {
  let type;
  try {
    type = request.contentType;
  } catch (err) {
    throw new DtmfInfoError(`unparsable Content-Type: ${String(err)}`);
  }
  const mime = type === undefined ? "" : `${type.type}/${type.subtype}`.toLowerCase();
  if (mime !== DTMF_RELAY_TYPE && mime !== DTMF_TYPE) {
    return undefined;
  }
  const body = request.bodyText;
  if (mime === DTMF_TYPE) {
    const digit = digitOf(body);
    if (digit === undefined) {
      throw new DtmfInfoError(`application/dtmf body is not a DTMF digit: ${JSON.stringify(body.slice(0, 40))}`);
    }
    return { digit, durationMs: undefined };
  }
  let digit: string | undefined;
  let durationMs: number | undefined;
  for (const line of body.split(/\r?\n/)) {
    const eq = line.indexOf("=");
    if (eq < 0) {
      continue;
    }
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    if (key === "signal") {
      digit = digitOf(value);
    } else if (key === "duration" && /^\d{1,6}$/.test(value)) {
      durationMs = Number(value);
    }
  }
  if (digit === undefined) {
    throw new DtmfInfoError(`application/dtmf-relay body has no valid Signal: ${JSON.stringify(body.slice(0, 80))}`);
  }
  return { digit, durationMs };
}

/** The `application/dtmf-relay` body for one digit. */
export function formatDtmfRelay(digit: string, durationMs: number): string {
  const d = digitOf(digit);
  if (d === undefined || digit.trim().length !== 1) {
    throw new DtmfInfoError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  }
  return `Signal=${d}\r\nDuration=${Math.max(0, Math.round(durationMs))}\r\n`;
}
