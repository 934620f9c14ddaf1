/**
 * The SIP message parser (RFC 3261 §7, §18.3, §25).
 *
 * One pass splits the start line and the header lines (unfolding continuation lines, §7.3.1), frames the body by
 * Content-Length, and then validates the headers every transaction and dialog needs (Call-ID, From, To, CSeq, Via,
 * Max-Forwards, Contact; a request's Content-Type). Everything else is parsed on first access (see {@link SipMessage}).
 *
 * Errors are {@link SipParseError}s. For a request whose start line could be read, `status` is set (400, or 505 for an
 * unknown SIP version, 501 for an unknown method with a mismatched CSeq, RFC 4475 §3.1.2.16/§3.1.2.18) and `echo`
 * carries the raw Via/From/To/Call-ID/CSeq lines so the transport edge can answer statelessly
 * (`400 Bad Request (Missing Call-ID)`); for responses `status` is undefined: RFC 3261 §18.1.2 discards them.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-7
 */

import { SipParseError } from "../errors.js";
import { isToken, trimLws } from "./grammar.js";
import { headerKey } from "./headerNames.js";
import { SipRequest, SipResponse, setParsedHeaders } from "./SipMessage.js";
import { parseUri } from "./uri.js";

/*
 * Reasons the parser reports, with their status and the RFC 4475 message that exercises each
 * (test/unit/sip/torture.test.ts checks every row):
 *
 * | reason                                   | status | torture case          |
 * |------------------------------------------|--------|-----------------------|
 * | Malformed Request-Line                   | 400    | lwsruri, lwsstart, trws |
 * | Version Not Supported                    | 505    | badvers               |
 * | Invalid Request-URI: …                   | 400    | ltgtruri              |
 * | Headers in Request-URI                   | 400    | escruri               |
 * | Invalid Status-Code                      | drop   | bigcode               |
 * | Content-Length larger than message       | 400    | clerr                 |
 * | Invalid Content-Length                   | 400    | ncl                   |
 * | Multiple Content-Length values           | 400    | mcl01                 |
 * | Missing Call-ID / From / To / CSeq / Via | 400    | insuf                 |
 * | Multiple Call-ID header fields           | 400    | multi01               |
 * | Invalid CSeq: …                          | 400 / drop | scalar02, scalarlg |
 * | Empty parameter in Via                   | 400    | badinv01              |
 * | Unterminated quoted string in To         | 400    | quotbal               |
 * | Invalid To: whitespace inside <>         | 400    | badaspec              |
 * | Invalid display name in From             | 400    | baddn                 |
 * | Invalid Contact: URI with headers …      | 400    | regbadct              |
 * | CSeq method does not match Request-Line  | 400 / 501 | mismatch01, mismatch02 |
 * | Invalid Content-Type (requests)          | 400    | (issue 9, defect 10)  |
 */

/** How the bytes arrived, which decides body framing (RFC 3261 §18.3). */
export type Framing = "datagram" | "stream";

/** Parser options. */
export interface ParseOptions {
  /**
   * `"datagram"` (default): the bytes are one UDP datagram; without Content-Length the body is the rest of the
   * datagram and octets after Content-Length are ignored (§18.3, RFC 4475 §3.1.1.8). `"stream"`: the bytes are one
   * frame cut by {@link SipStreamFramer}; Content-Length is mandatory.
   */
  readonly framing?: Framing;
  /** Skip eager validation of the core headers (they are still parsed, and may throw, on access). */
  readonly lazy?: boolean;
  /** Maximum number of header lines (default 256). */
  readonly maxHeaderCount?: number;
}

/** Default cap on header lines per message. */
export const DEFAULT_MAX_HEADER_COUNT = 256;

