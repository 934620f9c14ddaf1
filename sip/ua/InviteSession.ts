/**
 * One call: the INVITE dialog usage and its session (RFC 3261 §13–§15), with offer/answer (RFC 3264), reliable
 * provisional responses (RFC 3262), UPDATE (RFC 3311) and session timers (RFC 4028). Created by the
 * {@link UserAgent} for each incoming INVITE and each outgoing call; media is reached only through a
 * {@link MediaHandler}.
 *
 * State lives in two enums ({@link SessionState}, {@link OfferAnswerState}); the session state changes only in
 * `#transition`, which validates the move and owns the timers that depend on it (session timer on Confirmed, every
 * timer stopped on Terminated).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13
 */

import { DigestClient, type DigestCredentials } from "../auth/index.js";
import { Dialog } from "../dialog/Dialog.js";
import { DialogState } from "../dialog/DialogState.js";
import { getLogger } from "../logger.js";
import { CSeq } from "../message/CSeq.js";
import { createResponse, reasonPhrase } from "../message/responses.js";
import { SipRequest, type SipResponse } from "../message/SipMessage.js";
import type { InviteServerTransaction } from "../transaction/InviteServerTransaction.js";
import { createCancel } from "../transaction/requests.js";
import type { TimerTable } from "../transaction/timers.js";
import { TimerSet } from "../transaction/Transaction.js";
import { TransactionState } from "../transaction/TransactionState.js";
import type { ClientTransaction, ServerTransaction, TransactionLayer } from "../transaction/TransactionLayer.js";
import type { SipDestination } from "../transport/SipTransport.js";
import {
  ACCEPTED_TYPES,
  ALLOWED_METHODS,
  formatQ850Reason,
  hasOption,
  isHoldOffer,
  parseMinSE,
  parseRAck,
  parseRSeq,
  parseSessionExpires,
  q850Cause,
  statusToQ850,
  SUPPORTED_OPTIONS,
  type CallIdentity,
} from "./headers.js";
import { MediaUnavailableError, type MediaHandler, type OfferRequest } from "./MediaHandler.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import { TypedEmitter } from "../TypedEmitter.js";

/** Raised when an operation is not valid in the session's current state. */
export class SessionStateError extends Error {
  override readonly name = "SessionStateError";
}

/** Who ended the call. */
export type HangupSide = "local" | "remote";

/** How a call ended, for the gateway and CDRs. Times are wall-clock milliseconds (UTC epoch by default). */
export interface TerminationInfo {
  /** Final SIP status of the INVITE: 200 for an answered call, else the failure (487 for CANCEL, 408 for timeout). */
  readonly status: number;
  /** Q.850 cause: from the peer's Reason header when it sent one, else our own or mapped from the status. */
  readonly cause: number;
  /** Reason text or status phrase. */
  readonly reason: string;
  /** Which side ended the call. */
  readonly by: HangupSide;
  /** What ended it. */
  readonly ending: "BYE" | "CANCEL" | "rejected" | "failed" | "timeout" | "session-expired" | "no-ack";
  readonly startedAt: number;
  readonly ringingAt: number | undefined;
  readonly answeredAt: number | undefined;
  readonly endedAt: number;
}

/** Events of an {@link InviteSession}. */
export interface InviteSessionEvents {
  /** A provisional response was received (UAC) or sent (UAS). `earlyMedia` when it carried SDP. */
  progress: [
    status: number,
    info: { readonly earlyMedia: boolean; readonly reliable: boolean; readonly toTag: string | undefined },
  ];
  /** The call was answered (2xx sent or received). */
  answered: [];
  /** The ACK completed the three-way handshake. */
  confirmed: [];
  /** The peer put us on hold (true) or took us off hold (false). */
  remoteHold: [held: boolean];
  /** A re-INVITE or UPDATE completed (either direction). */
  renegotiated: [direction: "local" | "remote"];
  /** A local re-INVITE/UPDATE failed with this status (the previous session stays in force). */
  renegotiationFailed: [status: number];
  /** The session timer was refreshed. */
  refreshed: [];
  /** An in-dialog INFO (RFC 6086), already answered 200, e.g. `application/dtmf-relay` digits. */
  info: [request: SipRequest];
  /** The call ended. */
  terminated: [info: TerminationInfo];
}

/** Session timer settings (RFC 4028). */
export interface SessionTimerConfig {
  /** Offer/accept session timers at all. Default true. */
  readonly enabled: boolean;
  /** Session-Expires we ask for, seconds. Default 1800. */
  readonly expires: number;
  /** Smallest interval we accept, seconds (RFC 4028 §4: at least 90). Default 90. */
  readonly minSE: number;
}

/** What a session needs from its user agent. */
export interface SessionHost {
  readonly layer: TransactionLayer;
  readonly timers: TimerTable;
  readonly sessionTimer: SessionTimerConfig;
  readonly userAgentName: string;
  /** Wall clock for CDR timestamps. */
  now(): number;
  /** Uniform random in [0, 1) (glare back-off, RSeq start). */
  random(): number;
  /** Our Contact for a transport. */
  contact(destination: SipDestination): string;
  /** Adds our Via with a new branch for sending to `destination`. */
  stampVia(request: SipRequest, destination: SipDestination): void;
  /** The destination a request really takes: TCP instead of UDP for large requests (RFC 3261 §18.1.1). */
  route(request: SipRequest, destination: SipDestination): SipDestination;
  registerDialog(dialog: Dialog, session: InviteSession): void;
  unregisterDialog(dialog: Dialog): void;
  sessionEnded(session: InviteSession, info: TerminationInfo): void;
}

/** Options of {@link InviteSession.progress}. */
export interface ProgressOptions {
  /** 180 (default) or 183 (default when `earlyMedia`). */
  readonly status?: number;
  /** Send our answer in this provisional (183 Session Progress with SDP). */
  readonly earlyMedia?: boolean;
  /** Send reliably (RFC 3262) if the caller supports it; forced when the INVITE has `Require: 100rel`. */
  readonly reliable?: boolean;
  readonly headers?: readonly (readonly [string, string])[];
}

/** Options of hangup/reject. */
export interface EndOptions {
  /** Q.850 cause for the Reason header (RFC 3326). Default 16 (normal clearing). */
  readonly cause?: number;
  readonly text?: string;
  /** With reject(): a Retry-After header, in seconds (RFC 3261 §20.33). */
  readonly retryAfterS?: number;
}

/** Options of an outgoing call's INVITE (set by {@link UserAgent.call}). */
export interface OutgoingInvite {
  readonly request: SipRequest;
  readonly destination: SipDestination;
  readonly offerless: boolean;
  readonly ringTimeoutMs: number | undefined;
  readonly credentials: DigestCredentials | undefined;
}

type TimerName =
  "ring" | "2xx" | "2xxGiveUp" | "rel" | "relGiveUp" | "refresh" | "expire" | "glare" | "cancelGiveUp" | "unanswered";

/** One logger for every session (not one forwarding object per call). */
const SESSION_LOGGER = getLogger("sip:ua");

const S = SessionState;
const OA = OfferAnswerState;

/** Allowed predecessors of each session state (Terminated: from any other). */
const TRANSITIONS: Readonly<Partial<Record<SessionState, readonly SessionState[]>>> = {
  [S.Early]: [S.Calling, S.Incoming],
  [S.Accepted]: [S.Incoming, S.Early],
  [S.Confirmed]: [S.Calling, S.Early, S.Accepted],
  [S.Terminating]: [S.Calling, S.Incoming, S.Early, S.Accepted, S.Confirmed],
};

/** The 2xx to an INVITE we retransmit until its ACK arrives (RFC 3261 §13.3.1.4). */
interface Pending2xx {
  readonly response: SipResponse;
  readonly cseq: number;
  readonly destination: SipDestination;
  /** This 2xx carried our offer (offerless INVITE): the ACK brings the answer. */
  readonly offer: boolean;
}

/** A reliable provisional awaiting its PRACK (RFC 3262 §3). */
interface Reliable1xx {
  readonly response: SipResponse;
  readonly rseq: number;
  readonly sdp: boolean;
}

