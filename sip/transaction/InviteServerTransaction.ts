/**
 * INVITE server transaction (RFC 3261 §17.2.1, updated by RFC 6026 §8.5–§8.7 with the Accepted state and Timer L).
 *
 * ```
 *                               |INVITE
 *                               |pass INV to TU
 *            INVITE             V send 100 if TU won't in 200 ms
 *            send response+------------+
 *                +--------|            |--------+ 101-199 from TU
 *                |        |  Proceeding|        | send response
 *                +------->|            |<-------+
 *                         |            |          Transport Err.
 *                         |            |          Inform TU
 *                         |            |--------------->+
 *                         +------------+                |
 *            300-699 from TU |     |2xx from TU         |
 *            send response   |     |send response       |
 *                            |     +------------------+ |
 *                            |                        | |
 *            INVITE          V          Timer G fires | |
 *            send response+-----------+ send response | |
 *                +--------|           |--------+      | |
 *                |        | Completed |        |      | |
 *                +------->|           |<-------+      | |
 *                         +-----------+               | |
 *                           |     |                   | |
 *                       ACK |     |                   | |
 *                       -   |     +------------------>+ |
 *                           |        Timer H fires    | |
 *                           V        or Transport Err.| |
 *                         +-----------+  Inform TU    | |
 *                         |           |               | |
 *                         | Confirmed |               | |
 *                         |           |               | |
 *                         +-----------+               | |
 *                               |                     | |
 *                               |Timer I fires        | |
 *                               |-                    | |
 *                               |                     | |
 *                               V                     | |
 *                         +-----------+               | |
 *                         |           |               | |
 *                         | Terminated|<--------------+ |
 *                         |           |                 |
 *                         +-----------+                 |
 *                               ^     Timer L fires     |
 *                               |  +-----------+        |
 *                               +--| Accepted  |<-------+
 *                                  +-----------+ 2xx from TU: send; ACK: to TU; INVITE: absorb
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17.2.1
 * @see https://www.rfc-editor.org/rfc/rfc6026#section-8.5
 */

import { TransactionStateError } from "../errors.js";
import { createResponse } from "../message/responses.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { serverTransactionId } from "./matching.js";
import {
  Transaction,
  type ServerTransactionUser,
  type TransactionOptions,
  type TransitionTable,
} from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

type TimerName = "Trying" | "G" | "H" | "I" | "L";

const { Accepted, Completed, Confirmed, Proceeding } = TransactionState;

/** The diagram above as a table of allowed predecessors (Terminated is reachable from every other state). */
const TRANSITIONS: TransitionTable = {
  [Accepted]: [Proceeding],
  [Completed]: [Proceeding],
  [Confirmed]: [Completed],
};

export class InviteServerTransaction extends Transaction<TimerName> {
  readonly #user: ServerTransactionUser;
  #lastResponse: SipResponse | undefined;

  /**
   * Creates the transaction for a received INVITE.
   * §17.2.1: "When a server transaction is constructed for a request, it enters the 'Proceeding' state. The server
   * transaction MUST generate a 100 (Trying) response unless it knows that the TU will generate a provisional or
   * final response within 200 ms". The 100 is sent by a timer if the TU has not responded by then.
   */
  constructor(request: SipRequest, options: TransactionOptions, user: ServerTransactionUser = {}) {
    if (request.method !== "INVITE") {
      throw new TypeError("request.method must be INVITE for an INVITE server transaction");
    }
    super("INVITE server transaction", TRANSITIONS, serverTransactionId(request), request, Proceeding, options, user);
    this.#user = user;
    this.timer.start("Trying", this.timers.TRYING_DELAY, () => {
      if (this.state === Proceeding && this.#lastResponse === undefined) {
        this.respond(createResponse(this.request, 100));
      }
    });
  }

  /** The last response sent (what retransmissions repeat). */
  get lastResponse(): SipResponse | undefined {
    return this.#lastResponse;
  }

