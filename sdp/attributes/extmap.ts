/**
 * RTP header extension mapping, `a=extmap:<value>["/"<direction>] <URI> <extensionattributes>` (RFC 8285 §8),
 * e.g. `a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level`.
 *
 * In an answer the identifier is kept as offered (RFC 8285 §6: "the answerer ... MUST use the same ID value").
 *
 * @see https://www.rfc-editor.org/rfc/rfc8285#section-8
 */
import { SdpParseError } from "../errors.js";
import type { Direction } from "./direction.js";
import { isDirection } from "./direction.js";

/** One `a=extmap:` line. */
export interface Extmap {
  /** 1–14 for one-byte headers, up to 255 with two-byte headers (RFC 8285 §5). */
  readonly id: number;
  readonly direction?: Direction;
  readonly uri: string;
  readonly attributes?: string;
}

/**
 * Parses the value of an `a=extmap:` line.
 *
 * @throws {SdpParseError} when the id, direction or URI is malformed.
 */
export function parseExtmap(value: string, line = 0): Extmap {
  const text = `a=extmap:${value}`;
  const match = /^(\d+)(?:\/(\w+))? +(\S+)(?: +(.*))?$/s.exec(value);
  const direction = match?.[2];
  if (match === null || Number(match[1]) > 255 || (direction !== undefined && !isDirection(direction))) {
    throw new SdpParseError("extmap must be <id>[/<direction>] <uri> [<attributes>]", line, text);
  }
  return {
    id: Number(match[1]),
    ...(direction !== undefined && isDirection(direction) ? { direction } : {}),
    uri: match[3] ?? "",
    ...(match[4] === undefined ? {} : { attributes: match[4] }),
  };
}

/** Formats an {@link Extmap} as the value of an `a=extmap:` line. */
export function formatExtmap(e: Extmap): string {
  const id = e.direction === undefined ? `${e.id}` : `${e.id}/${e.direction}`;
  return e.attributes === undefined ? `${id} ${e.uri}` : `${id} ${e.uri} ${e.attributes}`;
}
