/**
 * SdpEndpoint (Kurento core module, kurento-protocol.md §7.1): the SDP offer/answer half of every endpoint that
 * negotiates with SDP (RtpEndpoint, WebRtcEndpoint, SipEndpoint). It owns, once for all of them:
 *
 * - the negotiation state machine (one enum, one validated transition, architecture.md §5.5):
 *
 *       NEW ──processOffer──▶ NEGOTIATED ──processOffer (re-offer, when the subclass accepts one)──▶ NEGOTIATED
 *        └──generateOffer──▶ OFFERED ──processAnswer──▶ NEGOTIATED
 *
 *   Release is lifecycle (MediaObject.released), not a negotiation state: a released endpoint refuses every
 *   operation with InvalidStateError before the state is even looked at, and a negotiation that finishes after
 *   the release fails the same way;
 * - the order of the checks of generateOffer / processOffer / processAnswer (state, then the SDP, then the work),
 *   the "one negotiation at a time" guard, and getLocalSessionDescriptor / getRemoteSessionDescriptor;
 * - the SdpEndpoint properties (maxAudioRecvBandwidth, maxVideoRecvBandwidth: stored and reported, not enforced);
 * - the mapping of negotiation failures to Kurento's SDP_* codes (40201..40210), {@link sdpOperationError}.
 *
 * A subclass supplies the transport-specific work through the abstract hooks (read the remote SDP, apply an offer,
 * make an offer, apply an answer, the current descriptors).
 */
import type { JsonObject, JsonValue } from "../channel/protocol.js";
import { MediaElement, type ElementContext } from "../core/MediaElement.js";
import type { Operation } from "../core/MediaObject.js";
import { InvalidStateError, MediaOperationError } from "../errors.js";

/** The negotiation states; see the module comment for the transitions. */
export enum NegotiationState {
  New = "NEW",
  Offered = "OFFERED",
  Negotiated = "NEGOTIATED",
}

/** The legal transitions (Negotiated → Negotiated is a re-offer; the operation checks whether one is accepted). */
const TRANSITIONS: Record<NegotiationState, readonly NegotiationState[]> = {
  [NegotiationState.New]: [NegotiationState.Offered, NegotiationState.Negotiated],
  [NegotiationState.Offered]: [NegotiationState.Negotiated],
  [NegotiationState.Negotiated]: [NegotiationState.Negotiated],
};

/** The operation-specific Kurento error of a failed negotiation step. */
export type SdpOperationError =
  "SDP_END_POINT_PROCESS_OFFER_ERROR" | "SDP_END_POINT_GENERATE_OFFER_ERROR" | "SDP_END_POINT_PROCESS_ANSWER_ERROR";

/** SdpEndpoint properties Korus stores and reports but does not enforce (core.kmd.json). */
const SDP_PROPERTY_DEFAULTS: Record<string, JsonValue> = {
  maxAudioRecvBandwidth: 0,
  maxVideoRecvBandwidth: 0,
};

/**
 * The one mapping of a negotiation failure to a Kurento error: our named errors pass as they are; an SDP parse
 * error is SDP_PARSE_ERROR; an SDP negotiation or SRTP configuration error is the operation's error with its
 * message; an UnsupportedError (no free port) is NOT_ENOUGH_RESOURCES; anything else (a foreign library's error) is
 * left to `foreign`, which by default makes it the operation's error.
 */
export function sdpOperationError(
  err: unknown,
  type: SdpOperationError,
  foreign: (err: unknown, type: SdpOperationError) => Error = defaultForeignError,
): Error {
  if (err instanceof MediaOperationError || err instanceof InvalidStateError) {
    return err;
  }
  if (err instanceof Error) {
    switch (err.name) {
      case "InvalidStateError":
        return err;
      case "SdpParseError":
        return new MediaOperationError("SDP_PARSE_ERROR", err.message);
      case "SdpNegotiationError":
      case "SrtpConfigError":
        return new MediaOperationError(type, err.message);
      case "UnsupportedError":
        return new MediaOperationError("NOT_ENOUGH_RESOURCES", err.message);
      default:
        break;
    }
  }
  return foreign(err, type);
}

