/**
 * INVITE client transaction (RFC 3261 §17.1.1, updated by RFC 6026 §8.4 with the Accepted state and Timer M).
 *
 * ```
 *                    |INVITE from TU
 *  Timer A fires     |INVITE sent          Timer B fires
 *  Reset A,          V                     or Transport Err.
 *  INVITE sent +-----------+               inform TU
 *    +---------|           |---------------------------+
 *    |         |  Calling  |                           |
 *    +-------->|           |-----------+               |
 *  300-699     +-----------+ 2xx       |               |
 *  ACK sent       |  |     2xx to TU   |               |
 *  resp. to TU    |  |1xx              |               |
 *  +--------------+  |1xx to TU        |               |
 *  |                 V                 V               |
 *  |           +-----------+     +-----------+         |
 *  |           |Proceeding |---->| Accepted  |<--+ 2xx |
 *  |           +-----------+ 2xx +-----------+---+ to TU
 *  |  300-699     |               Timer M |            |
 *  |  ACK sent,   |                fires  |            |
 *  |  resp. to TU |                       |            |
 *  V              V                       |            |
 *  +-----------+                          |            |
 *  | Completed |<-- 300-699 / ACK sent    |            |
 *  +-----------+                          |            |
 *     | Timer D fires                     |            |
 *     V                                   V            |
 *  +----------------------------------------------+    |
 *  |                  Terminated                   |<---+
 *  +----------------------------------------------+
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17.1.1
 * @see https://www.rfc-editor.org/rfc/rfc6026#section-8.4
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { clientTransactionId } from "./matching.js";
import { createNon2xxAck } from "./requests.js";
import {
  Transaction,
  type ClientTransactionUser,
  type TransactionOptions,
  type TransitionTable,
} from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

type TimerName = "A" | "B" | "C" | "D" | "M";

/** Options of an INVITE client transaction. */
export interface InviteClientTransactionOptions extends TransactionOptions {
  /**
   * Run Timer C (RFC 3261 §16.6 bullet 11, §16.7 step 2), the proxy guard against an INVITE that rings forever. A
   * B2BUA leg uses it as its no-answer limit; the TU gets {@link ClientTransactionUser.onTimerC} and decides.
   */
  readonly timerC?: boolean;
}

const { Accepted, Calling, Completed, Proceeding } = TransactionState;

/** The diagram above as a table of allowed predecessors (Terminated is reachable from every other state). */
const TRANSITIONS: TransitionTable = {
  [Proceeding]: [Calling],
  [Accepted]: [Calling, Proceeding],
  [Completed]: [Calling, Proceeding],
};

export class InviteClientTransaction extends Transaction<TimerName> {
  readonly #user: ClientTransactionUser;
  #ack: SipRequest | undefined;
  readonly #timerCEnabled: boolean;
  #provisionalReceived = false;

