/**
 * Shared parts of the four transaction machines: identity, state bookkeeping and the send path.
 *
 * The base owns the one validated transition function and the timer plumbing (retransmission with back-off,
 * terminate-on-timeout); each concrete machine declares its transition table and what entering a state starts
 * (architecture.md §5.5, SIP.js `invite-client-transaction.ts`).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-17
 */

import { TransactionStateError } from "../errors.js";
import { getLogger, type Logger } from "../logger.js";
import type { SipMessage, SipRequest, SipResponse } from "../message/SipMessage.js";
import type { SipDestination, SipTransport } from "../transport/SipTransport.js";
import { systemClock, timerTable, type Clock, type TimerBase, type TimerHandle, type TimerTable } from "./timers.js";
import { TransactionState } from "./TransactionState.js";

/** One logger for every transaction: `getLogger` builds a forwarding object, too costly per transaction. */
const TRANSACTION_LOGGER = getLogger("sip:transaction");

/** What every transaction needs. */
export interface TransactionOptions {
  /** Transport to send on; its `reliable` flag selects the timer values. */
  readonly transport: SipTransport;
  /** Next hop (client) or response destination (server, RFC 3261 §18.2.2). */
  readonly destination: SipDestination;
  /** Clock for timers; defaults to the system clock. */
  readonly clock?: Clock;
  /** T1/T2/T4 overrides. */
  readonly timerBase?: TimerBase;
}

/** Callbacks shared by client and server transaction users. */
export interface TransactionUserBase {
  /** Every state change, Terminated included. */
  onStateChange?(state: TransactionState): void;
  /** The transport failed to send (RFC 3261 §17.1.4 / §17.2.4); the transaction is then Terminated. */
  onTransportError?(error: Error): void;
}

/** The transaction user of a client transaction (RFC 3261 §17.1). */
export interface ClientTransactionUser extends TransactionUserBase {
  /** A response that the TU must see (provisional, 2xx, and the first non-2xx final). */
  receiveResponse?(response: SipResponse): void;
  /** Timer B or F fired: RFC 3261 §8.1.3.1 treats this as a 408 Request Timeout. */
  onRequestTimeout?(): void;
  /**
   * Timer C fired (only when enabled with `timerC: true`): no final response for more than 3 minutes since the last
   * provisional. RFC 3261 §16.8: "If the client transaction has received a provisional response, the proxy MUST
   * generate a CANCEL request matching that transaction. If the client transaction has not received a provisional
   * response, the proxy MUST behave as if the transaction received a 408".
   */
  onTimerC?(provisionalReceived: boolean): void;
}

/** The transaction user of a server transaction (RFC 3261 §17.2). */
export interface ServerTransactionUser extends TransactionUserBase {
  /** An ACK received in the Accepted state (RFC 6026 §8.7: passed to the TU; it belongs to the 2xx's dialog). */
  onAck?(ack: SipRequest): void;
  /** Timer H fired: no ACK arrived for a non-2xx final response (RFC 3261 §17.2.1). */
  onTimeout?(): void;
}

/**
 * Named one-shot timers on a {@link Clock}. Restarting a name replaces the pending callback, and a fired timer removes
 * itself first, so a callback may safely restart its own timer (Timers A, E and G do).
 */
export class TimerSet<Name extends string> {
  readonly #clock: Clock;
  readonly #handles = new Map<Name, TimerHandle>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** (Re)starts a timer. */
  start(name: Name, ms: number, callback: () => void): void {
    this.stop(name);
    this.#handles.set(
      name,
      this.#clock.setTimeout(() => {
        this.#handles.delete(name);
        callback();
      }, ms),
    );
  }

  /** Stops a timer if running. */
  stop(name: Name): void {
    const handle = this.#handles.get(name);
    if (handle !== undefined) {
      this.#clock.clearTimeout(handle);
      this.#handles.delete(name);
    }
  }

  /** True if the timer is pending. */
  running(name: Name): boolean {
    return this.#handles.has(name);
  }

  /** Stops everything. */
  stopAll(): void {
    for (const name of [...this.#handles.keys()]) {
      this.stop(name);
    }
  }
}

/**
 * Allowed predecessors of each state of one machine. A state missing from the table cannot be entered by a
 * transition (the initial state is set by the constructor).
 */
export type TransitionTable = Readonly<Partial<Record<TransactionState, readonly TransactionState[]>>>;

/**
 * Base class of the four machines: identity, state bookkeeping, the send path, and the timer and transition plumbing
 * they share. Each machine declares its diagram as a {@link TransitionTable} and implements {@link Transaction.enter},
 * the hook that starts the timers of a newly entered state; {@link Transaction.stateTransition} is the single
 * validated transition function (architecture.md §5.5).
 */
export abstract class Transaction<TimerName extends string = string> {
  /** Transaction id (see `matching.ts`). */
  readonly id: string;
  /** The request that created the transaction. */
  readonly request: SipRequest;
  readonly #transport: SipTransport;
  readonly #destination: SipDestination;
  readonly #user: TransactionUserBase;
  readonly #timerValues: TimerTable;
  readonly #clock: Clock;
  readonly #machine: string;
  readonly #transitions: TransitionTable;
  #state: TransactionState;
  /** Namespaced logger. */
  protected readonly logger: Logger;
  /** The machine's running timers. */
  protected readonly timer: TimerSet<TimerName>;

