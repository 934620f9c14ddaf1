/**
 * Precondition attributes of RFC 3312 §5 (updated by RFC 4032): `a=curr:`, `a=des:` and `a=conf:`, e.g.
 *
 * ```
 * a=curr:qos local none
 * a=des:qos mandatory local sendrecv
 * a=conf:qos remote sendrecv
 * ```
 *
 * VoLTE handsets put them in every INVITE (sip-ims.md §4.3). Korus does not reserve network resources, so it
 * answers without them when the offerer only lists `precondition` in `Supported`, and refuses the offer when the
 * offerer requires them (RFC 3312 §11; see `createAnswer`).
 *
 * @see https://www.rfc-editor.org/rfc/rfc3312#section-5
 * @see https://www.rfc-editor.org/rfc/rfc4032#section-4
 */
import { SdpParseError } from "../errors.js";

/** Which status line: current, desired or confirmation (RFC 3312 §5). */
export type PreconditionStatus = "curr" | "des" | "conf";
/** RFC 3312 §5: strength-tag, only on `des` lines. */
export type PreconditionStrength = "mandatory" | "optional" | "none" | "failure" | "unknown";
/** RFC 3312 §5: status-type; `e2e` or the segmented `local` / `remote`. */
export type PreconditionStatusType = "e2e" | "local" | "remote";
/** RFC 3312 §5: direction-tag. */
export type PreconditionDirection = "none" | "send" | "recv" | "sendrecv";

/** One `a=curr:` / `a=des:` / `a=conf:` line. */
export interface Precondition {
  readonly status: PreconditionStatus;
  /** precondition-type, `qos` in RFC 3312 (other types are kept as written). */
  readonly type: string;
  /** Present on `des` lines only. */
  readonly strength?: PreconditionStrength;
  readonly statusType: PreconditionStatusType;
  readonly direction: PreconditionDirection;
}

/** Attribute names that carry preconditions. */
export const PRECONDITION_ATTRIBUTES: readonly PreconditionStatus[] = ["curr", "des", "conf"];

/** Type guard for an attribute name carrying a precondition. */
export function isPreconditionAttribute(name: string): name is PreconditionStatus {
  return (PRECONDITION_ATTRIBUTES as readonly string[]).includes(name);
}

// RFC 3312 §5 grammar; "sendrecv" is tried before "send" (libraries.md §11).
const STRENGTHS = "mandatory|optional|none|failure|unknown";
const DES_RE = new RegExp(`^(\\S+) (${STRENGTHS}) (e2e|local|remote) (none|sendrecv|send|recv)\\s*$`);
const CURR_RE = /^(\S+) (e2e|local|remote) (none|sendrecv|send|recv)\s*$/;

/**
 * Parses the value of an `a=curr:`, `a=des:` or `a=conf:` line.
 *
 * @throws {SdpParseError} when the value does not follow the RFC 3312 §5 grammar.
 */
export function parsePrecondition(status: PreconditionStatus, value: string, line = 0): Precondition {
  const text = `a=${status}:${value}`;
  if (status === "des") {
    const m = DES_RE.exec(value);
    if (m === null) {
      throw new SdpParseError("des must be <type> <strength> <e2e|local|remote> <direction>", line, text);
    }
    return {
      status,
      type: m[1] ?? "",
      strength: m[2] as PreconditionStrength,
      statusType: m[3] as PreconditionStatusType,
      direction: m[4] as PreconditionDirection,
    };
  }
  const m = CURR_RE.exec(value);
  if (m === null) {
    throw new SdpParseError(`${status} must be <type> <e2e|local|remote> <direction>`, line, text);
  }
  return {
    status,
    type: m[1] ?? "",
    statusType: m[2] as PreconditionStatusType,
    direction: m[3] as PreconditionDirection,
  };
}

/** Formats a {@link Precondition} as the value of its attribute (the name is `p.status`). */
export function formatPrecondition(p: Precondition): string {
  return p.strength === undefined
    ? `${p.type} ${p.statusType} ${p.direction}`
    : `${p.type} ${p.strength} ${p.statusType} ${p.direction}`;
}