function defaultForeignError(err: unknown, type: SdpOperationError): Error {
  return new MediaOperationError(type, `SDP negotiation failed: ${err instanceof Error ? err.message : String(err)}`);
}

/** Getters and setters of stored, unenforced Kurento properties, added to an operation table. */
export function addStoredProperties(
  ops: Record<string, Operation>,
  defaults: Record<string, JsonValue>,
  store: Map<string, JsonValue>,
): void {
  for (const [name, def] of Object.entries(defaults)) {
    const cap = name.charAt(0).toUpperCase() + name.slice(1);
    ops[`get${cap}`] = () => store.get(name) ?? def;
    ops[`set${cap}`] = (a) => {
      store.set(name, a[name] ?? def);
      return null;
    };
  }
}

/**
 * @typeParam R the remote description as the subclass reads it (a parsed SessionDescription, or checked text).
 */
export abstract class SdpEndpoint<R> extends MediaElement {
  #negotiation: NegotiationState = NegotiationState.New;
  /** True while a generateOffer/processOffer/processAnswer runs (they are not reentrant). */
  #busy = false;
  readonly #props = new Map<string, JsonValue>();

  constructor(ctx: ElementContext) {
    super(ctx);
  }

  get negotiationState(): NegotiationState {
    return this.#negotiation;
  }

  /** True while a negotiation step runs. */
  protected get negotiating(): boolean {
    return this.#busy;
  }

