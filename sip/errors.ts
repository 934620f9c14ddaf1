/**
 * Named errors of the SIP stack (architecture.md §5.6).
 *
 * - {@link SipParseError}: a message could not be parsed. Carries the short reason and, when the peer can be
 *   answered, the status code a stateless response should use (RFC 3261 §8.2.6.1 / §21.4.1).
 * - {@link TransactionStateError}: a transaction state machine was asked for an illegal transition.
 * - {@link SipResponseError}: a SIP request failed with a final status (timeouts map to 408, transport errors to 503).
 *
 * Each class repairs the prototype chain so `instanceof` works after transpilation (SIP.js does the same).
 */

/** Options of a {@link SipParseError}. */
export interface SipParseErrorInit {
  /**
   * Status code for a stateless answer, e.g. 400, 501 or 505. `undefined` means "drop": the message was a response
   * (RFC 3261 §18.1.2: malformed responses are discarded) or too broken to answer.
   */
  readonly status?: number | undefined;
  /**
   * Raw `[name, value]` header pairs the edge may echo in a stateless response (Via, From, To, Call-ID, CSeq as found,
   * RFC 3261 §8.2.6.2). Empty when nothing could be salvaged.
   */
  readonly echo?: readonly (readonly [string, string])[];
  /** True when a stream transport cannot resynchronise and must close the connection (RFC 3261 §18.3). */
  readonly fatal?: boolean;
  /** Byte or character offset where parsing stopped, when known. */
  readonly offset?: number | undefined;
}

/**
 * A SIP message (or a part of one) is malformed.
 *
 * `reason` is a short phrase such as `"Missing Call-ID"`; the transport edge answers requests with
 * `400 Bad Request (Missing Call-ID)` when {@link SipParseError.status} is set, and otherwise drops with a log line.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-21.4.1
 */
export class SipParseError extends Error {
  /** Short human-readable fault, suitable for a reason phrase suffix. */
  readonly reason: string;
  /** Status for a stateless answer, or `undefined` to drop silently. */
  readonly status: number | undefined;
  /** Headers recovered from the request for a stateless answer. */
  readonly echo: readonly (readonly [string, string])[];
  /** True when a stream must be closed. */
  readonly fatal: boolean;
  /** Where parsing stopped, when known. */
  readonly offset: number | undefined;

  constructor(reason: string, init: SipParseErrorInit = {}) {
    super(`SIP parse error: ${reason}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "SipParseError";
    this.reason = reason;
    this.status = init.status;
    this.echo = init.echo ?? [];
    this.fatal = init.fatal ?? false;
    this.offset = init.offset;
  }

  /** A copy of this error with other init fields (used by the parser to add status and echo headers). */
  withInit(init: SipParseErrorInit): SipParseError {
    return new SipParseError(this.reason, {
      status: init.status ?? this.status,
      echo: init.echo ?? this.echo,
      fatal: init.fatal ?? this.fatal,
      offset: init.offset ?? this.offset,
    });
  }
}

/**
 * A transaction (or dialog) state machine was asked for a transition its RFC diagram does not contain.
 * This is a programming error in the caller, never a peer's fault.
 */
export class TransactionStateError extends Error {
  /** State the machine was in. */
  readonly from: string;
  /** State that was requested. */
  readonly to: string;

  constructor(kind: string, from: string, to: string) {
    super(`${kind}: invalid state transition from ${from} to ${to}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "TransactionStateError";
    this.from = from;
    this.to = to;
  }
}

/**
 * A request ended with a final non-2xx status, or locally with an equivalent one
 * (RFC 3261 §8.1.3.1: a transaction timeout is treated as 408, a transport failure as 503).
 */
export class SipResponseError extends Error {
  /** SIP status code (300–699). */
  readonly status: number;
  /** Reason phrase. */
  readonly reason: string;

  constructor(status: number, reason: string) {
    super(`SIP ${status} ${reason}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "SipResponseError";
    this.status = status;
    this.reason = reason;
  }
}