  /**
   * Creates the transaction and sends the INVITE.
   * §17.1.1.2: "The initial state, 'calling', MUST be entered when the TU initiates a new client transaction with an
   * INVITE request. The client transaction MUST pass the request to the transport layer for transmission."
   */
  constructor(request: SipRequest, options: InviteClientTransactionOptions, user: ClientTransactionUser = {}) {
    super("INVITE client transaction", TRANSITIONS, clientTransactionId(request), request, Calling, options, user);
    this.#user = user;
    this.#timerCEnabled = options.timerC === true;
    this.send(request);
    // §17.1.1.2: "If an unreliable transport is being used, the client transaction MUST start timer A with a value
    // of T1. If a reliable transport is being used, the client transaction SHOULD NOT start timer A." and "When timer
    // A fires, the client transaction MUST retransmit the request by passing it to the transport layer, and MUST reset
    // the timer with a value of 2*T1 ... This process MUST continue so that the request is retransmitted with
    // intervals that double after each transmission." (only while 'Calling').
    if (!this.reliable) {
      this.retransmit(
        "A",
        this.timers.TIMER_A,
        () => this.request,
        (i) => 2 * i,
        [Calling],
      );
    }
    // §17.1.1.2: "For any transport, the client transaction MUST start timer B with a value of 64*T1 seconds." and
    // "If the client transaction is still in the 'Calling' state when timer B fires, the client transaction SHOULD
    // inform the TU that a timeout has occurred. The client transaction MUST NOT generate an ACK."
    this.terminateAfter("B", this.timers.TIMER_B, [Calling], () =>
      this.callUser("onRequestTimeout", () => this.#user.onRequestTimeout?.()),
    );
    // §16.6 bullet 11: "If the request is an INVITE, the proxy MUST set Timer C" when it forwards the request.
    if (this.#timerCEnabled) {
      this.#startTimerC();
    }
  }

  /** The ACK this transaction generated for a non-2xx final response, once there is one. */
  get ack(): SipRequest | undefined {
    return this.#ack;
  }

  /** Feeds a response matched to this transaction (see `responseTransactionId`). */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case Calling:
      case Proceeding: {
        if (status < 200) {
          // §17.1.1.2: "If the client transaction receives a provisional response while in the 'Calling' state, it
          // transitions to the 'Proceeding' state ... Furthermore, the provisional response MUST be passed to the TU.
          // Any further provisional responses MUST be passed up to the TU while in the 'Proceeding' state."
          if (this.state === Calling) {
            this.stateTransition(Proceeding);
          }
          // §16.7 step 2: "If the response is a provisional response other than 100 ... for INVITE, the proxy MUST
          // reset timer C" (SIP.js and most stacks reset it on any 101–199).
          if (this.#timerCEnabled && status > 100) {
            this.#provisionalReceived = true;
            this.#startTimerC();
          }
          this.#toUser(response);
        } else if (status < 300) {
          // RFC 6026 §8.4: "If a 2xx response is received while the client INVITE state machine is in the 'Calling'
          // or 'Proceeding' states, it MUST transition to the 'Accepted' state, pass the 2xx response to the TU, and
          // set Timer M to 64*T1."
          this.stateTransition(Accepted);
          this.#toUser(response);
        } else {
          // §17.1.1.2: "When in either the 'Calling' or 'Proceeding' states, reception of a response with status
          // code from 300-699 MUST cause the client transaction to transition to 'Completed'. The client
          // transaction MUST pass the received response up to the TU, and the client transaction MUST generate an
          // ACK request, even if the transport is reliable".
          this.#ack = createNon2xxAck(this.request, response);
          this.stateTransition(Completed);
          this.send(this.#ack);
          this.#toUser(response);
        }
        return;
      }
      case Accepted: {
        // RFC 6026 §8.4: "Any 2xx responses that match this client transaction and that are received while in the
        // 'Accepted' state MUST be passed up to the TU. The client transaction MUST NOT generate an ACK to the 2xx
        // response -- its handling is delegated to the TU."
        if (status >= 200 && status < 300) {
          this.#toUser(response);
        }
        return;
      }
      case Completed: {
        // §17.1.1.2: "Any retransmissions of the final response that are received while in the 'Completed' state
        // MUST cause the ACK to be re-passed to the transport layer for retransmission, but the newly received
        // response MUST NOT be passed up to the TU."
        if (status >= 300 && this.#ack) {
          this.send(this.#ack);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Timer work of each state (called by the base's validated `stateTransition`). */
  protected enter(state: TransactionState): void {
    switch (state) {
      case Proceeding:
        // §17.1.1.2: "In the 'Proceeding' state, the client transaction SHOULD NOT retransmit the request any
        // longer", and Timer B only guards the 'Calling' state ("If the client transaction is still in the
        // 'Calling' state when timer B fires").
        this.timer.stop("A");
        this.timer.stop("B");
        return;
      case Accepted:
        this.timer.stop("A");
        this.timer.stop("B");
        this.timer.stop("C");
        // RFC 6026 §8.4: "set Timer M to 64*T1" and "If Timer M fires and the state machine is in the 'Accepted'
        // state, the machine MUST transition to the 'Terminated' state."
        this.terminateAfter("M", this.timers.TIMER_M, [Accepted]);
        return;
      case Completed:
        this.timer.stop("A");
        this.timer.stop("B");
        // §16.7 step 2: a final response ends Timer C.
        this.timer.stop("C");
        // §17.1.1.2: "The client transaction SHOULD start timer D when it enters the 'Completed' state, with a value
        // of at least 32 seconds for unreliable transports, and a value of zero seconds for reliable transports."
        // and "If timer D fires while the client transaction is in the 'Completed' state, the client transaction
        // MUST move to the terminated state."
        this.terminateAfter("D", this.timers.TIMER_D, [Completed]);
        return;
      default:
        return;
    }
  }

  #toUser(response: SipResponse): void {
    this.callUser("receiveResponse", () => this.#user.receiveResponse?.(response));
  }

  /**
   * Timer C fired while no final response arrived (RFC 3261 §16.8). The machine does not change state: the TU either
   * sends a CANCEL (after a provisional) or behaves as if a 408 arrived, and the transaction ends normally.
   */
  #startTimerC(): void {
    this.timer.start("C", this.timers.TIMER_C, () => {
      if (this.inState(Calling, Proceeding)) {
        this.callUser("onTimerC", () => this.#user.onTimerC?.(this.#provisionalReceived));
      }
    });
  }
}
