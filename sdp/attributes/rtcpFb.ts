/**
 * RTCP feedback capability, `a=rtcp-fb:<pt|*> <type> [<parameters>]` (RFC 4585 §4.2), e.g. `a=rtcp-fb:96 nack pli`,
 * `a=rtcp-fb:96 goog-remb`, `a=rtcp-fb:* ccm fir` (RFC 5104 §7.1).
 *
 * @see https://www.rfc-editor.org/rfc/rfc4585#section-4.2
 */
import { SdpParseError } from "../errors.js";
import { parsePayloadType } from "./rtpmap.js";

/** One `a=rtcp-fb:` line. */
export interface RtcpFb {
  /** The payload type, or `"*"` for all payload types of the section. */
  readonly payloadType: number | "*";
  /** `ack`, `nack`, `trr-int`, `ccm`, `goog-remb`, `transport-cc`, ... */
  readonly type: string;
  /** e.g. `pli`, `fir`, `sli`, `rpsi`. */
  readonly subtype?: string;
}

/**
 * Parses the value of an `a=rtcp-fb:` line.
 *
 * @throws {SdpParseError} when the payload type or the feedback type is missing.
 */
export function parseRtcpFb(value: string, line = 0): RtcpFb {
  const text = `a=rtcp-fb:${value}`;
  const match = /^(\S+) +(\S+)(?: +(.+))?$/s.exec(value);
  if (match === null) {
    throw new SdpParseError("rtcp-fb must be <pt|*> <type> [<parameters>]", line, text);
  }
  const pt = match[1] ?? "";
  return {
    payloadType: pt === "*" ? "*" : parsePayloadType(pt, line, text),
    type: match[2] ?? "",
    ...(match[3] === undefined ? {} : { subtype: match[3] }),
  };
}

/** Formats an {@link RtcpFb} as the value of an `a=rtcp-fb:` line. */
export function formatRtcpFb(f: RtcpFb): string {
  return f.subtype === undefined ? `${f.payloadType} ${f.type}` : `${f.payloadType} ${f.type} ${f.subtype}`;
}

/** The feedback as one string, `type` or `type subtype`, as used in capability lists (`"nack pli"`). */
export function rtcpFbKey(f: RtcpFb): string {
  return f.subtype === undefined ? f.type : `${f.type} ${f.subtype}`;
}
