/**
 * Pure functions deriving a CDR's outcome fields: the disposition, and the Q.850 cause when only the SIP status is
 * known (RFC 3398 §7.2.4.1 / §8.2.6.1, table in sip-ims.md §7.2). Raw values are always stored as received; these
 * only fill what is missing.
 */
import { mappedQ850 } from "../../sip/index.js";
import { Disposition, HangupSide } from "./CdrRecord.js";

export interface OutcomeFacts {
  /** The call reached a 2xx (or a WebRTC session connected). */
  answered: boolean;
  /** Final SIP status of the INVITE, null when there was none (e.g. a WebRTC session, or no response at all). */
  sipStatus: number | null;
  /** Q.850 cause when known. */
  q850Cause: number | null;
  hangupSide: HangupSide;
  /** Machine-readable end reason (`cancel`, `ring-timeout`, …). */
  endReason: string | null;
}

/** Q.850 causes meaning "busy" and "no answer" (sip-ims.md §7.2). */
const Q850_BUSY = new Set([17]);
const Q850_NO_ANSWER = new Set([18, 19]);
/** SIP finals meaning busy (486 Busy Here, 600 Busy Everywhere, 603 Decline: the callee refused). */
const SIP_BUSY = new Set([486, 600, 603]);
/** SIP finals meaning nobody answered (408 Request Timeout, 480 Temporarily Unavailable). */
const SIP_NO_ANSWER = new Set([408, 480]);

/**
 * The disposition of a finished leg:
 * 1. answered → ANSWERED;
 * 2. ended by a ring timeout (`endReason` `ring-timeout`, or a 487 that Korus itself caused on a timer, i.e.
 *    hang-up side `system`) → NO ANSWER;
 * 3. cancelled before an answer (487 Request Terminated, or end reason `cancel`) by a party → CANCELLED;
 * 4. busy (486, 600, 603, or Q.850 cause 17) → BUSY;
 * 5. no answer (408, 480, or Q.850 causes 18, 19) → NO ANSWER;
 * 6. anything else → FAILED.
 */
export function deriveDisposition(f: OutcomeFacts): Disposition {
  if (f.answered) {
    return Disposition.Answered;
  }
  const cancelled = f.sipStatus === 487 || f.endReason === "cancel";
  if (f.endReason === "ring-timeout" || (cancelled && f.hangupSide === HangupSide.System)) {
    return Disposition.NoAnswer;
  }
  if (cancelled) {
    return Disposition.Cancelled;
  }
  if ((f.sipStatus !== null && SIP_BUSY.has(f.sipStatus)) || (f.q850Cause !== null && Q850_BUSY.has(f.q850Cause))) {
    return Disposition.Busy;
  }
  if (
    (f.sipStatus !== null && SIP_NO_ANSWER.has(f.sipStatus)) ||
    (f.q850Cause !== null && Q850_NO_ANSWER.has(f.q850Cause))
  ) {
    return Disposition.NoAnswer;
  }
  return Disposition.Failed;
}

/** The Q.850 cause for a SIP final status per RFC 3398, or null when the status has no mapping. */
export function q850FromSipStatus(status: number): number | null {
  return mappedQ850(status) ?? null;
}

/**
 * The Q.850 cause of an RFC 3326 `Reason` header value (`Q.850;cause=16;text="Normal call clearing"`, possibly
 * several comma-separated reasons), or null when it carries none. Never throws: a malformed header yields null.
 */
export function q850FromReasonHeader(value: string): number | null {
  for (const part of value.split(",")) {
    const [protocol, ...params] = part.split(";");
    if (protocol?.trim().toUpperCase() !== "Q.850") {
      continue;
    }
    for (const p of params) {
      const m = /^\s*cause\s*=\s*(\d{1,3})\s*$/i.exec(p);
      if (m?.[1] !== undefined) {
        const n = Number(m[1]);
        return n >= 0 && n <= 127 ? n : null;
      }
    }
  }
  return null;
}
