/**
 * `a=rtpmap:<payload type> <encoding name>/<clock rate>[/<encoding parameters>]` (RFC 8866 §6.6) and the static
 * payload types of the RTP/AVP profile (RFC 3551 §6), which may appear in `m=` without an rtpmap.
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-6.6
 * @see https://www.rfc-editor.org/rfc/rfc3551#section-6
 */
import { SdpParseError } from "../errors.js";

/** A parsed rtpmap. For audio, `channels` is the optional encoding parameter (RFC 8866 §6.6: default 1). */
export interface Rtpmap {
  readonly payloadType: number;
  /** As written in the SDP (case preserved); compare with {@link sameEncodingName}. */
  readonly encodingName: string;
  readonly clockRate: number;
  readonly channels?: number;
}

/**
 * Parses an RTP payload type: an integer 0–127 (RFC 3550 §5.1: PT is 7 bits).
 *
 * @throws {SdpParseError} when the text is not a payload type.
 */
export function parsePayloadType(text: string, line = 0, lineText = text): number {
  if (!/^\d{1,3}$/.test(text) || Number(text) > 127) {
    throw new SdpParseError(`invalid RTP payload type "${text}"`, line, lineText);
  }
  return Number(text);
}

/**
 * Parses the value of an `a=rtpmap:` line (everything after the colon).
 *
 * @throws {SdpParseError} when the payload type, encoding name or clock rate is missing or malformed.
 */
export function parseRtpmap(value: string, line = 0): Rtpmap {
  const text = `a=rtpmap:${value}`;
  // Grammar: <payload type> SP <encoding name>/<clock rate>[/<encoding parameters>]
  const match = /^(\d+) +([^/\s]+)\/(\d+)(?:\/(\d+))?\s*$/.exec(value);
  if (match === null) {
    throw new SdpParseError("rtpmap must be <pt> <name>/<rate>[/<channels>]", line, text);
  }
  const [, pt = "", encodingName = "", rate = "", channels] = match;
  return {
    payloadType: parsePayloadType(pt, line, text),
    encodingName,
    clockRate: Number(rate),
    ...(channels === undefined ? {} : { channels: Number(channels) }),
  };
}

/** Formats an {@link Rtpmap} as the value of an `a=rtpmap:` line. */
export function formatRtpmap(r: Rtpmap): string {
  const base = `${r.payloadType} ${r.encodingName}/${r.clockRate}`;
  return r.channels === undefined ? base : `${base}/${r.channels}`;
}

/**
 * Encoding names are case-insensitive (RFC 4855 §3: "media subtype names are case-insensitive"), so `opus`, `OPUS`
 * and `Opus` name the same codec.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4855#section-3
 */
export function sameEncodingName(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}

/**
 * Static audio/video payload types of RFC 3551 §6 (Tables 4 and 5) that peers still send without an rtpmap.
 * G.722 keeps an 8000 Hz RTP clock although it samples at 16 kHz (RFC 3551 §4.5.2).
 */
export const STATIC_PAYLOAD_TYPES: ReadonlyMap<number, Omit<Rtpmap, "payloadType">> = new Map([
  [0, { encodingName: "PCMU", clockRate: 8000, channels: 1 }],
  [3, { encodingName: "GSM", clockRate: 8000, channels: 1 }],
  [4, { encodingName: "G723", clockRate: 8000, channels: 1 }],
  [8, { encodingName: "PCMA", clockRate: 8000, channels: 1 }],
  [9, { encodingName: "G722", clockRate: 8000, channels: 1 }],
  [13, { encodingName: "CN", clockRate: 8000, channels: 1 }],
  [18, { encodingName: "G729", clockRate: 8000, channels: 1 }],
  [26, { encodingName: "JPEG", clockRate: 90000 }],
  [31, { encodingName: "H261", clockRate: 90000 }],
  [34, { encodingName: "H263", clockRate: 90000 }],
]);

/** Dynamic payload types are 96–127 (RFC 3551 §6); 35–63 are also usable when 96–127 run out (RFC 5761 §4). */
export function isDynamicPayloadType(pt: number): boolean {
  return pt >= 96 && pt <= 127;
}
