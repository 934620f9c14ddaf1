/**
 * The transaction layer (RFC 3261 §17): owns every live transaction, routes what a transport delivers to the
 * matching one, and tells the UA core (its transaction user) only about what is new.
 *
 * Inbound requests (§17.2.3): a request matching a server transaction is a retransmission and goes to that
 * transaction (which absorbs it or repeats its last response). A new INVITE or non-INVITE request gets a fresh
 * server transaction and is handed to the core. CANCEL gets its own non-INVITE transaction; the layer answers it
 * (200 when it matches an INVITE server transaction, §9.2, else 481) and tells the core only about a CANCEL that
 * arrived while the INVITE still waits for a final response. An ACK that matches no transaction acknowledges a 2xx
 * and belongs to the core (§17.2.3, RFC 6026 §8.7); so does the ACK passed up by an INVITE transaction in Accepted.
 *
 * Inbound responses (§17.1.3): matched by top-Via branch and CSeq method to a client transaction. A response that
 * matches none (a 2xx retransmitted after Timer M, a 2xx from a second fork) is passed to the core, which re-sends
 * its ACK or ends the extra dialog (§13.2.2.4).
 *
 * Bounded state: transactions are removed from the maps the moment they enter Terminated, and at most
 * `maxTransactions` may live at once; past that, new requests are answered statelessly with 503 and Retry-After
 * and new client transactions are refused.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17
 */

import { getLogger } from "../logger.js";
import { createResponse, generateTag } from "../message/responses.js";
import { SipRequest, type SipMessage, type SipResponse } from "../message/SipMessage.js";
import {
  responseDestination,
  type InboundMessage,
  type SipDestination,
  type SipTransport,
  type TransportProtocol,
} from "../transport/SipTransport.js";
import { InviteClientTransaction } from "./InviteClientTransaction.js";
import { InviteServerTransaction } from "./InviteServerTransaction.js";
import {
  cancelTargetId,
  clientTransactionId,
  isCancelFor,
  responseTransactionId,
  serverTransactionId,
} from "./matching.js";
import { NonInviteClientTransaction } from "./NonInviteClientTransaction.js";
import { NonInviteServerTransaction } from "./NonInviteServerTransaction.js";
import { systemClock, type Clock, type TimerBase } from "./timers.js";
import type { ClientTransactionUser, ServerTransactionUser } from "./Transaction.js";
import { TransactionState } from "./TransactionState.js";

/** A server transaction of either kind. */
export type ServerTransaction = InviteServerTransaction | NonInviteServerTransaction;
/** A client transaction of either kind. */
export type ClientTransaction = InviteClientTransaction | NonInviteClientTransaction;

/** What the layer reports to the UA core. */
export interface TransactionLayerCore {
  /**
   * A new request (neither ACK nor CANCEL) with the server transaction created for it; the core must answer through
   * `tx.respond()`.
   */
  onRequest(request: SipRequest, tx: ServerTransaction, source: SipDestination): void;
  /** The ACK of a 2xx (matched no transaction, or passed up by an INVITE transaction in Accepted). */
  onAck(ack: SipRequest, source: SipDestination): void;
  /**
   * A CANCEL matched an INVITE server transaction that has not sent a final response yet. The layer already
   * answered the CANCEL with 200; the core answers the INVITE (487, RFC 3261 §9.2).
   */
  onCancel(cancel: SipRequest, invite: InviteServerTransaction): void;
  /** A response that matches no client transaction (2xx retransmissions after Timer M, extra forks' 2xx). */
  onStrayResponse(response: SipResponse, source: SipDestination): void;
}

/** Options of {@link TransactionLayer}. */
export interface TransactionLayerOptions {
  /** One transport per protocol; a message goes out on the transport named by its destination. */
  readonly transports: readonly SipTransport[];
  /** Where the layer reports (the UA core). */
  readonly core: TransactionLayerCore;
  readonly clock?: Clock;
  readonly timerBase?: TimerBase;
  /** Most transactions (client + server) alive at once. Default 100000. */
  readonly maxTransactions?: number;
  /** Retry-After seconds on the overload 503. Default 5. */
  readonly overloadRetryAfter?: number;
}

/** Raised when a client transaction cannot be created (no transport for the destination, overload). */
export class TransactionLayerError extends Error {
  override readonly name = "TransactionLayerError";
}

