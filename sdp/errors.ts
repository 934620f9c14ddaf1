/**
 * Named errors of the `sdp/` module (architecture.md §5.6: named errors, mapped once).
 *
 * - {@link SdpParseError}: the text is not SDP (RFC 8866 §5 grammar); carries the 1-based line number.
 * - {@link SdpNegotiationError}: the text is valid SDP but no answer can be built (RFC 3264 §6), for example no
 *   common codec or preconditions that are required but not supported (RFC 3312 §11).
 *
 * @see https://www.rfc-editor.org/rfc/rfc8866#section-5
 * @see https://www.rfc-editor.org/rfc/rfc3264#section-6
 */

/**
 * Thrown by `SessionDescription.parse()` and the attribute parsers when the input does not follow the SDP grammar.
 *
 * @remarks `line` is 1-based and counts every line of the input, including the session-level ones; it is 0 when the
 * error is not tied to a line (for example empty input).
 */
export class SdpParseError extends Error {
  /** 1-based line number of the offending line (0 when not tied to a line). */
  readonly line: number;
  /** The offending line without its line terminator, when known. */
  readonly text: string | undefined;

  constructor(message: string, line: number, text?: string) {
    super(line > 0 ? `line ${line}: ${message}` : message);
    // Keep `instanceof` working for subclasses of Error (SIP.js does the same).
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "SdpParseError";
    this.line = line;
    this.text = text;
  }
}

/**
 * Why an offer could not be answered. A SIP layer maps these to a status code:
 * - `"preconditions-required"` → 420 Bad Extension with `Unsupported: precondition` (RFC 3312 §11);
 * - `"no-common-codec"`, `"no-acceptable-media"` → 488 Not Acceptable Here (RFC 3261 §21.4.26);
 * - `"invalid-answer"` → the remote answer does not match our offer (RFC 3264 §6), usually a BYE or re-offer.
 */
export type SdpNegotiationReason =
  "preconditions-required" | "no-common-codec" | "no-acceptable-media" | "invalid-answer";

/**
 * Thrown by the offer/answer functions when an offer must be refused as a whole.
 *
 * @remarks Refusing a single stream is not an error: that stream is answered with port 0 (RFC 3264 §6). This error
 * is thrown only when nothing can be accepted or when a required extension is missing.
 */
export class SdpNegotiationError extends Error {
  /** Machine-readable reason, stable across releases. */
  readonly reason: SdpNegotiationReason;

  constructor(reason: SdpNegotiationReason, message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "SdpNegotiationError";
    this.reason = reason;
  }
}