/** Methods this stack recognises; an unknown one with a mismatched CSeq earns 501 (RFC 4475 §3.1.2.18). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  "INVITE",
  "ACK",
  "BYE",
  "CANCEL",
  "OPTIONS",
  "REGISTER",
  "PRACK",
  "UPDATE",
  "INFO",
  "MESSAGE",
  "REFER",
  "NOTIFY",
  "SUBSCRIBE",
  "PUBLISH",
]);

const ECHO_KEYS: ReadonlySet<string> = new Set(["via", "from", "to", "call-id", "cseq"]);

/** A Buffer view of the input without copying (text is encoded as UTF-8). */
function toBuffer(data: Uint8Array | string): Buffer {
  if (typeof data === "string") {
    return Buffer.from(data, "utf8");
  }
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Parses one SIP message.
 * @param data one UDP datagram, one stream frame, or text.
 * @throws {SipParseError} when the message is malformed; see the module comment for `status` and `echo`.
 */
export function parseMessage(data: Uint8Array | string, options: ParseOptions = {}): SipRequest | SipResponse {
  const buf = toBuffer(data);
  const len = buf.length;
  const stream = options.framing === "stream";

  // RFC 3261 §7.5: "Implementations processing SIP messages over stream-oriented transports MUST ignore any CRLF
  // appearing before the start-line"; the same is harmless for datagrams (RFC 5626 keep-alives).
  let start = 0;
  while (start < len && (buf[start] === 0x0d || buf[start] === 0x0a)) {
    start++;
  }
  if (start >= len) {
    throw new SipParseError("Empty message");
  }

  // The header section ends at the first empty line; bare-LF line ends are tolerated.
  let headEnd = buf.indexOf("\r\n\r\n", start, "latin1");
  let bodyStart = headEnd + 4;
  const lfEnd = buf.indexOf("\n\n", start, "latin1");
  if (lfEnd >= 0 && (headEnd < 0 || lfEnd < headEnd)) {
    headEnd = lfEnd;
    bodyStart = lfEnd + 2;
  }
  if (headEnd < 0) {
    if (stream) {
      throw new SipParseError("Incomplete header section", { fatal: true });
    }
    // A datagram that ends without the empty line (RFC 4475 §3.1.2.15, baddn): decide at the end of the datagram.
    headEnd = len;
    bodyStart = len;
  }
  const head = buf.toString("utf8", start, headEnd);

  // Start line: a response starts with the SIP-Version ("SIP/2.0 200 OK", RFC 3261 §7.2), a request with a method
  // token. The header section is decoded as UTF-8 (header values may hold UTF8-NONASCII, §25.1), while the body
  // stays bytes and is located by octet offsets, so Content-Length counts octets as §20.14 requires.
  let nl = head.indexOf("\n");
  if (nl < 0) {
    nl = head.length;
  }
  const startLine = head.charCodeAt(nl - 1) === 0x0d ? head.slice(0, nl - 1) : head.slice(0, nl);
  const isResponse = startLine.startsWith("SIP/") || startLine.startsWith("sip/");

  // Header lines, unfolded: a line starting with SP or HTAB continues the previous one (§7.3.1).
  const names: string[] = [];
  const keys: string[] = [];
  const values: string[] = [];
  const maxHeaders = options.maxHeaderCount ?? DEFAULT_MAX_HEADER_COUNT;
  let pos = nl + 1;
  const n = head.length;
  while (pos < n) {
    let end = head.indexOf("\n", pos);
    if (end < 0) {
      end = n;
    }
    const lineEnd = head.charCodeAt(end - 1) === 0x0d ? end - 1 : end;
    const first = head.charCodeAt(pos);
    if (lineEnd > pos) {
      if (first === 0x20 || first === 0x09) {
        // A continuation line (RFC 3261 §7.3.1: "Header fields can be extended over multiple lines by preceding each
        // extra line with at least one SP or horizontal tab"). The fold is replaced by a single SP.
        const last = values.length - 1;
        if (last < 0) {
          throw fail(new SipParseError("Continuation line before first header"), isResponse, names, keys, values);
        }
        const more = trimLws(head.slice(pos, lineEnd));
        if (more.length > 0) {
          values[last] = values[last] === "" ? more : `${values[last]} ${more}`;
        }
      } else {
        // field-name HCOLON field-value; HCOLON = *( SP / HTAB ) ":" SWS, so whitespace before ":" is legal
        // ("Content-Length   : 150" in RFC 4475 §3.1.1.1) and is trimmed from the name.
        const colon = head.indexOf(":", pos);
        if (colon < 0 || colon > lineEnd) {
          throw fail(new SipParseError("Malformed header line"), isResponse, names, keys, values);
        }
        let nameEnd = colon;
        while (nameEnd > pos && (head.charCodeAt(nameEnd - 1) === 0x20 || head.charCodeAt(nameEnd - 1) === 0x09)) {
          nameEnd--;
        }
        const name = head.slice(pos, nameEnd);
        if (!isToken(name)) {
          throw fail(new SipParseError("Invalid header name"), isResponse, names, keys, values);
        }
        names.push(name);
        keys.push(headerKey(name));
        values.push(trimLws(head.slice(colon + 1, lineEnd)));
        if (names.length > maxHeaders) {
          throw fail(new SipParseError("Too many header fields", { fatal: true }), isResponse, names, keys, values);
        }
      }
    }
    pos = end + 1;
  }

  // Body framing by Content-Length (RFC 3261 §18.3, §20.14): Content-Length = 1*DIGIT, in octets. Every line is
  // checked, compact "l" included, because two different values make the framing ambiguous.
  let contentLength = -1;
  for (let i = 0; i < keys.length; i++) {
    if (keys[i] === "content-length") {
      const v = values[i] ?? "";
      if (!/^\d{1,10}$/.test(v)) {
        // RFC 4475 §3.1.2.3 (ncl): a negative or non-numeric length cannot be recovered from on a stream.
        throw fail(new SipParseError("Invalid Content-Length", { fatal: true }), isResponse, names, keys, values);
      }
      const cl = Number(v);
      if (contentLength >= 0 && cl !== contentLength) {
        // RFC 4475 §3.3.9 (mcl01): conflicting values are an invalid Content-Length.
        throw fail(
          new SipParseError("Multiple Content-Length values", { fatal: true }),
          isResponse,
          names,
          keys,
          values,
        );
      }
      contentLength = cl;
    }
  }
  let body: Buffer;
  if (contentLength >= 0) {
    if (bodyStart + contentLength > len) {
      // RFC 4475 §3.1.2.2 (clerr): over UDP a length beyond the datagram is answered with 400.
      throw fail(
        new SipParseError("Content-Length larger than message", { fatal: stream }),
        isResponse,
        names,
        keys,
        values,
      );
    }
    // Octets after the body are ignored (RFC 3261 §18.3, RFC 4475 §3.1.1.8, dblreq).
    body = buf.subarray(bodyStart, bodyStart + contentLength);
  } else if (stream) {
    // RFC 3261 §18.3: "In the case of stream-oriented transports such as TCP, the Content-Length header field
    // indicates the size of the body ... and MUST be used".
    throw fail(new SipParseError("Missing Content-Length", { fatal: true }), isResponse, names, keys, values);
  } else {
    body = buf.subarray(bodyStart);
  }

  const message = isResponse
    ? parseStatusLine(startLine, body)
    : parseRequestLine(startLine, body, names, keys, values);
  setParsedHeaders(message, names, keys, values);
  if (options.lazy !== true) {
    try {
      validateCore(message);
    } catch (error) {
      if (error instanceof SipParseError) {
        throw fail(error, isResponse, names, keys, values);
      }
      throw error;
    }
  }
  return message;
}

/** Adds the stateless-answer info (status and echo headers) to an error, or strips it for responses. */
function fail(
  error: SipParseError,
  isResponse: boolean,
  names: string[],
  keys: string[],
  values: string[],
): SipParseError {
  if (isResponse) {
    return error.status === undefined ? error : new SipParseError(error.reason, { fatal: error.fatal });
  }
  const echo: [string, string][] = [];
  for (let i = 0; i < keys.length; i++) {
    if (ECHO_KEYS.has(keys[i] ?? "")) {
      echo.push([names[i] ?? "", values[i] ?? ""]);
    }
  }
  return error.withInit({ status: error.status ?? 400, echo });
}

/**
 * Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF (RFC 3261 §7.2). The reason phrase may be empty
 * (RFC 4475 §3.1.1.13) and may hold UTF-8 (§3.1.1.12). A code outside 100–699 is dropped (§3.1.2.19, bigcode).
 */
function parseStatusLine(line: string, body: Buffer): SipResponse {
  const sp = line.indexOf(" ");
  const version = sp < 0 ? line : line.slice(0, sp);
  if (version.toUpperCase() !== "SIP/2.0") {
    throw new SipParseError("Unsupported SIP version in Status-Line");
  }
  const code = line.slice(sp + 1, sp + 4);
  const after = line.charCodeAt(sp + 4);
  if (sp < 0 || !/^[1-6]\d\d$/.test(code) || (!Number.isNaN(after) && after !== 0x20)) {
    throw new SipParseError("Invalid Status-Code");
  }
  return new SipResponse(Number(code), line.slice(sp + 5), undefined, body);
}

/**
 * Request-Line = Method SP Request-URI SP SIP-Version CRLF (RFC 3261 §7.1). Exactly one SP separates the elements;
 * RFC 4475 §3.1.2.8–§3.1.2.10 (lwsruri, lwsstart, trws) may be rejected, which is what this parser does.
 */
function parseRequestLine(line: string, body: Buffer, names: string[], keys: string[], values: string[]): SipRequest {
  const parts = line.split(" ");
  const [method = "", uriText = "", version = ""] = parts;
  if (parts.length !== 3 || !isToken(method) || uriText.length === 0) {
    throw fail(new SipParseError("Malformed Request-Line"), false, names, keys, values);
  }
  if (!/^SIP\/\d+\.\d+$/i.test(version)) {
    throw fail(new SipParseError("Malformed Request-Line"), false, names, keys, values);
  }
  if (version.toUpperCase() !== "SIP/2.0") {
    // RFC 3261 §8.2.2.1 / RFC 4475 §3.1.2.16 (badvers): answer 505.
    throw fail(new SipParseError("Version Not Supported", { status: 505 }), false, names, keys, values);
  }
  let uri;
  try {
    uri = parseUri(uriText, "Request-URI");
  } catch (error) {
    if (error instanceof SipParseError) {
      throw fail(error, false, names, keys, values);
    }
    throw error;
  }
  if (uri.kind === "sip" && uri.headers.size > 0) {
    // RFC 3261 §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11, escruri).
    throw fail(new SipParseError("Headers in Request-URI"), false, names, keys, values);
  }
  return new SipRequest(method, uri, undefined, body);
}

/**
 * Parses the headers the layers above cannot work without, so malformed ones are rejected at the edge:
 * Call-ID, From, To, CSeq and Via are mandatory in every message (RFC 3261 §8.1.1, §20 tables);
 * Max-Forwards and Contact are checked when present.
 */
function validateCore(message: SipRequest | SipResponse): void {
  // Order matters only for the reported reason: with several faults the first one names the 400 (RFC 4475 §3.3.1
  // lacks Call-ID, From and To and is answered "Missing Call-ID"). Each access parses and caches the header, so the
  // layers above pay nothing extra for it.
  void message.callId;
  void message.from;
  void message.to;
  const cseq = message.cseq;
  void message.topVia;
  void message.maxForwards;
  void message.contacts;
  if (message instanceof SipRequest) {
    // A request's Content-Type must parse (RFC 3261 §20.15, §21.4.1): a garbled one is the peer's syntax error,
    // answered 400 here rather than failing later in the UA core. Responses keep theirs unparsed (read on demand).
    void message.contentType;
  }
  if (message instanceof SipRequest && cseq.method !== message.method) {
    // RFC 3261 §8.1.1.5: "The method MUST match that of the request". RFC 4475 §3.1.2.17 → 400,
    // §3.1.2.18 (unknown method) → 501 preferred.
    const status = KNOWN_METHODS.has(message.method) ? 400 : 501;
    throw new SipParseError("CSeq method does not match Request-Line", { status });
  }
}