export class TransactionLayer {
  readonly #transports = new Map<TransportProtocol, SipTransport>();
  readonly #core: TransactionLayerCore;
  readonly #clock: Clock;
  readonly #timerBase: TimerBase | undefined;
  readonly #max: number;
  readonly #retryAfter: number;
  readonly #server = new Map<string, ServerTransaction>();
  readonly #client = new Map<string, ClientTransaction>();
  readonly #logger = getLogger("sip:transaction-layer");

  constructor(options: TransactionLayerOptions) {
    for (const transport of options.transports) {
      this.#transports.set(transport.protocol, transport);
    }
    this.#core = options.core;
    this.#clock = options.clock ?? systemClock;
    this.#timerBase = options.timerBase;
    this.#max = options.maxTransactions ?? 100000;
    this.#retryAfter = options.overloadRetryAfter ?? 5;
  }

  /** Live server transactions (for tests and metrics). */
  get serverCount(): number {
    return this.#server.size;
  }

  /** Live client transactions (for tests and metrics). */
  get clientCount(): number {
    return this.#client.size;
  }

  /** The clock the layer's transactions run on. */
  get clock(): Clock {
    return this.#clock;
  }

  /** The transport that serves `protocol`, if any. */
  transport(protocol: TransportProtocol): SipTransport | undefined {
    return this.#transports.get(protocol);
  }

  /** Entry point for transports: everything they deliver comes here. Never throws. */
  receive(inbound: InboundMessage): void {
    try {
      if (inbound.message instanceof SipRequest) {
        this.#receiveRequest(inbound.message, inbound.source);
      } else {
        this.#receiveResponse(inbound.message, inbound.source);
      }
    } catch (error) {
      this.#logger.error("transaction layer failed on an inbound message", { error });
    }
  }

