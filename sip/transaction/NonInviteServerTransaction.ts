/**
 * Non-INVITE server transaction (RFC 3261 §17.2.2).
 *
 * ```
 *                           |Request received
 *                           |pass to TU
 *                           V
 *                     +-----------+
 *                     |           |
 *                     | Trying    |-------------+
 *                     |           |             |
 *                     +-----------+             |200-699 from TU
 *                           |                   |send response
 *                           |1xx from TU        |
 *                           |send response      |
 *                           |                   |
 *        Request            V      1xx from TU  |
 *        send response+-----------+send response|
 *            +--------|           |--------+    |
 *            |        | Proceeding|        |    |
 *            +------->|           |<-------+    |
 *     +<--------------|           |             |
 *     |Trnsprt Err    +-----------+             |
 *     |Inform TU            |                   |
 *     |                     |                   |
 *     |                     |200-699 from TU    |
 *     |                     |send response      |
 *     |  Request            V                   |
 *     |  send response+-----------+             |
 *     |      +--------|           |             |
 *     |      |        | Completed |<------------+
 *     |      +------->|           |
 *     +<--------------|           |
 *     |Trnsprt Err    +-----------+
 *     |Inform TU            |
 *     |                     |Timer J fires
 *     |                     |-
 *     |                     |
 *     |                     V
 *     |               +-----------+
 *     |               |           |
 *     +-------------->| Terminated|
 *                     |           |
 *                     +-----------+
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17.2.2
 */

import { TransactionStateError } from "../errors.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { serverTransactionId } from "./matching.js";
import {
  Transaction,
  type ServerTransactionUser,
  type TransactionOptions,
  type TransitionTable,
} from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

const { Completed, Proceeding, Trying } = TransactionState;

/** The diagram above as a table of allowed predecessors (Terminated is reachable from every other state). */
const TRANSITIONS: TransitionTable = {
  [Proceeding]: [Trying],
  [Completed]: [Trying, Proceeding],
};

export class NonInviteServerTransaction extends Transaction<"J"> {
  #lastResponse: SipResponse | undefined;

  /**
   * §17.2.2: "The state machine is initialized in the 'Trying' state and is passed a request other than INVITE or ACK
   * when initialized."
   * @throws {TypeError} for INVITE or ACK.
   */
  constructor(request: SipRequest, options: TransactionOptions, user: ServerTransactionUser = {}) {
    if (request.method === "INVITE" || request.method === "ACK") {
      throw new TypeError(`request.method must not be ${request.method} for a non-INVITE server transaction`);
    }
    super("non-INVITE server transaction", TRANSITIONS, serverTransactionId(request), request, Trying, options, user);
  }

  /** The last response sent. */
  get lastResponse(): SipResponse | undefined {
    return this.#lastResponse;
  }

  /**
   * Sends a response from the TU.
   * @throws {TransactionStateError} once a final response was sent.
   */
  respond(response: SipResponse): void {
    const status = response.status;
    if (!this.inState(Trying, Proceeding)) {
      // §17.2.2: "Any other final responses passed by the TU to the server transaction MUST be discarded while in
      // the 'Completed' state." Reported to the caller as a programming error.
      throw new TransactionStateError("non-INVITE server transaction", this.state, `respond ${status}`);
    }
    this.#lastResponse = response;
    this.send(response);
    if (status < 200) {
      // §17.2.2: "While in the 'Trying' state, if the TU passes a provisional response to the server transaction, the
      // server transaction MUST enter the 'Proceeding' state." Further provisionals are sent.
      if (this.state === Trying) {
        this.stateTransition(Proceeding);
      }
    } else {
      // §17.2.2: "If the TU passes a final response (status codes 200-699) to the server while in the 'Proceeding'
      // state, the transaction MUST enter the 'Completed' state, and the response MUST be passed to the transport
      // layer for transmission." Likewise from 'Trying'.
      this.stateTransition(Completed);
    }
  }

  /** Feeds a retransmission of the request. */
  receiveRequest(_request: SipRequest): void {
    // §17.2.2: "If a retransmission of the request is received while in the 'Proceeding' state, the most recently
    // sent provisional response MUST be passed to the transport layer for retransmission." and "While in the
    // 'Completed' state, the server transaction MUST pass the final response to the transport layer for
    // retransmission whenever a retransmission of the request is received." In 'Trying' they are discarded.
    if (this.inState(Proceeding, Completed) && this.#lastResponse) {
      this.send(this.#lastResponse);
    }
  }

  /** Timer work of each state (called by the base's validated `stateTransition`). */
  protected enter(state: TransactionState): void {
    if (state === Completed) {
      // §17.2.2: "When the server transaction enters the 'Completed' state, it MUST set Timer J to fire in 64*T1
      // seconds for unreliable transports, and zero seconds for reliable transports." "When timer J fires, the server
      // transaction MUST transition to the 'Terminated' state."
      this.terminateAfter("J", this.timers.TIMER_J, [Completed]);
    }
  }
}