export class InviteSession extends TypedEmitter<InviteSessionEvents> {
  /** `"uac"` for outgoing calls, `"uas"` for incoming ones. */
  readonly role: "uac" | "uas";
  readonly callId: string;
  readonly localTag: string;
  /** Identity headers of the INVITE (incoming calls). */
  readonly identity: CallIdentity | undefined;
  /** The SDP offer of the incoming INVITE, if it had one. */
  readonly remoteOffer: string | undefined;
  readonly startedAt: number;
  ringingAt: number | undefined;
  answeredAt: number | undefined;
  /** We put the peer on hold. */
  localHold = false;
  /** The peer put us on hold. */
  remoteHold = false;

  readonly #host: SessionHost;
  readonly #media: MediaHandler;
  readonly #timers: TimerSet<TimerName>;
  readonly #logger = SESSION_LOGGER;
  #state: SessionState;
  #oa: OfferAnswerState;
  #dialog: Dialog | undefined;
  readonly #early = new Map<string, Dialog>();
  #invite: SipRequest;
  // UAS side.
  readonly #serverTx: InviteServerTransaction | undefined;
  #answer: string | undefined;
  #rseq: number;
  #reliable: Reliable1xx | undefined;
  #prackWaiters: (() => void)[] = [];
  #ops: Promise<void> = Promise.resolve();
  #pending2xx: Pending2xx | undefined;
  #byeAfterAck: EndOptions | undefined;
  // UAC side.
  readonly #outgoing: OutgoingInvite | undefined;
  #provisionalReceived = false;
  #cancel: EndOptions | undefined;
  #cancelSent = false;
  #inviteDestination: SipDestination | undefined;
  #earlyAnswer: { readonly tag: string | undefined; readonly sdp: string } | undefined;
  #ack: { readonly cseq: number; readonly ack: SipRequest; readonly destination: SipDestination } | undefined;
  readonly #lastRSeq = new Map<string, number>();
  #digest: DigestClient | undefined;
  #retries = 0;
  #authRetries = 0;
  // Both sides.
  #clientReoffer: ClientTransaction | undefined;
  #serverReoffer: ServerTransaction | undefined;
  #sessionTimer: { interval: number; local: boolean } | undefined;
  #peerAllowsUpdate = false;
  #requestedSE: number;
  #ended: TerminationInfo | undefined;

  /** @internal Created by the UserAgent. */
  constructor(
    host: SessionHost,
    media: MediaHandler,
    init:
      | {
          readonly role: "uas";
          readonly invite: SipRequest;
          readonly tx: InviteServerTransaction;
          readonly localTag: string;
          readonly identity: CallIdentity;
        }
      | { readonly role: "uac"; readonly outgoing: OutgoingInvite },
  ) {
    super();
    this.#host = host;
    this.#media = media;
    this.#timers = new TimerSet(host.layer.clock);
    this.startedAt = host.now();
    this.#rseq = 1 + Math.floor(host.random() * 0x7fffffff);
    this.#requestedSE = host.sessionTimer.expires;
    if (init.role === "uas") {
      this.role = "uas";
      this.#invite = init.invite;
      this.#serverTx = init.tx;
      this.callId = init.invite.callId;
      this.localTag = init.localTag;
      this.identity = init.identity;
      const hasSdp = init.invite.body.length > 0;
      this.remoteOffer = hasSdp ? init.invite.bodyText : undefined;
      this.#oa = hasSdp ? OA.HaveRemoteOffer : OA.NoOffer;
      this.#state = S.Incoming;
      this.#peerAllowsUpdate = hasOption(init.invite, "Allow", "UPDATE");
    } else {
      this.role = "uac";
      this.#outgoing = init.outgoing;
      this.#invite = init.outgoing.request;
      this.callId = this.#invite.callId;
      this.localTag = this.#invite.from.tag ?? "";
      this.identity = undefined;
      this.remoteOffer = undefined;
      this.#oa = OA.NoOffer;
      this.#state = S.Calling;
    }
  }

  /** Id of the incoming INVITE's server transaction (incoming calls). */
  get inviteTransactionId(): string | undefined {
    return this.#serverTx?.id;
  }

  /** The media handler this session negotiates through (SIP.js's `Session.sessionDescriptionHandler`). */
  get media(): MediaHandler {
    return this.#media;
  }

  /** Current call state. */
  get state(): SessionState {
    return this.#state;
  }

  /** Current offer/answer state. */
  get offerAnswer(): OfferAnswerState {
    return this.#oa;
  }

  /** The dialog of the call once answered (or the UAS's early dialog). */
  get dialog(): Dialog | undefined {
    return this.#dialog;
  }

  /** Early dialogs of an outgoing call, one per To tag that answered with a provisional (forking). */
  get earlyDialogs(): readonly Dialog[] {
    return [...this.#early.values()];
  }

  /** The current session interval and whether we refresh, when session timers are active (RFC 4028). */
  get sessionTimer(): { readonly interval: number; readonly refresher: "local" | "remote" } | undefined {
    const st = this.#sessionTimer;
    return st === undefined ? undefined : { interval: st.interval, refresher: st.local ? "local" : "remote" };
  }

  /** How the call ended, once it has. */
  get termination(): TerminationInfo | undefined {
    return this.#ended;
  }

  // ===============================================================================================================
  // State machine
  // ===============================================================================================================

  /**
   * The one place the call state changes. Confirmed starts the session timer; Terminated stops every timer,
   * releases the dialogs and the media, and reports the end.
   * @throws {SessionStateError} for a transition the diagram does not have.
   */
  #transition(to: SessionState, end?: TerminationInfo): void {
    const from = this.#state;
    const ok = to === S.Terminated ? from !== S.Terminated : TRANSITIONS[to]?.includes(from) === true;
    if (!ok) {
      throw new SessionStateError(`session: ${from} → ${to}`);
    }
    this.#state = to;
    switch (to) {
      case S.Confirmed:
        this.#startSessionTimer();
        return;
      case S.Terminated: {
        this.#timers.stopAll();
        for (const d of this.#early.values()) {
          this.#host.unregisterDialog(d);
        }
        this.#early.clear();
        if (this.#dialog !== undefined) {
          if (this.#dialog.state !== DialogState.Terminated) {
            this.#dialog.transition(DialogState.Terminated);
          }
          this.#host.unregisterDialog(this.#dialog);
        }
        for (const waiter of this.#prackWaiters.splice(0)) {
          waiter();
        }
        try {
          this.#media.close();
        } catch (error) {
          this.#logger.error("media handler threw in close", { error });
        }
        const info = end ?? this.#info(500, "failed", "local");
        this.#ended = info;
        this.#host.sessionEnded(this, info);
        this.emit("terminated", info);
        return;
      }
      default:
        return;
    }
  }