  /**
   * Starts a client transaction for `request` towards `destination` (RFC 3261 §17.1). INVITE gets an INVITE client
   * transaction, everything else but ACK a non-INVITE one.
   * @throws {TransactionLayerError} without a transport for the destination, or past `maxTransactions`.
   */
  request(
    request: SipRequest,
    destination: SipDestination,
    user: ClientTransactionUser,
    options: { readonly timerC?: boolean } = {},
  ): ClientTransaction {
    const transport = this.#transportFor(destination);
    if (this.#server.size + this.#client.size >= this.#max) {
      throw new TransactionLayerError("too many transactions");
    }
    const id = clientTransactionId(request);
    const wrapped = this.#reclaiming(user, () => {
      if (this.#client.get(id) === tx) {
        this.#client.delete(id);
      }
    });
    const txOptions = { transport, destination, clock: this.#clock, timerBase: this.#timerBase };
    const tx: ClientTransaction =
      request.method === "INVITE"
        ? new InviteClientTransaction(request, { ...txOptions, timerC: options.timerC }, wrapped)
        : new NonInviteClientTransaction(request, txOptions, wrapped);
    if (tx.state !== TransactionState.Terminated) {
      this.#client.set(id, tx);
    }
    return tx;
  }

  /**
   * Sends a message outside any transaction: the ACK of a 2xx (§13.2.2.4) and the UAS core's 2xx retransmissions
   * (§13.3.1.4), stateless responses. Transport failures are logged.
   */
  sendStateless(message: SipMessage, destination: SipDestination): void {
    const transport = this.#transports.get(destination.transport);
    if (transport === undefined) {
      this.#logger.warn("no transport for stateless send", { transport: destination.transport });
      return;
    }
    let sent: Promise<void>;
    try {
      sent = transport.send(message, destination);
    } catch (error) {
      sent = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    sent.catch((error: unknown) => {
      this.#logger.warn("stateless send failed", { error: error instanceof Error ? error.message : String(error) });
    });
  }

  /** Where responses to a request go: the source connection on reliable transports, else per Via (§18.2.2). */
  responseDestination(request: SipRequest, source: SipDestination): SipDestination {
    return source.transport === "UDP" ? responseDestination(request.topVia) : source;
  }

  /** Answers a request without a transaction (§8.2.6; used for ACK-less errors and overload). */
  respondStateless(
    request: SipRequest,
    source: SipDestination,
    status: number,
    headers: [string, string][] = [],
  ): void {
    if (request.method === "ACK") {
      return;
    }
    const response = createResponse(request, status, { toTag: generateTag() });
    for (const [name, value] of headers) {
      response.addHeader(name, value);
    }
    this.sendStateless(response, this.responseDestination(request, source));
  }

  /** Terminates every transaction (shutdown); their timers stop and the maps empty. */
  dispose(): void {
    for (const tx of [...this.#server.values(), ...this.#client.values()]) {
      tx.dispose();
    }
    this.#server.clear();
    this.#client.clear();
  }

  #transportFor(destination: SipDestination): SipTransport {
    const transport = this.#transports.get(destination.transport);
    if (transport === undefined) {
      throw new TransactionLayerError(`no ${destination.transport} transport`);
    }
    return transport;
  }

  /** Delegates every callback to `user` (prototype methods included) and runs `remove` on Terminated. */
  #reclaiming(
    user: ClientTransactionUser & ServerTransactionUser,
    remove: () => void,
  ): ClientTransactionUser & ServerTransactionUser {
    return {
      receiveResponse: (response) => user.receiveResponse?.(response),
      onRequestTimeout: () => user.onRequestTimeout?.(),
      onTimerC: (provisional) => user.onTimerC?.(provisional),
      onAck: (ack) => user.onAck?.(ack),
      onTimeout: () => user.onTimeout?.(),
      onTransportError: (error) => user.onTransportError?.(error),
      onStateChange: (state: TransactionState) => {
        if (state === TransactionState.Terminated) {
          remove();
        }
        user.onStateChange?.(state);
      },
    };
  }

  #receiveResponse(response: SipResponse, source: SipDestination): void {
    // §17.1.3: branch of the top Via plus CSeq method.
    const tx = this.#client.get(responseTransactionId(response));
    if (tx !== undefined) {
      tx.receiveResponse(response);
      return;
    }
    this.#core.onStrayResponse(response, source);
  }

  #receiveRequest(request: SipRequest, source: SipDestination): void {
    const id = serverTransactionId(request);
    const existing = this.#server.get(id);
    if (existing !== undefined) {
      // A retransmission, or the ACK of a non-2xx (same branch as the INVITE, §17.1.1.3).
      existing.receiveRequest(request);
      return;
    }
    if (request.method === "ACK") {
      // §17.2.3 / RFC 6026 §8.7: an ACK matching no transaction acknowledges a 2xx; it belongs to the dialog.
      this.#core.onAck(request, source);
      return;
    }
    if (this.#server.size + this.#client.size >= this.#max) {
      this.respondStateless(request, source, 503, [["Retry-After", String(this.#retryAfter)]]);
      return;
    }
    const destination = this.responseDestination(request, source);
    const transport = this.#transports.get(source.transport) ?? this.#transports.get(destination.transport);
    if (transport === undefined) {
      this.#logger.warn("request on a transport the layer does not own", { transport: source.transport });
      return;
    }
    const user: ServerTransactionUser = this.#reclaiming(
      { onAck: (ack: SipRequest) => this.#core.onAck(ack, source) },
      () => {
        if (this.#server.get(id) === tx) {
          this.#server.delete(id);
        }
      },
    );
    const txOptions = { transport, destination, clock: this.#clock, timerBase: this.#timerBase };
    const tx: ServerTransaction =
      request.method === "INVITE"
        ? new InviteServerTransaction(request, txOptions, user)
        : new NonInviteServerTransaction(request, txOptions, user);
    this.#server.set(id, tx);
    if (request.method === "CANCEL") {
      this.#cancel(request, tx as NonInviteServerTransaction);
      return;
    }
    this.#core.onRequest(request, tx, source);
  }

  /** RFC 3261 §9.2: find the INVITE the CANCEL targets, answer the CANCEL, and tell the core if it still matters. */
  #cancel(cancel: SipRequest, tx: NonInviteServerTransaction): void {
    const target = this.#server.get(cancelTargetId(cancel));
    if (!(target instanceof InviteServerTransaction) || !isCancelFor(cancel, target.request)) {
      // §9.2: "If the UAS did not find a matching transaction for the CANCEL according to the procedure above, it
      // SHOULD respond to the CANCEL with a 481 (Call Leg/Transaction Does Not Exist)."
      tx.respond(createResponse(cancel, 481, { toTag: generateTag() }));
      return;
    }
    // §9.2: "the To tag of the response to the CANCEL and the To tag in the response to the original request SHOULD
    // be the same". The INVITE's provisional (if any) carries the dialog's tag.
    const toTag = target.lastResponse?.to.tag ?? generateTag();
    tx.respond(createResponse(cancel, 200, { toTag }));
    if (target.state === TransactionState.Proceeding) {
      this.#core.onCancel(cancel, target);
    }
  }
}
