/**
 * Frames SIP messages out of a TCP/TLS byte stream by Content-Length (RFC 3261 §18.3).
 *
 * "In the case of stream-oriented transports such as TCP, the Content-Length header field indicates the size of the
 * body ... and MUST be used" (§18.3). Size limits protect the process from a peer that never sends the empty line or
 * announces a huge body; a {@link SipParseError} with `fatal: true` means the connection must be closed, because a
 * stream cannot be resynchronised (RFC 4475 §3.1.2.3, §3.3.9).
 *
 * CRLF keep-alives between messages are consumed: a double CRLF "ping" is reported through `onKeepAlive` so the
 * transport can answer with a single CRLF "pong" (RFC 5626 §3.5.1).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-18.3
 */

import { SipParseError } from "../errors.js";

/** Limits and hooks of a {@link SipStreamFramer}. */
export interface SipStreamFramerOptions {
  /** Largest accepted message, header section plus body, in octets (default 65535). */
  readonly maxMessageSize?: number;
  /** Largest accepted number of header lines (default 256). */
  readonly maxHeaderCount?: number;
  /** Called for each RFC 5626 double-CRLF keep-alive ping. */
  readonly onKeepAlive?: () => void;
}

/** What one {@link SipStreamFramer.push} produced. */
export interface SipFramerResult {
  /** Complete messages, in order. */
  readonly frames: Buffer[];
  /** Set when the stream is broken (missing/invalid Content-Length, a limit exceeded): close the connection. */
  readonly error?: SipParseError;
}

/** Default limit on one framed message. */
export const DEFAULT_MAX_MESSAGE_SIZE = 65535;

const HEADER_END = Buffer.from("\r\n\r\n", "latin1");

/** Incremental framer; feed it chunks, get complete message frames back. */
export class SipStreamFramer {
  readonly #maxMessageSize: number;
  readonly #maxHeaderCount: number;
  readonly #onKeepAlive: (() => void) | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  #error: SipParseError | undefined;

  constructor(options: SipStreamFramerOptions = {}) {
    this.#maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.#maxHeaderCount = options.maxHeaderCount ?? 256;
    this.#onKeepAlive = options.onKeepAlive;
  }

  /** Octets received but not yet framed. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** The error that stopped the framer, if any. */
  get error(): SipParseError | undefined {
    return this.#error;
  }

  /**
   * Appends a chunk and returns every message completed by it, each as its exact bytes
   * (pass them to `parseMessage(frame, { framing: "stream" })`). Frames completed before a framing error are still
   * returned; `error` is then set (always `fatal`: close the connection after handling the frames) and the framer
   * refuses further input.
   */
  push(chunk: Uint8Array): SipFramerResult {
    if (this.#error) {
      return { frames: [], error: this.#error };
    }
    this.#buffer = this.#buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([this.#buffer, chunk]);
    const frames: Buffer[] = [];
    try {
      for (let frame = this.#next(); frame; frame = this.#next()) {
        frames.push(frame);
      }
    } catch (error) {
      this.#error =
        error instanceof SipParseError
          ? error.withInit({ fatal: true })
          : new SipParseError(String(error), { fatal: true });
      this.#buffer = Buffer.alloc(0);
      return { frames, error: this.#error };
    }
    return { frames };
  }

  #next(): Buffer | undefined {
    let buf = this.#buffer;
    // Leading CRLFs: keep-alives (RFC 5626 §3.5.1) or the stray CRLFs RFC 3261 §7.5 says to ignore.
    let start = 0;
    while (start + 1 < buf.length && buf[start] === 0x0d && buf[start + 1] === 0x0a) {
      if (start + 3 < buf.length && buf[start + 2] === 0x0d && buf[start + 3] === 0x0a) {
        this.#onKeepAlive?.();
        start += 4;
      } else if (start + 2 < buf.length) {
        start += 2;
      } else {
        break;
      }
    }
    if (start > 0) {
      buf = buf.subarray(start);
      this.#buffer = buf;
    }
    // Nothing yet, or a lone CRLF that may become a ping: wait.
    if (buf.length === 0 || (buf.length === 2 && buf[0] === 0x0d)) {
      return undefined;
    }
    // The header section ends at the first empty line; a peer that never sends one is cut off at the size limit
    // rather than buffered forever.
    const headEnd = buf.indexOf(HEADER_END);
    if (headEnd < 0) {
      if (buf.length > this.#maxMessageSize) {
        throw new SipParseError("Header section too large", { fatal: true });
      }
      return undefined;
    }
    // Frame = header section + empty line + exactly Content-Length octets; the next message starts right after.
    const contentLength = this.#contentLength(buf, headEnd);
    const total = headEnd + 4 + contentLength;
    if (total > this.#maxMessageSize) {
      throw new SipParseError("Message too large", { fatal: true, status: 513 });
    }
    if (buf.length < total) {
      return undefined;
    }
    // Copy the frame so the (possibly large) receive buffer can be released independently of the message.
    const frame = Buffer.from(buf.subarray(0, total));
    this.#buffer = buf.subarray(total);
    return frame;
  }

  /**
   * Finds Content-Length (or compact `l`) in the header section without a full parse: the framer must know where the
   * message ends before the parser sees it. Folded Content-Length lines are not supported (no known peer folds it).
   * Missing, malformed and conflicting values are all fatal on a stream (RFC 3261 §18.3, RFC 4475 §3.1.2.3, §3.3.9).
   */
  #contentLength(buf: Buffer, headEnd: number): number {
    const head = buf.toString("latin1", 0, headEnd);
    let found = -1;
    let lines = 0;
    for (const line of head.split("\r\n")) {
      lines++;
      const colon = line.indexOf(":");
      if (colon <= 0) {
        continue;
      }
      const name = line.slice(0, colon).trim().toLowerCase();
      if (name !== "content-length" && name !== "l") {
        continue;
      }
      const value = line.slice(colon + 1).trim();
      if (!/^\d{1,10}$/.test(value)) {
        throw new SipParseError("Invalid Content-Length", { fatal: true });
      }
      const v = Number(value);
      if (found >= 0 && v !== found) {
        throw new SipParseError("Multiple Content-Length values", { fatal: true });
      }
      found = v;
    }
    if (lines - 1 > this.#maxHeaderCount) {
      throw new SipParseError("Too many header fields", { fatal: true });
    }
    if (found < 0) {
      throw new SipParseError("Missing Content-Length", { fatal: true });
    }
    return found;
  }
}
