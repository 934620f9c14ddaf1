/**
 * multipart/* bodies (RFC 2046 §5.1, RFC 5621 for SIP): SDP next to ISUP (SIP-I), PIDF, or S/MIME parts.
 *
 * Parts are cut on the byte level with `Buffer.indexOf`, never on lines or NUL octets: RFC 4475 §3.1.1.11 (mpart01)
 * carries a binary part with NUL, bare CR and bare LF. "The CRLF preceding the boundary delimiter line is conceptually
 * attached to the boundary" (RFC 2046 §5.1.1), so it is not part of the preceding part's body.
 * @see https://www.rfc-editor.org/rfc/rfc2046#section-5.1.1
 */

import { SipParseError } from "../errors.js";
import { headerKey } from "./headerNames.js";
import { trimLws } from "./grammar.js";
import { MediaType, parseMediaType } from "./MediaType.js";

/** One body part. */
export interface BodyPart {
  /** Part headers as `[name, value]`, in order. */
  readonly headers: readonly (readonly [string, string])[];
  /** The part's Content-Type, if it has one (RFC 2046: default text/plain). */
  readonly contentType: MediaType | undefined;
  /** The part body octets. */
  readonly body: Uint8Array;
}

/**
 * Splits a multipart body.
 * @param boundary the `boundary` parameter of the message's Content-Type.
 * @throws {SipParseError} when the first delimiter or the close delimiter is missing, or a part header is malformed.
 */
export function parseMultipart(body: Uint8Array, boundary: string): BodyPart[] {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`, "latin1");
  let pos = buf.indexOf(delimiter);
  if (pos < 0) {
    throw new SipParseError("Invalid multipart body: missing boundary");
  }
  const parts: BodyPart[] = [];
  for (;;) {
    // dash-boundary = "--" boundary; each part starts after the CRLF that ends the delimiter line.
    pos += delimiter.length;
    // "--" after the delimiter closes the multipart body.
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) {
      return parts;
    }
    // Skip transport padding up to the CRLF ending the delimiter line.
    const lineEnd = buf.indexOf("\n", pos, "latin1");
    if (lineEnd < 0) {
      break;
    }
    const partStart = lineEnd + 1;
    const next = buf.indexOf(Buffer.from(`\r\n--${boundary}`, "latin1"), partStart);
    if (next < 0) {
      break;
    }
    parts.push(parsePart(buf.subarray(partStart, Math.max(partStart, next))));
    pos = next + 2;
  }
  throw new SipParseError("Invalid multipart body: missing close delimiter");
}

/**
 * One body part: MIME-style headers (RFC 2045 §3), an empty line, then the octets. A part starting with CRLF has no
 * headers; its type then defaults to text/plain (RFC 2046 §5.1.1), reported here as `undefined`.
 */
function parsePart(part: Buffer): BodyPart {
  let headEnd = part.indexOf("\r\n\r\n", 0, "latin1");
  let bodyStart = headEnd + 4;
  if (part.length >= 2 && part[0] === 0x0d && part[1] === 0x0a) {
    // No part headers: the empty line comes first.
    headEnd = 0;
    bodyStart = 2;
  } else if (headEnd < 0) {
    headEnd = part.length;
    bodyStart = part.length;
  }
  const headers: [string, string][] = [];
  let contentType: MediaType | undefined;
  const head = part.toString("utf8", 0, headEnd);
  for (const line of head.split(/\r?\n(?![ \t])/)) {
    if (line.length === 0) {
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new SipParseError("Invalid multipart body: malformed part header");
    }
    const name = trimLws(line.slice(0, colon));
    const value = line
      .slice(colon + 1)
      .replace(/\r?\n[ \t]+/g, " ")
      .trim();
    headers.push([name, value]);
    if (headerKey(name) === "content-type") {
      contentType = parseMediaType(value);
    }
  }
  return { headers, contentType, body: part.subarray(bodyStart) };
}

/**
 * Builds a multipart body from parts (each needs its own Content-Type header in `headers`). The boundary must not
 * occur inside any part (RFC 2046 §5.1.1); callers pick a random one. Use the result as the message body with
 * `Content-Type: multipart/mixed;boundary=…`.
 */
export function serializeMultipart(parts: readonly Omit<BodyPart, "contentType">[], boundary: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let head = `--${boundary}\r\n`;
    for (const [name, value] of part.headers) {
      head += `${name}: ${value}\r\n`;
    }
    chunks.push(Buffer.from(`${head}\r\n`, "utf8"), Buffer.from(part.body), Buffer.from("\r\n", "latin1"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`, "latin1"));
  return Buffer.concat(chunks);
}
