/**
 * Grouping and RTCP transport attributes:
 *
 * - `a=group:<semantics> <mid>...` (RFC 5888 §5), with `BUNDLE` (RFC 8843 §7) and `LS` (lip sync);
 * - `a=mid:<identification-tag>` (RFC 5888 §4);
 * - `a=rtcp:<port> [<nettype> <addrtype> <address>]` (RFC 3605 §2.1);
 * - `a=rtcp-mux` (RFC 5761 §5.1.1) and `a=rtcp-mux-only` (RFC 8858 §3) are plain flags read by the model.
 *
 * @see https://www.rfc-editor.org/rfc/rfc5888#section-5
 * @see https://www.rfc-editor.org/rfc/rfc8843#section-7
 */
import { SdpParseError } from "../errors.js";
import type { Connection } from "../lines.js";
import { parseInteger } from "../lines.js";

/** One `a=group:` line. */
export interface Group {
  /** `BUNDLE`, `LS`, `FID`, ... */
  readonly semantics: string;
  readonly mids: readonly string[];
}

/**
 * Parses the value of an `a=group:` line. A group with no mids is legal (RFC 8843 §7.3.1 lets an answerer reject
 * every bundled stream).
 *
 * @throws {SdpParseError} when the semantics token is missing.
 */
export function parseGroup(value: string, line = 0): Group {
  const [semantics, ...mids] = value.trim().split(/ +/);
  if (semantics === undefined || semantics === "") {
    throw new SdpParseError("group must be <semantics> <mid>...", line, `a=group:${value}`);
  }
  return { semantics, mids };
}

/** Formats a {@link Group} as the value of an `a=group:` line. */
export function formatGroup(g: Group): string {
  return [g.semantics, ...g.mids].join(" ");
}

/** `a=rtcp:` (RFC 3605 §2.1): the RTCP port when it is not RTP port + 1, with an optional address. */
export interface RtcpAttribute {
  readonly port: number;
  readonly connection?: Connection;
}

/**
 * Parses the value of an `a=rtcp:` line.
 *
 * @throws {SdpParseError} when the port is not a number or the address part is incomplete.
 */
export function parseRtcp(value: string, line = 0): RtcpAttribute {
  const text = `a=rtcp:${value}`;
  const [port = "", netType, addressType, address, ...extra] = value.trim().split(/ +/);
  const p = parseInteger(port, "rtcp port", line, text);
  if (p < 1 || p > 65535) {
    throw new SdpParseError(`rtcp port ${p} is outside 1-65535`, line, text);
  }
  if (netType === undefined) {
    return { port: p };
  }
  if (addressType === undefined || address === undefined || extra.length > 0) {
    throw new SdpParseError("rtcp must be <port> [<nettype> <addrtype> <address>]", line, text);
  }
  return { port: p, connection: { netType, addressType, address } };
}
