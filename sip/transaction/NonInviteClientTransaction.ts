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

import { TransactionStateError } from "../errors.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { clientTransactionId } from "./matching.js";
import { TimerSet, Transaction, type ClientTransactionUser, type TransactionOptions } from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

type TimerName = "E" | "F" | "K";

export class NonInviteClientTransaction extends Transaction {
  readonly #user: ClientTransactionUser;
  readonly #timers: TimerSet<TimerName>;
  #timerEInterval: number;

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
    super(clientTransactionId(request), request, TransactionState.Trying, options, user);
    this.#user = user;
    this.#timers = new TimerSet(this.clock);
    this.#timerEInterval = this.timers.TIMER_E;
    this.#timers.start("F", this.timers.TIMER_F, () => this.#timerF());
    this.send(request);
    if (!this.reliable) {
      this.#timers.start("E", this.#timerEInterval, () => this.#timerE());
    }
  }

  /** Feeds a response matched to this transaction. */
  receiveResponse(response: SipResponse): void {
    const status = response.status;
    switch (this.state) {
      case TransactionState.Trying:
      case TransactionState.Proceeding:
        if (status < 200) {
          // §17.1.2.2: "If a provisional response is received while in the 'Trying' state, the response MUST be
          // passed to the TU, and then the client transaction SHOULD move to the 'Proceeding' state."
          if (this.state === TransactionState.Trying) {
            this.#stateTransition(TransactionState.Proceeding);
          }
        } else {
          // §17.1.2.2: "If a final response (status codes 200-699) is received while in the 'Trying' state, the
          // response MUST be passed to the TU, and the client transaction MUST transition to the 'Completed' state."
          this.#stateTransition(TransactionState.Completed);
        }
        this.#toUser(response);
        return;
      default:
        // §17.1.2.2: in 'Completed' the transaction "buffer[s] any additional response retransmissions that may be
        // received"; they are not passed to the TU.
        return;
    }
  }

  /**
   * The only place that changes state and owns the timers.
   * @throws {TransactionStateError} for a transition the diagram does not have.
   */
  #stateTransition(newState: TransactionState): void {
    const invalid = (): TransactionStateError =>
      new TransactionStateError("non-INVITE client transaction", this.state, newState);
    switch (newState) {
      case TransactionState.Proceeding:
        if (this.state !== TransactionState.Trying) {
          throw invalid();
        }
        // Timer E keeps running in 'Proceeding' (reset to T2 when it fires); Timer F keeps running too.
        break;
      case TransactionState.Completed:
        if (this.state !== TransactionState.Trying && this.state !== TransactionState.Proceeding) {
          throw invalid();
        }
        this.#timers.stop("E");
        this.#timers.stop("F");
        // §17.1.2.2: "Once the client transaction enters the 'Completed' state, it MUST set Timer K to fire in T4
        // seconds for unreliable transports, and zero seconds for reliable transports."
        this.#timers.start("K", this.timers.TIMER_K, () => this.#timerK());
        break;
      case TransactionState.Terminated:
        if (this.state === TransactionState.Terminated) {
          throw invalid();
        }
        this.#timers.stopAll();
        break;
      default:
        throw invalid();
    }
    this.setState(newState);
  }

  #toUser(response: SipResponse): void {
    try {
      this.#user.receiveResponse?.(response);
    } catch (error) {
      this.logger.error("transaction user threw in receiveResponse", { id: this.id, error });
    }
  }

  /**
   * §17.1.2.2: "If timer E fires while still in this state [Trying], the timer is reset, but this time with a value of
   * MIN(2*T1, T2) ... If Timer E fires while in the 'Proceeding' state, the request MUST be passed to the transport
   * layer for retransmission, and Timer E MUST be reset with a value of T2 seconds."
   */
  #timerE(): void {
    if (this.state === TransactionState.Trying) {
      this.send(this.request);
      this.#timerEInterval = Math.min(2 * this.#timerEInterval, this.timers.T2);
    } else if (this.state === TransactionState.Proceeding) {
      this.send(this.request);
      this.#timerEInterval = this.timers.T2;
    } else {
      return;
    }
    this.#timers.start("E", this.#timerEInterval, () => this.#timerE());
  }

  /**
   * §17.1.2.2: "If Timer F fires while the client transaction is still in the 'Trying' state, the client transaction
   * SHOULD inform the TU about the timeout, and then it SHOULD enter the 'Terminated' state." Same in 'Proceeding'.
   */
  #timerF(): void {
    if (this.state !== TransactionState.Trying && this.state !== TransactionState.Proceeding) {
      return;
    }
    this.#stateTransition(TransactionState.Terminated);
    try {
      this.#user.onRequestTimeout?.();
    } catch (error) {
      this.logger.error("transaction user threw in onRequestTimeout", { id: this.id, error });
    }
  }

  /** §17.1.2.2: "If Timer K fires while in this state [Completed], the client transaction MUST transition to the
   * 'Terminated' state." */
  #timerK(): void {
    if (this.state === TransactionState.Completed) {
      this.#stateTransition(TransactionState.Terminated);
    }
  }

  protected onTransportFailure(): void {
    this.#stateTransition(TransactionState.Terminated);
  }

  dispose(): void {
    if (this.state !== TransactionState.Terminated) {
      this.#stateTransition(TransactionState.Terminated);
    }
  }
}
