/**
 * The receive edge shared by the socket transports (architecture.md §5.7): parse inside try/catch, then either
 * deliver, answer statelessly (`400 Bad Request (Missing Call-ID)`, 505, 501), or drop with a log line. No exception
 * from the parser or the application escapes into a socket handler.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-18.2.1
 */

import { SipParseError } from "../errors.js";
import type { Logger } from "../logger.js";
import { parseMessage, type Framing } from "../message/parser.js";
import { createStatelessErrorResponse } from "../message/responses.js";
import { SipRequest, type SipResponse } from "../message/SipMessage.js";
import { stampReceived, type InboundMessage, type SipDestination } from "./SipTransport.js";

/** Callbacks a socket transport reports to. */
export interface InboundHandlers {
  /** A parsed message, `received`/`rport` already stamped on requests (RFC 3261 §18.2.1, RFC 3581 §4). */
  readonly onMessage: (inbound: InboundMessage) => void;
  /** A message was rejected; `answered` tells whether a stateless response went back. */
  readonly onParseError?: (error: SipParseError, source: SipDestination, answered: boolean) => void;
}

/**
 * Parses one datagram or stream frame and dispatches it.
 * @param reply sends a stateless error response back to the source.
 * @returns the parse error, if any (stream transports close on `fatal`).
 */
export function handleInbound(
  data: Uint8Array,
  framing: Framing,
  source: SipDestination,
  handlers: InboundHandlers,
  reply: (response: SipResponse) => void,
  logger: Logger,
): SipParseError | undefined {
  // Step 1 (architecture.md §5.7): parse inside try/catch; the parser throws only SipParseError by contract,
  // anything else is a bug that is logged, never rethrown into the socket handler.
  let message;
  try {
    message = parseMessage(data, { framing });
    if (message instanceof SipRequest) {
      stampReceived(message, source);
    }
  } catch (error) {
    if (!(error instanceof SipParseError)) {
      logger.error("unexpected parser failure", { error, source });
      return new SipParseError("Internal parser failure");
    }
    // Step 2: answer statelessly when the error says so (requests), otherwise drop (responses, RFC 3261 §18.1.2).
    const response = createStatelessErrorResponse(error);
    if (response) {
      try {
        reply(response);
      } catch (replyError) {
        // The serializer refuses echoed header text that would break a line (headerText.ts): no answer then.
        logger.info("stateless answer not sent", { reason: error.reason, error: String(replyError) });
      }
    }
    logger.info(response ? "rejected SIP request" : "dropped SIP message", {
      reason: error.reason,
      status: error.status,
      source: `${source.host}:${source.port}`,
    });
    try {
      handlers.onParseError?.(error, source, response !== undefined);
    } catch (handlerError) {
      logger.error("onParseError handler threw", { error: handlerError });
    }
    return error;
  }
  // Step 3: deliver. An exception in the application stays here.
  try {
    handlers.onMessage({ message, source });
  } catch (error) {
    logger.error("onMessage handler threw", { error });
  }
  return undefined;
}
