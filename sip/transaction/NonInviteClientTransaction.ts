/**
 * Non-INVITE client transaction (RFC 3261 §17.1.2).
 *
 * ```
 *                        |Request from TU
 *                        |send request
 *    Timer E             V
 *    send request  +-----------+
 *        +---------|           |-------------------+
 *        |         |  Trying   |  Timer F          |
 *        +-------->|           |  or Transport Err.|
 *                  +-----------+  inform TU        |
 *     200-699         |  |                         |
 *     resp. to TU     |  |1xx                      |
 *     +---------------+  |resp. to TU              |
 *     |                  |                         |
 *     |   Timer E        V       Timer F           |
 *     |   send req +-----------+ or Transport Err. |
 *     |  +---------|           | inform TU         |
 *     |  |         |Proceeding |------------------>|
 *     |  +-------->|           |-----+             |
 *     |            +-----------+     |1xx          |
 *     |              |      ^        |resp to TU   |
 *     | 200-699      |      +--------+             |
 *     | resp. to TU  |                             |
 *     |              |                             |
 *     |              V                             |
 *     |            +-----------+                   |
 *     |            |           |                   |
 *     |            | Completed |                   |
 *     |            |           |                   |
 *     |            +-----------+                   |
 *     |              ^   |                         |
 *     |              |   | Timer K                 |
 *     +--------------+   | -                       |
 *                        |                         |
 *                        V                         |
 *                  +-----------+                   |
 *                  |           |                   |
 *                  | Terminated|<------------------+
 *                  |           |
 *                  +-----------+
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17.1.2
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { clientTransactionId } from "./matching.js";
import {
  Transaction,
  type ClientTransactionUser,
  type TransactionOptions,
  type TransitionTable,
} from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

type TimerName = "E" | "F" | "K";

const { Completed, Proceeding, Trying } = TransactionState;

/** The diagram above as a table of allowed predecessors (Terminated is reachable from every other state). */
const TRANSITIONS: TransitionTable = {
  [Proceeding]: [Trying],
  [Completed]: [Trying, Proceeding],
};

export class NonInviteClientTransaction extends Transaction<TimerName> {
  readonly #user: ClientTransactionUser;

  /**
   * Creates the transaction and sends the request.
   * §17.1.2.2: "The 'Trying' state is entered when the TU initiates a new client transaction with a request. When
   * entering this state, the client transaction SHOULD set timer F to fire in 64*T1 seconds. The request MUST be
   * passed to the transport layer for transmission. If an unreliable transport is in use, the client transaction
   * MUST set timer E to fire in T1 seconds."
   * @throws {TypeError} for INVITE or ACK requests (they have their own handling).
   */
  constructor(request: SipRequest, options: TransactionOptions, user: ClientTransactionUser = {}) {
    if (request.method === "INVITE" || request.method === "ACK") {
      throw new TypeError(`request.method must not be ${request.method} for a non-INVITE client transaction`);
    }
    super("non-INVITE client transaction", TRANSITIONS, clientTransactionId(request), request, Trying, options, user);
    this.#user = user;
    // §17.1.2.2: "If Timer F fires while the client transaction is still in the 'Trying' state, the client
    // transaction SHOULD inform the TU about the timeout, and then it SHOULD enter the 'Terminated' state." Same in
    // 'Proceeding'.
    this.terminateAfter("F", this.timers.TIMER_F, [Trying, Proceeding], () =>
      this.callUser("onRequestTimeout", () => this.#user.onRequestTimeout?.()),
    );
    this.send(request);
    // §17.1.2.2: "If timer E fires while still in this state [Trying], the timer is reset, but this time with a value
    // of MIN(2*T1, T2) ... If Timer E fires while in the 'Proceeding' state, the request MUST be passed to the
    // transport layer for retransmission, and Timer E MUST be reset with a value of T2 seconds."
    if (!this.reliable) {
      const T2 = this.timers.T2;
      this.retransmit(
        "E",
        this.timers.TIMER_E,
        () => this.request,
        (i) => (this.state === Trying ? Math.min(2 * i, T2) : T2),
        [Trying, Proceeding],
      );
    }
  }

  /** Feeds a response matched to this transaction. */
  receiveResponse(response: SipResponse): void {
    if (!this.inState(Trying, Proceeding)) {
      // §17.1.2.2: in 'Completed' the transaction "buffer[s] any additional response retransmissions that may be
      // received"; they are not passed to the TU.
      return;
    }
    if (response.status < 200) {
      // §17.1.2.2: "If a provisional response is received while in the 'Trying' state, the response MUST be passed
      // to the TU, and then the client transaction SHOULD move to the 'Proceeding' state."
      if (this.state === Trying) {
        this.stateTransition(Proceeding);
      }
    } else {
      // §17.1.2.2: "If a final response (status codes 200-699) is received while in the 'Trying' state, the response
      // MUST be passed to the TU, and the client transaction MUST transition to the 'Completed' state."
      this.stateTransition(Completed);
    }
    this.callUser("receiveResponse", () => this.#user.receiveResponse?.(response));
  }

  /** Timer work of each state (called by the base's validated `stateTransition`). */
  protected enter(state: TransactionState): void {
    // 'Proceeding': Timer E keeps running (reset to T2 when it fires); Timer F keeps running too.
    if (state === Completed) {
      this.timer.stop("E");
      this.timer.stop("F");
      // §17.1.2.2: "Once the client transaction enters the 'Completed' state, it MUST set Timer K to fire in T4
      // seconds for unreliable transports, and zero seconds for reliable transports." and "If Timer K fires while in
      // this state, the client transaction MUST transition to the 'Terminated' state."
      this.terminateAfter("K", this.timers.TIMER_K, [Completed]);
    }
  }
}