  /**
   * Sends a response from the TU.
   * @throws {TransactionStateError} when the state does not allow that response (e.g. a second final response).
   */
  respond(response: SipResponse): void {
    const status = response.status;
    this.timer.stop("Trying");
    switch (this.state) {
      case Proceeding:
        // §17.2.1: "The TU passes any number of provisional responses to the server transaction. So long as the
        // server transaction is in the 'Proceeding' state, each of these MUST be passed to the transport layer".
        // RFC 6026 §8.5: "If, while in the 'Proceeding' state, the TU passes a 2xx response to the server
        // transaction, the server transaction MUST pass this response to the transport layer for transmission ...
        // The server transaction MUST then transition to the 'Accepted' state." §17.2.1: "While in the 'Proceeding'
        // state, if the TU passes a response with status code from 300 to 699 to the server transaction, the
        // response MUST be passed to the transport layer for transmission, and the state machine MUST enter the
        // 'Completed' state."
        this.#lastResponse = response;
        this.send(response);
        if (status >= 200) {
          this.stateTransition(status < 300 ? Accepted : Completed);
        }
        return;
      case Accepted:
        // RFC 6026 §8.6: "While in the 'Accepted' state, any 2xx responses passed from the TU MUST be passed to the
        // transport layer for transmission" (the TU retransmits its 2xx, RFC 3261 §13.3.1.4).
        if (status >= 200 && status < 300) {
          this.send(response);
          return;
        }
        throw new TransactionStateError("INVITE server transaction", this.state, `respond ${status}`);
      default:
        throw new TransactionStateError("INVITE server transaction", this.state, `respond ${status}`);
    }
  }

  /** Feeds a request matched to this transaction: an INVITE retransmission or the ACK. */
  receiveRequest(request: SipRequest): void {
    if (request.method === "INVITE") {
      // §17.2.1: "If a request retransmission is received while in the 'Proceeding' state, the most recent
      // provisional response that was received from the TU MUST be passed to the transport layer for
      // retransmission." and "while in the 'Completed' state ... the server SHOULD pass the response to the
      // transport for retransmission." RFC 6026 §8.7: "The server transaction MUST NOT generate 2xx retransmissions
      // on its own" and absorbs INVITE retransmissions in 'Accepted'; 'Confirmed' absorbs them too (§17.2.1).
      if (this.inState(Proceeding, Completed) && this.#lastResponse) {
        this.send(this.#lastResponse);
      }
      return;
    }
    if (request.method === "ACK") {
      if (this.state === Completed) {
        // §17.2.1: "If an ACK is received while the server transaction is in the 'Completed' state, the server
        // transaction MUST transition to the 'Confirmed' state."
        this.stateTransition(Confirmed);
      } else if (this.state === Accepted) {
        // RFC 6026 §8.7: "the ACK must be passed directly to the TU" (it acknowledges the 2xx).
        this.callUser("onAck", () => this.#user.onAck?.(request));
      }
      // §17.2.1: in 'Confirmed' further ACKs are absorbed.
    }
  }

  /** Timer work of each state (called by the base's validated `stateTransition`). */
  protected enter(state: TransactionState): void {
    switch (state) {
      case Accepted:
        // RFC 6026 §8.5: "...transition to the 'Accepted' state. It MUST also set Timer L to 64*T1." §8.7: "If Timer
        // L fires while the INVITE server transaction is in the 'Accepted' state, the transaction MUST transition to
        // the 'Terminated' state."
        this.terminateAfter("L", this.timers.TIMER_L, [Accepted]);
        return;
      case Completed:
        // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds, and is not set to fire for
        // reliable transports." "If timer G fires, the response is passed to the transport layer once more for
        // retransmission, and timer G is set to fire in MIN(2*T1, T2) seconds ... unless that value exceeds T2".
        if (!this.reliable) {
          const T2 = this.timers.T2;
          this.retransmit(
            "G",
            this.timers.TIMER_G,
            () => this.#lastResponse,
            (i) => Math.min(2 * i, T2),
            [Completed],
          );
        }
        // §17.2.1: "When the 'Completed' state is entered, timer H MUST be set to fire in 64*T1 seconds for all
        // transports." "If timer H fires while in the 'Completed' state, it implies that the ACK was never received.
        // In this case, the server transaction MUST transition to the 'Terminated' state, and MUST indicate to the TU
        // that a transaction failure has occurred."
        this.terminateAfter("H", this.timers.TIMER_H, [Completed], () =>
          this.callUser("onTimeout", () => this.#user.onTimeout?.()),
        );
        return;
      case Confirmed:
        // §17.2.1: "The purpose of the 'Confirmed' state is to absorb any additional ACK messages ... When this
        // state is entered, timer I is set to fire in T4 seconds for unreliable transports, and zero seconds for
        // reliable transports." Timers G and H stop: the ACK arrived. "Once timer I fires, the server MUST
        // transition to the 'Terminated' state."
        this.timer.stop("G");
        this.timer.stop("H");
        this.terminateAfter("I", this.timers.TIMER_I, [Confirmed]);
        return;
      default:
        return;
    }
  }
}