  #info(
    status: number,
    ending: TerminationInfo["ending"],
    by: HangupSide,
    cause?: number,
    reason?: string,
  ): TerminationInfo {
    return {
      status,
      cause: cause ?? statusToQ850(status),
      reason: reason ?? reasonPhrase(status),
      by,
      ending,
      startedAt: this.startedAt,
      ringingAt: this.ringingAt,
      answeredAt: this.answeredAt,
      endedAt: this.#host.now(),
    };
  }

  #end(info: TerminationInfo): void {
    if (this.#state !== S.Terminated) {
      this.#transition(S.Terminated, info);
    }
  }

  #require(...states: SessionState[]): void {
    if (!states.includes(this.#state)) {
      throw new SessionStateError(`not allowed in state ${this.#state}`);
    }
  }

  /** Runs an async step, ending the call on an unexpected failure instead of leaving an unhandled rejection. */
  #guard(what: string, work: Promise<void>): void {
    work.catch((error: unknown) => {
      this.#logger.error(`session ${what} failed`, { callId: this.callId, error });
      this.#end(this.#info(500, "failed", "local", 41));
    });
  }

  // ===============================================================================================================
  // Sending helpers
  // ===============================================================================================================

  /** Adds Contact, Allow, Supported (and session-timer headers) to a dialog-creating or target-refresh message. */
  #decorate(message: SipRequest | SipResponse, destination: SipDestination): void {
    message.setHeader("Contact", this.#host.contact(destination));
    message.setHeader("Allow", ALLOWED_METHODS.join(", "));
    message.setHeader("Supported", SUPPORTED_OPTIONS.join(", "));
  }

  #setBody(message: SipRequest | SipResponse, sdp: string | undefined): void {
    if (sdp !== undefined) {
      message.setHeader("Content-Type", "application/sdp");
      message.body = Buffer.from(sdp, "utf8");
    }
  }

  /** Sends a request inside `dialog` on a new client transaction. */
  #sendInDialog(
    dialog: Dialog,
    request: SipRequest,
    onResponse: (r: SipResponse) => void,
    onFail: (status: number) => void,
  ): ClientTransaction | undefined {
    const hop = dialog.nextHop(request, this.#transportOf());
    if (hop === undefined) {
      onFail(416);
      return undefined;
    }
    request.setHeader("User-Agent", this.#host.userAgentName);
    const destination = this.#host.route(request, hop);
    this.#host.stampVia(request, destination);
    if (dialog.pChargingVector !== undefined && !request.hasHeader("P-Charging-Vector")) {
      request.setHeader("P-Charging-Vector", dialog.pChargingVector);
    }
    try {
      return this.#host.layer.request(request, destination, {
        receiveResponse: onResponse,
        onRequestTimeout: () => onFail(408),
        onTransportError: () => onFail(503),
      });
    } catch (error) {
      this.#logger.warn("cannot send in-dialog request", { error, method: request.method });
      onFail(503);
      return undefined;
    }
  }

  #transportOf(): SipDestination["transport"] {
    return this.#outgoing?.destination.transport ?? this.#serverTx?.destination.transport ?? "UDP";
  }

  /** Builds a response to a request of this call, with our tag. */
  #response(request: SipRequest, status: number, reason?: string): SipResponse {
    const r = createResponse(request, status, { toTag: this.localTag, reason });
    r.setHeader("Server", this.#host.userAgentName);
    return r;
  }

  #sendBye(options: EndOptions, reasonHeader?: string, after?: () => void): void {
    const dialog = this.#dialog;
    if (dialog === undefined) {
      after?.();
      return;
    }
    const bye = dialog.createRequest("BYE");
    bye.setHeader("Reason", reasonHeader ?? formatQ850Reason(options.cause ?? 16, options.text));
    this.#sendInDialog(
      dialog,
      bye,
      (r) => {
        if (r.status >= 200) {
          after?.();
        }
      },
      () => after?.(),
    );
  }

  // ===============================================================================================================
  // UAS operations
  // ===============================================================================================================

  /** True when the caller wants or allows 100rel. */
  #reliableWanted(wanted: boolean | undefined): boolean {
    if (hasOption(this.#invite, "Require", "100rel")) {
      return true;
    }
    return wanted === true && hasOption(this.#invite, "Supported", "100rel");
  }

  /** Our answer to the INVITE's offer, computed once (early media and the 2xx carry the same answer). */
  async #ensureAnswer(): Promise<string | undefined> {
    if (this.#answer === undefined && this.remoteOffer !== undefined) {
      this.#answer = await this.#media.processOffer(this.remoteOffer);
    }
    return this.#answer;
  }

  /** Waits until no reliable provisional is outstanding (RFC 3262 §3: one at a time). */
  async #reliableIdle(): Promise<void> {
    while (this.#reliable !== undefined && this.#state !== S.Terminated) {
      await new Promise<void>((resolve) => this.#prackWaiters.push(resolve));
    }
  }

  /**
   * Sends a provisional response (UAS): 180 Ringing, or 183 Session Progress with our answer as early media
   * (RFC 3261 §13.3.1.1). Reliable when asked and supported, or when the caller requires 100rel (RFC 3262 §3).
   * @throws {SessionStateError} unless the call is Incoming or Early.
   */
  progress(options: ProgressOptions = {}): Promise<void> {
    this.#require(S.Incoming, S.Early);
    return this.#serial(() => this.#progress(options));
  }

  /** Runs UAS operations one after the other, so an answer() never overtakes a progress() still preparing SDP. */
  #serial(work: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(work, work);
    this.#ops = run.catch(() => undefined);
    return run;
  }

  async #progress(options: ProgressOptions): Promise<void> {
    if (this.#state !== S.Incoming && this.#state !== S.Early) {
      return;
    }
    const tx = this.#serverTx;
    if (tx === undefined) {
      throw new SessionStateError("progress() is for incoming calls");
    }
    const reliable = this.#reliableWanted(options.reliable);
    let sdp: string | undefined;
    if (options.earlyMedia === true && this.#oa === OA.HaveRemoteOffer) {
      try {
        sdp = await this.#ensureAnswer();
      } catch (error) {
        this.#refuseOffer(error);
        return;
      }
    }
    if (reliable) {
      await this.#reliableIdle();
    }
    if (this.#state !== S.Incoming && this.#state !== S.Early) {
      return;
    }
    const status = options.status ?? (sdp !== undefined ? 183 : 180);
    const response = this.#response(this.#invite, status);
    response.setHeader("Record-Route", this.#invite.getHeaders("Record-Route"));
    this.#decorate(response, tx.destination);
    for (const [name, value] of options.headers ?? []) {
      response.addHeader(name, value);
    }
    this.#setBody(response, sdp);
    if (reliable) {
      const rseq = this.#rseq++;
      response.setHeader("Require", "100rel");
      response.setHeader("RSeq", String(rseq));
      this.#reliable = { response, rseq, sdp: sdp !== undefined };
    }
    this.#ensureUasDialog();
    tx.respond(response);
    if (reliable) {
      // RFC 3262 §3: "The reliable provisional response is passed to the transaction layer periodically with an
      // interval that starts at T1 seconds and doubles for each retransmission" … "If a reliable provisional response
      // is retransmitted for 64*T1 seconds without reception of a corresponding PRACK, the UAS SHOULD reject the
      // original request with a 5xx response."
      this.#retransmitReliable(this.#host.timers.T1);
      this.#timers.start("relGiveUp", 64 * this.#host.timers.T1, () => {
        this.#timers.stop("rel");
        this.#reliable = undefined;
        this.reject(504, { cause: 102, text: "No PRACK" });
      });
    }
    this.ringingAt ??= this.#host.now();
    if (this.#state === S.Incoming) {
      this.#transition(S.Early);
    }
    this.emit("progress", status, { earlyMedia: sdp !== undefined, reliable, toTag: this.localTag });
  }

  #retransmitReliable(interval: number): void {
    this.#timers.start("rel", interval, () => {
      const pending = this.#reliable;
      if (pending === undefined || this.#serverTx?.state !== TransactionState.Proceeding) {
        return;
      }
      this.#serverTx.respond(pending.response);
      this.#retransmitReliable(2 * interval);
    });
  }

  #ensureUasDialog(): Dialog {
    if (this.#dialog === undefined) {
      this.#dialog = Dialog.uas(this.#invite, this.localTag);
      this.#host.registerDialog(this.#dialog, this);
    }
    return this.#dialog;
  }

  /**
   * Answers the call with 200 OK (RFC 3261 §13.3.1.4): our answer to the INVITE's offer (unless a PRACKed reliable
   * 18x already delivered it), or our offer when the INVITE had none (the answer comes in the ACK). The 2xx is
   * retransmitted from T1, doubling to T2, until the ACK arrives; after 64·T1 the call is ended with BYE.
   * @throws {SessionStateError} unless the call is Incoming or Early.
   */
  answer(headers: readonly (readonly [string, string])[] = []): Promise<void> {
    this.#require(S.Incoming, S.Early);
    return this.#serial(() => this.#answerNow(headers));
  }

  async #answerNow(headers: readonly (readonly [string, string])[]): Promise<void> {
    if (this.#state !== S.Incoming && this.#state !== S.Early) {
      return;
    }
    const tx = this.#serverTx;
    if (tx === undefined) {
      throw new SessionStateError("answer() is for incoming calls");
    }
    // RFC 3262 §3: no 2xx while a reliable provisional is unacknowledged (the doc: "never send the 2xx while a
    // reliable 1xx carrying SDP is unacknowledged"; waiting for any is simpler and also correct).
    await this.#reliableIdle();
    let sdp: string | undefined;
    let offer = false;
    try {
      if (this.#oa === OA.HaveRemoteOffer) {
        sdp = await this.#ensureAnswer();
      } else if (this.#oa === OA.NoOffer) {
        sdp = await this.#media.getOffer({});
        offer = true;
      }
    } catch (error) {
      this.#refuseOffer(error);
      return;
    }
    if (this.#state !== S.Incoming && this.#state !== S.Early) {
      return;
    }
    const response = this.#response(this.#invite, 200);
    response.setHeader("Record-Route", this.#invite.getHeaders("Record-Route"));
    this.#decorate(response, tx.destination);
    this.#sessionTimerHeaders(response, this.#invite);
    for (const [name, value] of headers) {
      response.addHeader(name, value);
    }
    this.#setBody(response, sdp);
    this.#oa = offer ? OA.HaveLocalOffer : OA.Stable;
    const dialog = this.#ensureUasDialog();
    dialog.transition(DialogState.Confirmed);
    tx.respond(response);
    this.#timers.stop("unanswered");
    this.answeredAt = this.#host.now();
    this.#transition(S.Accepted);
    this.#start2xx({ response, cseq: this.#invite.cseq.seq, destination: tx.destination, offer });
    this.emit("answered");
  }

  /**
   * Starts retransmitting a 2xx until its ACK (RFC 3261 §13.3.1.4): "The 2xx response is passed to the transport
   * with an interval that starts at T1 seconds and doubles for each retransmission until it reaches T2 seconds ...
   * If the server retransmits the 2xx response for 64*T1 seconds without receiving an ACK, the dialog is confirmed,
   * but the session SHOULD be terminated. This is accomplished with a BYE".
   */
  #start2xx(pending: Pending2xx): void {
    this.#pending2xx = pending;
    const { T1, T2 } = this.#host.timers;
    const again = (interval: number): void => {
      this.#timers.start("2xx", interval, () => {
        if (this.#pending2xx !== pending) {
          return;
        }
        this.#host.layer.sendStateless(pending.response, pending.destination);
        again(Math.min(2 * interval, T2));
      });
    };
    again(T1);
    this.#timers.start("2xxGiveUp", 64 * T1, () => {
      if (this.#pending2xx !== pending) {
        return;
      }
      this.#pending2xx = undefined;
      this.#timers.stop("2xx");
      const info = this.#info(this.answeredAt === undefined ? 408 : 200, "no-ack", "local", 102, "No ACK");
      if (this.#state === S.Accepted) {
        this.#transition(S.Confirmed);
      }
      this.#transition(S.Terminating);
      // A peer that never ACKed for 64·T1 is gone or hostile: the BYE goes out (RFC 3261 §13.3.1.4), but the call
      // ends now, not after the BYE's own 32 s transaction, so its media and ports are freed at once.
      this.#sendBye({ cause: 102, text: "ACK timeout" });
      this.#end(info);
    });
  }

  /**
   * Rejects an incoming call with a final response (RFC 3261 §13.3.1.3), with a Reason header carrying `cause`.
   * @throws {SessionStateError} unless the call is Incoming or Early.
   */
  reject(status = 486, options: EndOptions = {}): void {
    this.#require(S.Incoming, S.Early);
    const tx = this.#serverTx;
    if (tx === undefined || status < 300 || status > 699) {
      throw new SessionStateError("reject() takes a 3xx–6xx status on an incoming call");
    }
    const response = this.#response(this.#invite, status);
    const cause = options.cause ?? statusToQ850(status);
    response.setHeader("Reason", formatQ850Reason(cause, options.text));
    if (options.retryAfterS !== undefined) {
      response.setHeader("Retry-After", String(options.retryAfterS));
    }
    if (tx.state === TransactionState.Proceeding) {
      tx.respond(response);
    }
    this.#end(this.#info(status, "rejected", "local", cause, options.text));
  }

  /**
   * The media handler could not answer the initial offer: 503 + Retry-After (cause 34) when media resources ran out,
   * else 488 Not Acceptable Here.
   */
  #refuseOffer(error: unknown): void {
    if (error instanceof MediaUnavailableError) {
      this.#logger.warn("no media resources for the call", { callId: this.callId, error: error.message });
      this.reject(503, { cause: 34, text: "No media resources", retryAfterS: error.retryAfterS });
      return;
    }
    this.#logger.info("offer not acceptable", { callId: this.callId, error: String(error) });
    this.reject(488);
  }

  /** @internal Rejects the incoming call with 480 (cause 19) unless it is answered or ended within `ms`. */
  guardUnanswered(ms: number): void {
    this.#timers.start("unanswered", ms, () => {
      if (this.#state === S.Incoming || this.#state === S.Early) {
        this.reject(480, { cause: 19, text: "No answer" });
      }
    });
  }

  /** A CANCEL for our INVITE arrived (the layer already answered it 200): 487 and end (RFC 3261 §9.2). */
  onCancel(cancel: SipRequest): void {
    if (this.#state !== S.Incoming && this.#state !== S.Early) {
      return;
    }
    const tx = this.#serverTx;
    if (tx?.state === TransactionState.Proceeding) {
      tx.respond(this.#response(this.#invite, 487));
    }
    this.#end(this.#info(487, "CANCEL", "remote", q850Cause(cancel) ?? 16, "Request Terminated"));
  }

  // ===============================================================================================================
  // UAC operations
  // ===============================================================================================================

  /** @internal Sends the INVITE of an outgoing call (after the media handler made the offer). */
  async start(): Promise<void> {
    const out = this.#outgoing;
    if (out === undefined) {
      throw new SessionStateError("start() is for outgoing calls");
    }
    if (!out.offerless) {
      const offer = await this.#media.getOffer({});
      this.#setBody(this.#invite, offer);
      this.#oa = OA.HaveLocalOffer;
    }
    if (this.#state !== S.Calling) {
      return;
    }
    if (out.ringTimeoutMs !== undefined) {
      this.#timers.start("ring", out.ringTimeoutMs, () => this.hangup({ cause: 19, text: "No answer" }));
    }
    this.#sendInvite();
  }

  #sendInvite(): void {
    const out = this.#outgoing;
    if (out === undefined) {
      return;
    }
    const destination = this.#host.route(this.#invite, out.destination);
    this.#inviteDestination = destination;
    this.#host.stampVia(this.#invite, destination);
    try {
      this.#host.layer.request(this.#invite, destination, {
        receiveResponse: (r) => this.#guard("INVITE response", this.#onInviteResponse(r)),
        onRequestTimeout: () => this.#end(this.#info(408, "timeout", "local", 102)),
        onTransportError: () => this.#end(this.#info(503, "failed", "local", 38)),
      });
    } catch (error) {
      this.#logger.warn("cannot send INVITE", { error });
      this.#end(this.#info(503, "failed", "local", 38));
    }
  }

  /** A new INVITE for a retry (422, 401/407): same Call-ID and From tag, next CSeq, no Via (§8.1.3.5, RFC 4028 §7.4). */
  #retryInvite(): SipRequest {
    const old = this.#invite;
    const retry = new SipRequest("INVITE", old.uri.clone());
    for (const [name, value] of old.headers()) {
      if (!/^(via|v|cseq|authorization|proxy-authorization)$/i.test(name)) {
        retry.addHeader(name, value);
      }
    }
    retry.setHeader("CSeq", new CSeq(old.cseq.seq + 1, "INVITE"));
    retry.body = old.body;
    this.#early.forEach((d) => this.#host.unregisterDialog(d));
    this.#early.clear();
    this.#lastRSeq.clear();
    return retry;
  }

  async #onInviteResponse(r: SipResponse): Promise<void> {
    const status = r.status;
    if (this.#state === S.Terminated) {
      if (status >= 200 && status < 300) {
        this.#ackAndBye(r);
      }
      return;
    }
    if (status < 200) {
      await this.#onProvisional(r);
    } else if (status < 300) {
      await this.#on2xx(r);
    } else {
      this.#onFailure(r);
    }
  }

  async #onProvisional(r: SipResponse): Promise<void> {
    // §9.1: any provisional response, 100 included, allows the CANCEL.
    this.#provisionalReceived = true;
    if (this.#cancel !== undefined && !this.#cancelSent) {
      this.#sendCancel();
    }
    if (r.status === 100) {
      return;
    }
    const tag = r.to.tag;
    let dialog: Dialog | undefined;
    if (tag !== undefined) {
      dialog = this.#early.get(tag);
      if (dialog === undefined) {
        dialog = Dialog.uac(this.#invite, r, DialogState.Early);
        this.#early.set(tag, dialog);
        this.#host.registerDialog(dialog, this);
      }
      dialog.receiveResponse(r, false);
    }
    const rseq = parseRSeq(r);
    const reliable = dialog !== undefined && rseq !== undefined && hasOption(r, "Require", "100rel");
    if (dialog !== undefined && rseq !== undefined && reliable) {
      // RFC 3262 §4: "the UAC ... MUST NOT [acknowledge] a retransmission" and responses are acknowledged in order
      // (RSeq one higher than the last).
      const last = this.#lastRSeq.get(dialog.key);
      if (last !== undefined && rseq !== last + 1) {
        return;
      }
      this.#lastRSeq.set(dialog.key, rseq);
      const prack = dialog.createRequest("PRACK");
      prack.setHeader("RAck", `${rseq} ${r.cseq.seq} INVITE`);
      this.#sendInDialog(
        dialog,
        prack,
        () => undefined,
        () => undefined,
      );
    }
    let earlyMedia = false;
    if (r.body.length > 0 && this.#oa === OA.HaveLocalOffer) {
      // RFC 3261 §13.2.1 / the doc: the first SDP in a provisional response is the answer.
      this.#oa = OA.Stable;
      earlyMedia = true;
      this.#earlyAnswer = { tag, sdp: r.bodyText };
    }
    if (this.#state === S.Terminated) {
      return;
    }
    this.ringingAt ??= this.#host.now();
    if (this.#state === S.Calling) {
      this.#transition(S.Early);
    }
    // Announced before the (asynchronous) media update, so that a 2xx racing in behind the 18x cannot report the
    // call answered before it was reported early.
    this.emit("progress", r.status, { earlyMedia, reliable, toTag: tag });
    if (earlyMedia) {
      await this.#media.setAnswer(r.bodyText);
    }
  }

  /** Builds and sends the ACK of a 2xx (RFC 3261 §13.2.2.4), remembering it for 2xx retransmissions. */
  #sendAck(dialog: Dialog, cseq: number, sdp?: string): void {
    const ack = dialog.createRequest("ACK", cseq);
    const destination = dialog.nextHop(ack, this.#transportOf());
    if (destination === undefined) {
      return;
    }
    this.#host.stampVia(ack, destination);
    this.#setBody(ack, sdp);
    this.#ack = { cseq, ack, destination };
    this.#host.layer.sendStateless(ack, destination);
  }

  /** A 2xx for a dialog we do not keep (second fork, or the call already ended): ACK it, then BYE (§13.2.2.4). */
  #ackAndBye(r: SipResponse): void {
    if (r.to.tag === undefined) {
      return;
    }
    const dialog = Dialog.uac(this.#invite, r, DialogState.Confirmed);
    dialog.receiveResponse(r, true);
    const ack = dialog.createRequest("ACK", r.cseq.seq);
    const destination = dialog.nextHop(ack, this.#transportOf());
    if (destination === undefined) {
      return;
    }
    this.#host.stampVia(ack, destination);
    this.#host.layer.sendStateless(ack, destination);
    const bye = dialog.createRequest("BYE");
    bye.setHeader("Reason", formatQ850Reason(16));
    const byeDestination = dialog.nextHop(bye, this.#transportOf());
    if (byeDestination === undefined) {
      return;
    }
    this.#host.stampVia(bye, byeDestination);
    try {
      this.#host.layer.request(bye, byeDestination, {});
    } catch (error) {
      this.#logger.warn("cannot send BYE", { error });
    }
  }

  async #on2xx(r: SipResponse): Promise<void> {
    const tag = r.to.tag;
    if (tag === undefined) {
      return;
    }
    if (this.#dialog !== undefined) {
      if (this.#dialog.remoteTag === tag) {
        // A retransmitted 2xx: the ACK was lost (§13.2.2.4: "The UAC core MUST generate an ACK request for each
        // 2xx received from the transaction layer").
        if (this.#ack !== undefined && this.#ack.cseq === r.cseq.seq) {
          this.#host.layer.sendStateless(this.#ack.ack, this.#ack.destination);
        }
      } else {
        this.#ackAndBye(r);
      }
      return;
    }
    this.#timers.stop("ring");
    let dialog = this.#early.get(tag);
    if (dialog === undefined) {
      dialog = Dialog.uac(this.#invite, r, DialogState.Early);
      this.#host.registerDialog(dialog, this);
    } else {
      this.#early.delete(tag);
    }
    dialog.receiveResponse(r, true);
    dialog.transition(DialogState.Confirmed);
    this.#dialog = dialog;
    // The other forks' early dialogs end (§13.2.2.4).
    for (const other of this.#early.values()) {
      other.transition(DialogState.Terminated);
      this.#host.unregisterDialog(other);
    }
    this.#early.clear();
    this.answeredAt = this.#host.now();
    this.#peerAllowsUpdate = hasOption(r, "Allow", "UPDATE");
    const se = parseSessionExpires(r);
    if (se !== undefined) {
      // RFC 4028 §7.2: the 2xx names the refresher; we are the UAC.
      this.#sessionTimer = { interval: se.interval, local: se.refresher !== "uas" };
    }
    if (this.#cancel !== undefined) {
      // CANCEL crossed the 2xx: ACK, then BYE (RFC 3261 §15, the doc's "CANCEL/200 race").
      this.#sendAck(dialog, r.cseq.seq);
      const opts = this.#cancel;
      // Already Terminating since hangup(): the BYE is the rest of that hangup.
      this.#sendBye(opts, undefined, () => this.#end(this.#info(200, "BYE", "local", opts.cause ?? 16, opts.text)));
      return;
    }
    let ackSdp: string | undefined;
    const early = this.#earlyAnswer;
    if (this.#oa === OA.HaveLocalOffer && r.body.length > 0) {
      this.#oa = OA.Stable;
      await this.#media.setAnswer(r.bodyText);
    } else if (early !== undefined && r.body.length > 0 && (early.tag !== tag || early.sdp !== r.bodyText)) {
      // The early answer came from another fork (or changed): the answering fork's SDP is the session's answer
      // (RFC 3261 §13.2.1 gives each early dialog its own exchange). Unchanged SDP is not applied twice (the doc's
      // "do not renegotiate on the 200 if it is unchanged").
      await this.#media.setAnswer(r.bodyText);
    } else if (this.#oa === OA.NoOffer) {
      if (r.body.length === 0) {
        // An offerless INVITE needs the offer in the 2xx (RFC 3261 §13.2.1); without one the session cannot start.
        this.#sendAck(dialog, r.cseq.seq);
        this.#transition(S.Confirmed);
        this.#transition(S.Terminating);
        this.#sendBye({ cause: 47 }, undefined, () =>
          this.#end(this.#info(200, "failed", "local", 47, "No offer in 2xx")),
        );
        return;
      }
      this.#oa = OA.HaveRemoteOffer;
      try {
        ackSdp = await this.#media.processOffer(r.bodyText);
        this.#oa = OA.Stable;
      } catch {
        this.#sendAck(dialog, r.cseq.seq);
        this.#transition(S.Confirmed);
        this.#transition(S.Terminating);
        this.#sendBye({ cause: 88 }, undefined, () => this.#end(this.#info(488, "failed", "local", 88)));
        return;
      }
    }
    if (this.#state === S.Terminated || this.#state === S.Terminating) {
      return;
    }
    this.#sendAck(dialog, r.cseq.seq, ackSdp);
    this.#transition(S.Confirmed);
    this.emit("answered");
    this.emit("confirmed");
  }

  #onFailure(r: SipResponse): void {
    const status = r.status;
    if (status === 422 && this.#retries < 3 && this.#cancel === undefined) {
      // RFC 4028 §7.4: "the UAC MAY retry the INVITE with a Session-Expires ... at least as large as the Min-SE".
      const minSE = parseMinSE(r);
      if (minSE !== undefined && minSE > this.#requestedSE) {
        this.#retries += 1;
        this.#requestedSE = minSE;
        const retry = this.#retryInvite();
        retry.setHeader("Session-Expires", String(minSE));
        retry.setHeader("Min-SE", String(minSE));
        this.#invite = retry;
        this.#sendInvite();
        return;
      }
    }
    const credentials = this.#outgoing?.credentials;
    if (
      (status === 401 || status === 407) &&
      credentials !== undefined &&
      this.#cancel === undefined &&
      this.#authRetryAllowed(r)
    ) {
      // RFC 3261 §22.2: resend with credentials. One retry per call, plus one more when the server says the nonce
      // was only stale (RFC 2617 §3.2.1); the DigestClient also refuses a re-challenge of an answered nonce.
      this.#digest ??= new DigestClient(credentials);
      const retry = this.#retryInvite();
      try {
        this.#digest.authorize(retry, r);
        this.#authRetries += 1;
        this.#invite = retry;
        this.#sendInvite();
        return;
      } catch (error) {
        this.#logger.info("digest challenge not answerable", { callId: this.callId, error: String(error) });
      }
    }
    const cancelled = this.#cancel !== undefined;
    const by: HangupSide = cancelled ? "local" : "remote";
    const ending = cancelled ? "CANCEL" : "rejected";
    const cause = cancelled ? (this.#cancel?.cause ?? 16) : (q850Cause(r) ?? statusToQ850(status));
    this.#end(this.#info(status, ending, by, cause, r.reason));
  }

  /** A first challenge may be answered; later ones only when they say the nonce was stale. */
  #authRetryAllowed(r: SipResponse): boolean {
    if (this.#authRetries === 0) {
      return true;
    }
    if (this.#authRetries >= 2) {
      return false;
    }
    try {
      const header = r.status === 407 ? "Proxy-Authenticate" : "WWW-Authenticate";
      return r.authHeaders(header).some((h) => h.stale);
    } catch {
      return false;
    }
  }

  #sendCancel(): void {
    const out = this.#outgoing;
    const opts = this.#cancel;
    if (out === undefined || opts === undefined) {
      return;
    }
    this.#cancelSent = true;
    // §9.1: "If there is no final response for the original request in 64*T1 seconds ... the client SHOULD then
    // consider the original transaction cancelled and SHOULD destroy the client transaction".
    this.#timers.start("cancelGiveUp", 64 * this.#host.timers.T1, () =>
      this.#end(this.#info(487, "CANCEL", "local", opts.cause ?? 16, "No final response to CANCEL")),
    );
    const cancel = createCancel(this.#invite, formatQ850Reason(opts.cause ?? 16, opts.text));
    try {
      // §9.1: the CANCEL goes where the INVITE went, over the same transport (it copies the INVITE's Via).
      this.#host.layer.request(cancel, this.#inviteDestination ?? out.destination, {});
    } catch (error) {
      this.#logger.warn("cannot send CANCEL", { error });
    }
  }

  // ===============================================================================================================
  // Both sides
  // ===============================================================================================================

  /**
   * Ends the call from our side: CANCEL before an answer (UAC; deferred until a provisional arrived, §9.1), a
   * rejection (UAS before answering, 480 unless `status` is given), BYE once answered (deferred until the ACK on the
   * UAS side, §15). Idempotent.
   */
  hangup(options: EndOptions & { readonly status?: number } = {}): void {
    switch (this.#state) {
      case S.Incoming:
      case S.Early:
        if (this.role === "uas") {
          this.reject(options.status ?? 480, options);
          return;
        }
        this.#cancelOutgoing(options);
        return;
      case S.Calling:
        this.#cancelOutgoing(options);
        return;
      case S.Accepted:
        // §15: "the callee's UA MUST NOT send a BYE on a confirmed dialog until it has received an ACK for its 2xx
        // response or until the server transaction times out."
        this.#byeAfterAck = options;
        return;
      case S.Confirmed:
        this.#transition(S.Terminating);
        this.#sendBye(options, undefined, () =>
          this.#end(this.#info(200, "BYE", "local", options.cause ?? 16, options.text)),
        );
        return;
      default:
        return;
    }
  }

  #cancelOutgoing(options: EndOptions): void {
    this.#timers.stop("ring");
    this.#cancel = options;
    this.#transition(S.Terminating);
    // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent; rather, the client
    // MUST wait for the arrival of a provisional response before sending the request."
    if (this.#provisionalReceived) {
      this.#sendCancel();
    }
  }

  /**
   * Sends an INFO inside the dialog (RFC 6086; legacy usage without Info-Package, as carriers send DTMF) and resolves
   * with the final status: 408 on timeout, 503 on a transport failure.
   * @throws {SessionStateError} unless the call is answered (Accepted or Confirmed).
   */
  info(contentType: string, body: string): Promise<number> {
    this.#require(S.Accepted, S.Confirmed);
    const dialog = this.#dialog;
    if (dialog === undefined) {
      throw new SessionStateError("no dialog");
    }
    const req = dialog.createRequest("INFO");
    req.setHeader("Content-Type", contentType);
    req.bodyText = body;
    return new Promise((resolve) => {
      this.#sendInDialog(
        dialog,
        req,
        (r) => {
          if (r.status >= 200) {
            resolve(r.status);
          }
        },
        resolve,
      );
    });
  }

  /**
   * Sends a re-INVITE (RFC 3261 §14.1) with a new offer from the media handler, e.g. to hold or resume. On 491 it
   * retries after the §14.1 back-off (2.1–4 s when we own the Call-ID, else 0–2 s).
   * @throws {SessionStateError} unless the call is Confirmed with no negotiation in progress.
   */
  async reinvite(request: OfferRequest = {}): Promise<void> {
    await this.#reoffer("INVITE", request);
  }

  /** Sends an UPDATE with a new offer (RFC 3311). Same rules as {@link reinvite}. */
  async update(request: OfferRequest = {}): Promise<void> {
    await this.#reoffer("UPDATE", request);
  }

  /** Puts the peer on hold (re-INVITE with a sendonly offer, RFC 3264 §8.4). */
  hold(): Promise<void> {
    return this.reinvite({ hold: true });
  }

  /** Takes the peer off hold. */
  unhold(): Promise<void> {
    return this.reinvite({ hold: false });
  }

  async #reoffer(method: "INVITE" | "UPDATE", request: OfferRequest, bodyless = false): Promise<void> {
    this.#require(S.Confirmed);
    if (this.#clientReoffer !== undefined || this.#oa !== OA.Stable || this.#serverReoffer !== undefined) {
      throw new SessionStateError("a negotiation is already in progress");
    }
    const dialog = this.#dialog;
    if (dialog === undefined) {
      throw new SessionStateError("no dialog");
    }
    const sdp = bodyless ? undefined : await this.#media.getOffer(request);
    if (this.#state !== S.Confirmed) {
      return;
    }
    if (this.#clientReoffer !== undefined || this.#oa !== OA.Stable || this.#serverReoffer !== undefined) {
      // The peer's offer (or another local one) got in while the media handler prepared ours: report it like a 491
      // so the application can retry; nothing was sent.
      this.emit("renegotiationFailed", 491);
      return;
    }
    const req = dialog.createRequest(method);
    const destination = dialog.nextHop(req, this.#transportOf());
    if (destination !== undefined) {
      this.#decorate(req, destination);
    }
    if (this.#sessionTimer !== undefined) {
      // RFC 4028 §7.4/§8: a refresh request names the refresher; whoever sends it is the "uac" of that transaction.
      req.setHeader(
        "Session-Expires",
        `${this.#sessionTimer.interval};refresher=${this.#sessionTimer.local ? "uac" : "uas"}`,
      );
      req.setHeader("Min-SE", String(this.#host.sessionTimer.minSE));
    }
    this.#setBody(req, sdp);
    if (sdp !== undefined) {
      this.#oa = OA.HaveLocalOffer;
    }
    const cseq = req.cseq.seq;
    const done = (): void => {
      this.#clientReoffer = undefined;
    };
    this.#clientReoffer = this.#sendInDialog(
      dialog,
      req,
      (r) => {
        if (r.status < 200) {
          return;
        }
        if (method === "INVITE" && r.status < 300 && this.#clientReoffer === undefined) {
          // A retransmitted 2xx of a finished re-INVITE: re-send the ACK.
          if (this.#ack?.cseq === r.cseq.seq) {
            this.#host.layer.sendStateless(this.#ack.ack, this.#ack.destination);
          }
          return;
        }
        done();
        this.#guard(
          "re-offer response",
          this.#onReofferResponse(method, request, cseq, sdp !== undefined, bodyless, r),
        );
      },
      (status) => {
        done();
        if (sdp !== undefined) {
          this.#oa = OA.Stable;
        }
        this.#reofferFailed(status);
      },
    );
    if (this.#clientReoffer === undefined && sdp !== undefined) {
      this.#oa = OA.Stable;
    }
  }

  async #onReofferResponse(
    method: "INVITE" | "UPDATE",
    request: OfferRequest,
    cseq: number,
    offered: boolean,
    bodyless: boolean,
    r: SipResponse,
  ): Promise<void> {
    const dialog = this.#dialog;
    if (dialog === undefined || this.#state === S.Terminated) {
      return;
    }
    if (r.status >= 300) {
      if (offered) {
        this.#oa = OA.Stable;
      }
      if (r.status === 491) {
        // RFC 3261 §14.1: "If the UAC ... owns the Call-ID of the dialog ID ... it SHOULD start a timer with a value
        // of T chosen as follows ... a randomly chosen value of time between 2.1 and 4 seconds in units of 10 ms. If
        // the UAC does not own the Call-ID ... between 0 and 2 seconds in units of 10 ms."
        const tenMs =
          this.role === "uac" ? 210 + Math.floor(this.#host.random() * 191) : Math.floor(this.#host.random() * 201);
        this.#timers.start("glare", tenMs * 10, () => {
          if (this.#state === S.Confirmed) {
            this.#reoffer(method, request, bodyless).catch((error: unknown) =>
              this.#logger.info("re-offer after glare not sent", { error: String(error) }),
            );
          }
        });
        return;
      }
      this.#reofferFailed(r.status);
      return;
    }
    dialog.receiveResponse(r, false);
    if (method === "INVITE") {
      this.#sendAck(dialog, cseq);
    }
    if (offered && r.body.length > 0) {
      this.#oa = OA.Stable;
      await this.#media.setAnswer(r.bodyText);
      this.localHold = request.hold === true;
    } else if (offered) {
      this.#oa = OA.Stable;
    }
    // RFC 4028 §7.2: a 2xx without Session-Expires means no session expiration from now on.
    const se = parseSessionExpires(r);
    this.#sessionTimer = se === undefined ? undefined : { interval: se.interval, local: se.refresher !== "uas" };
    this.#startSessionTimer();
    if (this.#sessionTimer !== undefined) {
      this.emit("refreshed");
    }
    this.emit("renegotiated", "local");
  }

  #reofferFailed(status: number): void {
    this.emit("renegotiationFailed", status);
    // RFC 3261 §12.2.1.2: "If the response for a request within a dialog is a 481 (Call/Transaction Does Not Exist)
    // or a 408 (Request Timeout), the UAC SHOULD terminate the dialog."
    if ((status === 481 || status === 408) && this.#state === S.Confirmed) {
      this.#transition(S.Terminating);
      this.#sendBye({ cause: 41 }, undefined, () =>
        this.#end(this.#info(200, "failed", "local", 41, reasonPhrase(status))),
      );
    }
  }

  // ===============================================================================================================
  // Session timers (RFC 4028)
  // ===============================================================================================================

  /**
   * Adds Session-Expires/Require: timer to our 2xx (RFC 4028 §9): when the request asked for a session interval the
   * UAS echoes it with the refresher it chose (the requester's choice, else the UAC when it supports timers).
   */
  #sessionTimerHeaders(response: SipResponse, request: SipRequest): void {
    if (!this.#host.sessionTimer.enabled) {
      return;
    }
    const se = parseSessionExpires(request);
    if (se === undefined) {
      return;
    }
    const uacSupports = hasOption(request, "Supported", "timer");
    const refresher = se.refresher ?? (uacSupports ? "uac" : "uas");
    const interval = Math.max(se.interval, this.#host.sessionTimer.minSE);
    response.setHeader("Session-Expires", `${interval};refresher=${refresher}`);
    if (uacSupports) {
      response.addHeader("Require", "timer");
    }
    // We answer the request: "uac" is the peer.
    this.#sessionTimer = { interval, local: refresher === "uas" };
  }

  /**
   * (Re)starts the session timer: the refresher refreshes at half the interval (RFC 4028 §10), the other side sends
   * BYE "at the session expiration minus the minimum of 32 seconds and one third of the session interval" without
   * a refresh (§10).
   */
  #startSessionTimer(): void {
    this.#timers.stop("refresh");
    this.#timers.stop("expire");
    const st = this.#sessionTimer;
    if (st === undefined || this.#state !== S.Confirmed) {
      return;
    }
    if (st.local) {
      this.#timers.start("refresh", (st.interval * 1000) / 2, () => this.#refresh());
    } else {
      const ms = (st.interval - Math.min(32, st.interval / 3)) * 1000;
      this.#timers.start("expire", ms, () => {
        if (this.#state !== S.Confirmed) {
          return;
        }
        this.#transition(S.Terminating);
        const info = this.#info(200, "session-expired", "local", 102, "Session timer expired");
        this.#sendBye({}, 'SIP;cause=408;text="Session timer expired"', () => this.#end(info));
      });
    }
  }

  /** A refresh: UPDATE without a body when the peer allows UPDATE, else a re-INVITE with the unchanged session. */
  #refresh(): void {
    if (this.#state !== S.Confirmed) {
      return;
    }
    if (this.#clientReoffer !== undefined || this.#oa !== OA.Stable || this.#serverReoffer !== undefined) {
      // A negotiation is in progress; its completion refreshes the session too. Try again shortly.
      this.#timers.start("refresh", this.#host.timers.T2, () => this.#refresh());
      return;
    }
    const work = this.#peerAllowsUpdate
      ? this.#reoffer("UPDATE", { refresh: true }, true)
      : this.#reoffer("INVITE", { refresh: true });
    work.catch((error: unknown) => this.#logger.info("session refresh not sent", { error: String(error) }));
  }

  // ===============================================================================================================
  // Requests from the peer inside the dialog
  // ===============================================================================================================

  /** @internal An in-dialog request for one of this session's dialogs. */
  receiveRequest(dialog: Dialog, request: SipRequest, tx: ServerTransaction): void {
    if (dialog.receiveRequest(request) === "out-of-order") {
      // RFC 3261 §12.2.2: lower CSeq → 500.
      tx.respond(this.#response(request, 500, "Server Internal Error (CSeq out of order)"));
      return;
    }
    switch (request.method) {
      case "BYE":
        this.#onBye(request, tx);
        return;
      case "INVITE":
      case "UPDATE":
        this.#guard("re-offer", this.#onReoffer(request, tx));
        return;
      case "PRACK":
        this.#onPrack(request, tx);
        return;
      case "INFO":
        // RFC 6086: answered 200; the body (e.g. application/dtmf-relay) goes to the application.
        tx.respond(this.#response(request, 200));
        this.emit("info", request);
        return;
      case "OPTIONS": {
        const r = this.#response(request, 200);
        r.setHeader("Allow", ALLOWED_METHODS.join(", "));
        r.setHeader("Accept", ACCEPTED_TYPES.join(", "));
        r.setHeader("Supported", SUPPORTED_OPTIONS.join(", "));
        tx.respond(r);
        return;
      }
      default: {
        const r = this.#response(request, 405);
        r.setHeader("Allow", ALLOWED_METHODS.join(", "));
        tx.respond(r);
      }
    }
  }

  #onBye(bye: SipRequest, tx: ServerTransaction): void {
    tx.respond(this.#response(bye, 200));
    // RFC 3261 §15.1.2: a BYE in an early dialog (UAS side) also ends the INVITE with 487.
    if (this.#serverTx?.state === TransactionState.Proceeding) {
      this.#serverTx.respond(this.#response(this.#invite, 487));
    }
    const answered = this.answeredAt !== undefined;
    this.#end(
      this.#info(answered ? 200 : 487, "BYE", "remote", q850Cause(bye) ?? 16, answered ? "BYE" : "Request Terminated"),
    );
  }

  /** RFC 3262 §3: a PRACK matching the outstanding reliable provisional gets 200; anything else 481. */
  #onPrack(prack: SipRequest, tx: ServerTransaction): void {
    const rack = parseRAck(prack);
    const pending = this.#reliable;
    const matches = rack?.rseq === pending?.rseq && rack?.cseq === this.#invite.cseq.seq && rack?.method === "INVITE";
    if (pending === undefined || !matches) {
      tx.respond(this.#response(prack, 481));
      return;
    }
    tx.respond(this.#response(prack, 200));
    this.#timers.stop("rel");
    this.#timers.stop("relGiveUp");
    this.#reliable = undefined;
    if (pending.sdp) {
      // The answer in a PRACKed reliable provisional completes the offer/answer exchange (RFC 3262 §5).
      this.#oa = OA.Stable;
    }
    for (const waiter of this.#prackWaiters.splice(0)) {
      waiter();
    }
  }

  /** A re-INVITE or UPDATE from the peer: glare checks, offer/answer, hold detection, session refresh. */
  async #onReoffer(request: SipRequest, tx: ServerTransaction): Promise<void> {
    const isInvite = request.method === "INVITE";
    const hasSdp = request.body.length > 0;
    if (isInvite && this.#state !== S.Confirmed) {
      // §14.2: a second INVITE before the first's final response → 500 with Retry-After.
      this.#retryLater(request, tx);
      return;
    }
    if (!isInvite && this.#state === S.Terminating) {
      tx.respond(this.#response(request, 481));
      return;
    }
    if (this.#clientReoffer !== undefined || this.#oa === OA.HaveLocalOffer) {
      if (isInvite || hasSdp) {
        // §14.2: "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that dialog is in progress
        // MUST return a 491 (Request Pending)"; RFC 3311 §5.2 likewise for an UPDATE offer.
        tx.respond(this.#response(request, 491));
        return;
      }
    }
    if (this.#serverReoffer !== undefined || this.#oa === OA.HaveRemoteOffer) {
      this.#retryLater(request, tx);
      return;
    }
    const se = parseSessionExpires(request);
    if (se !== undefined && se.interval < this.#host.sessionTimer.minSE && this.#host.sessionTimer.enabled) {
      const r = this.#response(request, 422);
      r.setHeader("Min-SE", String(this.#host.sessionTimer.minSE));
      tx.respond(r);
      return;
    }
    this.#serverReoffer = tx;
    let sdp: string | undefined;
    let offered = false;
    try {
      if (hasSdp) {
        this.#oa = OA.HaveRemoteOffer;
        const held = isHoldOffer(request.bodyText);
        sdp = await this.#media.processOffer(request.bodyText);
        this.#oa = OA.Stable;
        if (held !== this.remoteHold) {
          this.remoteHold = held;
          this.emit("remoteHold", held);
        }
      } else if (isInvite) {
        // An offerless re-INVITE: our offer goes in the 2xx, the answer comes in the ACK (§14.2).
        sdp = await this.#media.getOffer({ refresh: true });
        this.#oa = OA.HaveLocalOffer;
        offered = true;
      }
    } catch (error) {
      this.#serverReoffer = undefined;
      this.#oa = OA.Stable;
      this.#logger.info("re-offer not acceptable", { callId: this.callId, error: String(error) });
      if (tx.state === TransactionState.Trying || tx.state === TransactionState.Proceeding) {
        tx.respond(this.#response(request, 488));
      }
      return;
    }
    this.#serverReoffer = undefined;
    if (
      this.#state === S.Terminated ||
      (tx.state !== TransactionState.Trying && tx.state !== TransactionState.Proceeding)
    ) {
      return;
    }
    const r = this.#response(request, 200);
    this.#decorate(r, tx.destination);
    if (se !== undefined) {
      this.#sessionTimerHeaders(r, request);
    } else if (this.#sessionTimer !== undefined) {
      // RFC 4028 §9: every re-INVITE/UPDATE renegotiates the session timer; one without Session-Expires does not
      // ask for it, so the timer stops (never a BYE for a refresh the peer does not know it owes).
      this.#sessionTimer = undefined;
      this.#timers.stop("refresh");
      this.#timers.stop("expire");
    }
    this.#setBody(r, sdp);
    tx.respond(r);
    if (isInvite) {
      this.#start2xx({ response: r, cseq: request.cseq.seq, destination: tx.destination, offer: offered });
    }
    if (this.#sessionTimer !== undefined) {
      this.#startSessionTimer();
      this.emit("refreshed");
    }
    this.emit("renegotiated", "remote");
  }

  /** §14.2: "500 (Server Internal Error) response and MUST include a Retry-After header field with a randomly chosen
   * value of between 0 and 10 seconds." */
  #retryLater(request: SipRequest, tx: ServerTransaction): void {
    const r = this.#response(request, 500);
    r.setHeader("Retry-After", String(Math.floor(this.#host.random() * 11)));
    tx.respond(r);
  }

  /** @internal The ACK of one of our 2xx (RFC 3261 §13.3.1.4): stop retransmitting, take the answer it carries. */
  onAck(ack: SipRequest): void {
    const pending = this.#pending2xx;
    if (pending?.cseq !== ack.cseq.seq) {
      return;
    }
    this.#pending2xx = undefined;
    this.#timers.stop("2xx");
    this.#timers.stop("2xxGiveUp");
    if (pending.offer) {
      if (ack.body.length > 0) {
        this.#oa = OA.Stable;
        this.#guard("answer in ACK", Promise.resolve(this.#media.setAnswer(ack.bodyText)));
      } else {
        // §13.3.1.4 / RFC 3264: our offer got no answer; the session cannot proceed.
        this.#oa = OA.Stable;
        if (this.#state === S.Accepted) {
          this.#transition(S.Confirmed);
        }
        this.hangup({ cause: 47, text: "No answer in ACK" });
        return;
      }
    }
    if (this.#state === S.Accepted) {
      this.#transition(S.Confirmed);
      this.emit("confirmed");
      const deferred = this.#byeAfterAck;
      if (deferred !== undefined) {
        this.hangup(deferred);
      }
    }
  }

  /** @internal A 2xx that matched no client transaction (after Timer M, or a late fork). */
  onStrayResponse(r: SipResponse): void {
    if (r.status < 200 || r.status >= 300 || r.cseq.method !== "INVITE") {
      return;
    }
    if (this.#dialog?.remoteTag === r.to.tag && this.#ack?.cseq === r.cseq.seq) {
      this.#host.layer.sendStateless(this.#ack.ack, this.#ack.destination);
      return;
    }
    if (this.#dialog?.remoteTag !== r.to.tag) {
      this.#ackAndBye(r);
    }
  }

  /** @internal Shuts the call down without signalling (user agent closing). */
  dispose(): void {
    this.#end(this.#info(503, "failed", "local", 41, "User agent closed"));
  }
}
