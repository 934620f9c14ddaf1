/**
 * Source-specific attributes: `a=ssrc:<ssrc-id> <attribute>[:<value>]` and `a=ssrc-group:<semantics> <ssrc-id>...`
 * (RFC 5576 §4.1 and §4.2), e.g. `a=ssrc:1001 cname:abc` and `a=ssrc-group:FID 1001 1002` (RTX, RFC 4588).
 *
 * @see https://www.rfc-editor.org/rfc/rfc5576#section-4
 */
import { SdpParseError } from "../errors.js";

/** One `a=ssrc:` line. */
export interface SsrcAttribute {
  /** 32-bit SSRC. */
  readonly ssrc: number;
  /** Source attribute name, e.g. `cname`, `msid`. */
  readonly attribute: string;
  readonly value?: string;
}

/** One `a=ssrc-group:` line. */
export interface SsrcGroup {
  /** `FID` (RFC 5576 §4.2, RTX), `FEC-FR` (RFC 5956), `SIM` (simulcast in legacy Chrome plans). */
  readonly semantics: string;
  readonly ssrcs: readonly number[];
}

// RFC 3550 §5.1: SSRC is a 32-bit unsigned integer.
function parseSsrcId(text: string, line: number, lineText: string): number {
  if (!/^\d{1,10}$/.test(text) || Number(text) > 0xffffffff) {
    throw new SdpParseError(`invalid SSRC "${text}"`, line, lineText);
  }
  return Number(text);
}

/**
 * Parses the value of an `a=ssrc:` line.
 *
 * @throws {SdpParseError} when the SSRC is not a 32-bit number or the attribute is missing.
 */
export function parseSsrc(value: string, line = 0): SsrcAttribute {
  const text = `a=ssrc:${value}`;
  const space = value.indexOf(" ");
  if (space <= 0) {
    throw new SdpParseError("ssrc must be <ssrc-id> <attribute>[:<value>]", line, text);
  }
  const ssrc = parseSsrcId(value.slice(0, space), line, text);
  const rest = value.slice(space + 1);
  const colon = rest.indexOf(":");
  return colon === -1
    ? { ssrc, attribute: rest }
    : { ssrc, attribute: rest.slice(0, colon), value: rest.slice(colon + 1) };
}

/** Formats an {@link SsrcAttribute} as the value of an `a=ssrc:` line. */
export function formatSsrc(s: SsrcAttribute): string {
  return s.value === undefined ? `${s.ssrc} ${s.attribute}` : `${s.ssrc} ${s.attribute}:${s.value}`;
}

/**
 * Parses the value of an `a=ssrc-group:` line.
 *
 * @throws {SdpParseError} when the semantics or an SSRC is missing or malformed.
 */
export function parseSsrcGroup(value: string, line = 0): SsrcGroup {
  const text = `a=ssrc-group:${value}`;
  const [semantics, ...ids] = value.trim().split(/ +/);
  if (semantics === undefined || semantics === "" || ids.length === 0) {
    throw new SdpParseError("ssrc-group must be <semantics> <ssrc-id>...", line, text);
  }
  return { semantics, ssrcs: ids.map((id) => parseSsrcId(id, line, text)) };
}

/** Formats an {@link SsrcGroup} as the value of an `a=ssrc-group:` line. */
export function formatSsrcGroup(g: SsrcGroup): string {
  return [g.semantics, ...g.ssrcs].join(" ");
}