  protected constructor(
    machine: string,
    transitions: TransitionTable,
    id: string,
    request: SipRequest,
    initial: TransactionState,
    options: TransactionOptions,
    user: TransactionUserBase,
  ) {
    this.#machine = machine;
    this.#transitions = transitions;
    this.id = id;
    this.request = request;
    this.#state = initial;
    this.#transport = options.transport;
    this.#destination = options.destination;
    this.#user = user;
    this.#clock = options.clock ?? systemClock;
    this.#timerValues = timerTable(options.transport.reliable, options.timerBase);
    this.logger = TRANSACTION_LOGGER;
    this.timer = new TimerSet<TimerName>(this.#clock);
  }

  /** Current state. */
  get state(): TransactionState {
    return this.#state;
  }

  /** The timer values in force (reliable or unreliable variant). */
  get timers(): TimerTable {
    return this.#timerValues;
  }

  /** True over TCP/TLS. */
  get reliable(): boolean {
    return this.#transport.reliable;
  }

  /** Where messages go. */
  get destination(): SipDestination {
    return this.#destination;
  }

  /** The clock timers run on. */
  protected get clock(): Clock {
    return this.#clock;
  }

  /** True when the machine is in one of `states`. */
  protected inState(...states: TransactionState[]): boolean {
    return states.includes(this.#state);
  }

  /**
   * The one transition function: validates `newState` against the machine's table, stops every timer when entering
   * Terminated, lets the machine start or stop the timers of the new state ({@link enter}), then records the state
   * and notifies the TU.
   * @throws {TransactionStateError} for a transition the diagram does not have.
   */
  protected stateTransition(newState: TransactionState): void {
    const from = this.#state;
    const allowed =
      newState === TransactionState.Terminated
        ? from !== TransactionState.Terminated
        : this.#transitions[newState]?.includes(from) === true;
    if (!allowed) {
      throw new TransactionStateError(this.#machine, from, newState);
    }
    if (newState === TransactionState.Terminated) {
      this.timer.stopAll();
    }
    this.enter(newState, from);
    this.logger.debug("transaction state", { id: this.id, from, to: newState });
    this.#state = newState;
    this.#safe("onStateChange", () => this.#user.onStateChange?.(newState));
  }

  /** Timer work on entering `state` (validation already passed; Terminated has already stopped every timer). */
  protected abstract enter(state: TransactionState, from: TransactionState): void;

  /**
   * Starts a retransmission timer (A, E, G): when it fires in one of `states` the message goes out again and the
   * timer restarts with `next(interval)`; in any other state it stops.
   */
  protected retransmit(
    name: TimerName,
    interval: number,
    message: () => SipMessage | undefined,
    next: (interval: number) => number,
    states: readonly TransactionState[],
  ): void {
    this.timer.start(name, interval, () => {
      const m = message();
      if (!states.includes(this.#state) || m === undefined) {
        return;
      }
      this.send(m);
      this.retransmit(name, next(interval), message, next, states);
    });
  }

  /**
   * Starts a timer that moves the machine to Terminated if it is still in `state` when it fires (D, I, J, K, L, M),
   * then runs `after` (Timers B, F and H inform the TU).
   */
  protected terminateAfter(name: TimerName, ms: number, states: readonly TransactionState[], after?: () => void): void {
    this.timer.start(name, ms, () => {
      if (!states.includes(this.#state)) {
        return;
      }
      this.stateTransition(TransactionState.Terminated);
      after?.();
    });
  }

  /** Calls into the TU, logging (never propagating) what it throws: a TU bug must not break the machine. */
  protected callUser(what: string, fn: () => void): void {
    this.#safe(what, fn);
  }

  #safe(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.logger.error(`transaction user threw in ${what}`, { id: this.id, error });
    }
  }

  /**
   * Hands a message to the transport. A failure moves the transaction to Terminated and is reported to the TU
   * (RFC 3261 §17.1.4: "the client transaction SHOULD inform the TU that a transport failure has occurred, and the
   * client transaction SHOULD transition directly to the Terminated state"; §17.2.4 likewise for servers).
   */
  protected send(message: SipMessage): void {
    let sent: Promise<void>;
    try {
      // A transport may serialise synchronously; the serializer's refusal (SipHeaderTextError) is a failure too.
      sent = this.#transport.send(message, this.#destination);
    } catch (error) {
      sent = Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    sent.catch((error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      this.logger.warn("transport error", { id: this.id, error: err.message });
      if (this.#state !== TransactionState.Terminated) {
        this.stateTransition(TransactionState.Terminated);
        this.#safe("onTransportError", () => this.#user.onTransportError?.(err));
      }
    });
  }

  /** Stops every timer and moves to Terminated without notifying about a failure (stack shutdown). */
  dispose(): void {
    if (this.#state !== TransactionState.Terminated) {
      this.stateTransition(TransactionState.Terminated);
    }
  }
}
