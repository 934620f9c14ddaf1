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
import { TimerSet, Transaction, type ServerTransactionUser, type TransactionOptions } from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

type TimerName = "Trying" | "G" | "H" | "I" | "L";

export class InviteServerTransaction extends Transaction {
  readonly #user: ServerTransactionUser;
  readonly #timers: TimerSet<TimerName>;
  #lastResponse: SipResponse | undefined;
  #timerGInterval: number;

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
    super(serverTransactionId(request), request, TransactionState.Proceeding, options, user);
    this.#user = user;
    this.#timers = new TimerSet(this.clock);
    this.#timerGInterval = this.timers.TIMER_G;
    this.#timers.start("Trying", this.timers.TRYING_DELAY, () => {
      if (this.state === TransactionState.Proceeding && this.#lastResponse === undefined) {
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
    this.#timers.stop("Trying");
    switch (this.state) {
      case TransactionState.Proceeding:
        if (status < 200) {
          // §17.2.1: "The TU passes any number of provisional responses to the server transaction. So long as the
          // server transaction is in the 'Proceeding' state, each of these MUST be passed to the transport layer".
          this.#lastResponse = response;
          this.send(response);
        } else if (status < 300) {
          // RFC 6026 §8.5: "If, while in the 'Proceeding' state, the TU passes a 2xx response to the server
          // transaction, the server transaction MUST pass this response to the transport layer for transmission ...
          // The server transaction MUST then transition to the 'Accepted' state."
          this.#lastResponse = response;
          this.send(response);
          this.#stateTransition(TransactionState.Accepted);
        } else {
          // §17.2.1: "While in the 'Proceeding' state, if the TU passes a response with status code from 300 to 699
          // to the server transaction, the response MUST be passed to the transport layer for transmission, and the
          // state machine MUST enter the 'Completed' state."
          this.#lastResponse = response;
          this.send(response);
          this.#stateTransition(TransactionState.Completed);
        }
        return;
      case TransactionState.Accepted:
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
      switch (this.state) {
        case TransactionState.Proceeding:
        case TransactionState.Completed:
          // §17.2.1: "If a request retransmission is received while in the 'Proceeding' state, the most recent
          // provisional response that was received from the TU MUST be passed to the transport layer for
          // retransmission." and "while in the 'Completed' state ... the server SHOULD pass the response to the
          // transport for retransmission."
          if (this.#lastResponse) {
            this.send(this.#lastResponse);
          }
          return;
        default:
          // RFC 6026 §8.7: "The server transaction MUST NOT generate 2xx retransmissions on its own" and absorbs
          // INVITE retransmissions in 'Accepted'; 'Confirmed' absorbs them too (§17.2.1).
          return;
      }
    }
    if (request.method === "ACK") {
      switch (this.state) {
        case TransactionState.Completed:
          // §17.2.1: "If an ACK is received while the server transaction is in the 'Completed' state, the server
          // transaction MUST transition to the 'Confirmed' state."
          this.#stateTransition(TransactionState.Confirmed);
          return;
        case TransactionState.Accepted:
          // RFC 6026 §8.7: "the ACK must be passed directly to the TU" (it acknowledges the 2xx).
          try {
            this.#user.onAck?.(request);
          } catch (error) {
            this.logger.error("transaction user threw in onAck", { id: this.id, error });
          }
          return;
        default:
          // §17.2.1: in 'Confirmed' further ACKs are absorbed.
          return;
      }
    }
  }

  /**
   * The only place that changes state and owns the timers.
   * @throws {TransactionStateError} for a transition the diagram does not have.
   */
  #stateTransition(newState: TransactionState): void {
    const invalid = (): TransactionStateError =>
      new TransactionStateError("INVITE server transaction", this.state, newState);
    switch (newState) {
      case TransactionState.Accepted:
        if (this.state !== TransactionState.Proceeding) {
          throw invalid();
        }
        // RFC 6026 §8.5: "...transition to the 'Accepted' state. It MUST also set Timer L to 64*T1."
        this.#timers.start("L", this.timers.TIMER_L, () => this.#timerL());
        break;
      case TransactionState.Completed:
        if (this.state !== TransactionState.Proceeding) {
          throw invalid();
        }
        // §17.2.1: "For unreliable transports, timer G is set to fire in T1 seconds, and is not set to fire for
        // reliable transports." and "When the 'Completed' state is entered, timer H MUST be set to fire in 64*T1
        // seconds for all transports."
        if (!this.reliable) {
          this.#timers.start("G", this.#timerGInterval, () => this.#timerG());
        }
        this.#timers.start("H", this.timers.TIMER_H, () => this.#timerH());
        break;
      case TransactionState.Confirmed:
        if (this.state !== TransactionState.Completed) {
          throw invalid();
        }
        // §17.2.1: "The purpose of the 'Confirmed' state is to absorb any additional ACK messages ... When this
        // state is entered, timer I is set to fire in T4 seconds for unreliable transports, and zero seconds for
        // reliable transports." Timers G and H stop: the ACK arrived.
        this.#timers.stop("G");
        this.#timers.stop("H");
        this.#timers.start("I", this.timers.TIMER_I, () => this.#timerI());
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

  /**
   * §17.2.1: "If timer G fires, the response is passed to the transport layer once more for retransmission, and timer
   * G is set to fire in MIN(2*T1, T2) seconds. From then on, when timer G fires, the response is passed to the
   * transport again for transmission, and timer G is reset with a value that doubles, unless that value exceeds T2,
   * in which case it is reset with the value of T2."
   */
  #timerG(): void {
    if (this.state !== TransactionState.Completed || !this.#lastResponse) {
      return;
    }
    this.send(this.#lastResponse);
    this.#timerGInterval = Math.min(2 * this.#timerGInterval, this.timers.T2);
    this.#timers.start("G", this.#timerGInterval, () => this.#timerG());
  }

  /**
   * §17.2.1: "If timer H fires while in the 'Completed' state, it implies that the ACK was never received. In this
   * case, the server transaction MUST transition to the 'Terminated' state, and MUST indicate to the TU that a
   * transaction failure has occurred."
   */
  #timerH(): void {
    if (this.state !== TransactionState.Completed) {
      return;
    }
    this.#stateTransition(TransactionState.Terminated);
    try {
      this.#user.onTimeout?.();
    } catch (error) {
      this.logger.error("transaction user threw in onTimeout", { id: this.id, error });
    }
  }

  /** §17.2.1: "Once timer I fires, the server MUST transition to the 'Terminated' state." */
  #timerI(): void {
    if (this.state === TransactionState.Confirmed) {
      this.#stateTransition(TransactionState.Terminated);
    }
  }

  /** RFC 6026 §8.7: "If Timer L fires while the INVITE server transaction is in the 'Accepted' state, the
   * transaction MUST transition to the 'Terminated' state." */
  #timerL(): void {
    if (this.state === TransactionState.Accepted) {
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