  /**
   * The only place the negotiation state changes. Entering NEGOTIATED calls {@link onNegotiated} (a subclass arms
   * its timers there); the timers stop with the release.
   * @throws InvalidStateError after the release, or for a transition the diagram does not have (a bug).
   */
  #transition(to: NegotiationState): void {
    this.assertAlive();
    const from = this.#negotiation;
    if (!TRANSITIONS[from].includes(to)) {
      throw new InvalidStateError(`${this.type} ${this.id}: no transition ${from} → ${to}`);
    }
    this.#negotiation = to;
    if (to === NegotiationState.Negotiated) {
      this.onNegotiated(from);
    }
  }

  // ---------------------------------------------------------------------------------------------- subclass hooks

  /** Whether processOffer is accepted once NEGOTIATED (a re-offer: hold, resume, a new address). */
  protected acceptsReoffer(): boolean {
    return false;
  }

  /** @throws MediaOperationError SDP_PARSE_ERROR for an unusable remote description. */
  protected abstract readRemote(sdp: unknown, what: "offer" | "answer"): R;
  /** Applies the peer's offer and makes our answer (the local descriptor afterwards). */
  protected abstract applyOffer(offer: R): Promise<void>;
  /** Makes our offer from Kurento's OfferOptions. */
  protected abstract makeOffer(options: JsonObject): Promise<void>;
  /** Applies the peer's answer to our offer. */
  protected abstract applyAnswer(answer: R): Promise<void> | void;
  /** The current local / remote description, undefined before there is one. */
  protected abstract localDescriptor(): string | undefined;
  protected abstract remoteDescriptor(): string | undefined;

  /** Entered NEGOTIATED (from NEW, OFFERED, or NEGOTIATED for a re-offer). */
  protected onNegotiated(_from: NegotiationState): void {
    // Subclasses override.
  }

  /** After a local description exists and the state was updated (WebRTC: trickle the candidates queued). */
  protected afterNegotiationStep(): Promise<void> | void {
    // Subclasses override.
  }

  /** Maps an error no Korus class names (a foreign library's); see {@link sdpOperationError}. */
  protected foreignSdpError(err: unknown, type: SdpOperationError): Error {
    return defaultForeignError(err, type);
  }

  // ---------------------------------------------------------------------------------------------- operations

  /**
   * SdpEndpoint.processOffer: applies the peer's offer and returns our answer.
   * @throws MediaOperationError SDP_END_POINT_ALREADY_NEGOTIATED (offered, busy, or negotiated without re-offers),
   *   SDP_PARSE_ERROR, or SDP_END_POINT_PROCESS_OFFER_ERROR; InvalidStateError once released.
   */
  async processOffer(offerArg: unknown): Promise<string> {
    this.assertAlive();
    const s = this.#negotiation;
    if (this.#busy || s === NegotiationState.Offered || (s === NegotiationState.Negotiated && !this.acceptsReoffer())) {
      throw new MediaOperationError("SDP_END_POINT_ALREADY_NEGOTIATED", "Endpoint already negotiated");
    }
    const offer = this.readRemote(offerArg, "offer");
    return this.#step("SDP_END_POINT_PROCESS_OFFER_ERROR", NegotiationState.Negotiated, () => this.applyOffer(offer));
  }

  /**
   * SdpEndpoint.generateOffer: our offer; OfferOptions{offerToReceiveAudio, offerToReceiveVideo} default to true.
   * @throws MediaOperationError SDP_END_POINT_ALREADY_NEGOTIATED or SDP_END_POINT_GENERATE_OFFER_ERROR.
   */
  async generateOffer(options: unknown): Promise<string> {
    this.assertAlive();
    if (this.#negotiation !== NegotiationState.New || this.#busy) {
      throw new MediaOperationError("SDP_END_POINT_ALREADY_NEGOTIATED", "Endpoint already negotiated");
    }
    const o = isObject(options) ? options : {};
    return this.#step("SDP_END_POINT_GENERATE_OFFER_ERROR", NegotiationState.Offered, () => this.makeOffer(o));
  }

  /**
   * SdpEndpoint.processAnswer: applies the peer's answer to our offer.
   * @returns our local SDP, as KMS does.
   * @throws MediaOperationError SDP_END_POINT_NOT_OFFER_GENERATED, SDP_END_POINT_ANSWER_ALREADY_PROCCESED,
   *   SDP_PARSE_ERROR or SDP_END_POINT_PROCESS_ANSWER_ERROR.
   */
  async processAnswer(answerArg: unknown): Promise<string> {
    this.assertAlive();
    if (this.#negotiation === NegotiationState.New) {
      throw new MediaOperationError("SDP_END_POINT_NOT_OFFER_GENERATED", "processAnswer called before generateOffer");
    }
    if (this.#negotiation !== NegotiationState.Offered || this.#busy) {
      throw new MediaOperationError("SDP_END_POINT_ANSWER_ALREADY_PROCCESED", "Answer already processed");
    }
    const answer = this.readRemote(answerArg, "answer");
    return this.#step("SDP_END_POINT_PROCESS_ANSWER_ERROR", NegotiationState.Negotiated, () =>
      this.applyAnswer(answer),
    );
  }

  async #step(type: SdpOperationError, to: NegotiationState, work: () => Promise<void> | void): Promise<string> {
    this.#busy = true;
    try {
      await work();
      this.#transition(to);
      await this.afterNegotiationStep();
      return this.localDescriptor() ?? "";
    } catch (err) {
      throw sdpOperationError(err, type, (e, t) => this.foreignSdpError(e, t));
    } finally {
      this.#busy = false;
    }
  }

  /** getLocalSessionDescriptor; @throws MediaOperationError SDP_END_POINT_NO_LOCAL_SDP_ERROR before there is one. */
  localSessionDescriptor(): string {
    const sdp = this.localDescriptor();
    if (sdp === undefined) {
      throw new MediaOperationError("SDP_END_POINT_NO_LOCAL_SDP_ERROR", "No local SDP negotiated yet");
    }
    return sdp;
  }

  /** getRemoteSessionDescriptor; @throws MediaOperationError SDP_END_POINT_NO_REMOTE_SDP_ERROR before there is one. */
  remoteSessionDescriptor(): string {
    const sdp = this.remoteDescriptor();
    if (sdp === undefined) {
      throw new MediaOperationError("SDP_END_POINT_NO_REMOTE_SDP_ERROR", "No remote SDP negotiated yet");
    }
    return sdp;
  }

  protected override operations(): Record<string, Operation> {
    const ops: Record<string, Operation> = {
      ...super.operations(),
      processOffer: (a) => this.processOffer(a["offer"]),
      generateOffer: (a) => this.generateOffer(a["options"]),
      processAnswer: (a) => this.processAnswer(a["answer"]),
      getLocalSessionDescriptor: () => this.localSessionDescriptor(),
      getRemoteSessionDescriptor: () => this.remoteSessionDescriptor(),
    };
    addStoredProperties(ops, SDP_PROPERTY_DEFAULTS, this.#props);
    return ops;
  }
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
