/**
 * One call: the INVITE dialog usage and its session (RFC 3261 §13–§15), with offer/answer (RFC 3264), reliable
 * provisional responses (RFC 3262), UPDATE (RFC 3311) and session timers (RFC 4028). Created by the
 * {@link UserAgent} for each incoming INVITE and each outgoing call; media is reached only through a
 * {@link MediaHandler}.
 *
 * This class is the public face of the call; the work is split by role, as SIP.js splits its user agents:
 * {@link SessionDialog} (state machine, dialog, sending helpers), {@link InviteClient} and {@link InviteClient2xx}
 * (outgoing INVITE, digest retry, CANCEL), {@link InviteServer} (incoming INVITE, 100rel/PRACK),
 * {@link ReofferClient} and {@link ReofferServer} (re-INVITE/UPDATE, glare), {@link SessionTimer} (RFC 4028) and
 * `SessionInfo.ts` (INFO). State lives in two enums ({@link SessionState}, {@link OfferAnswerState}).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13
 */

import type { Dialog } from "../dialog/Dialog.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import type { InviteServerTransaction } from "../transaction/InviteServerTransaction.js";
import type { ServerTransaction } from "../transaction/TransactionLayer.js";
import { TransactionState } from "../transaction/TransactionState.js";
import { TypedEmitter } from "../TypedEmitter.js";
import {
  ACCEPTED_TYPES,
  ALLOWED_METHODS,
  hasOption,
  q850Cause,
  SUPPORTED_OPTIONS,
  type CallIdentity,
} from "./headers.js";
import { InviteClient } from "./InviteClient.js";
import { InviteServer } from "./InviteServer.js";
import type { MediaHandler, OfferRequest } from "./MediaHandler.js";
import { ReofferClient } from "./ReofferClient.js";
import { ReofferServer } from "./ReofferServer.js";
import { SessionDialog } from "./SessionDialog.js";
import type { HoldOptions, HoldState } from "./SessionHold.js";
import { receiveInfo, sendInfo } from "./SessionInfo.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import { SessionTimer } from "./SessionTimer.js";
import {
  SessionStateError,
  type EndOptions,
  type InviteSessionEvents,
  type OutgoingInvite,
  type ProgressOptions,
  type SessionHostOf,
  type TerminationInfo,
} from "./sessionTypes.js";

export {
  SessionStateError,
  type EndOptions,
  type HangupSide,
  type InviteSessionEvents,
  type OutgoingInvite,
  type ProgressOptions,
  type SessionTimerConfig,
  type TerminationInfo,
} from "./sessionTypes.js";

/** What a session needs from its user agent. */
export type SessionHost = SessionHostOf<InviteSession>;

const S = SessionState;
const OA = OfferAnswerState;

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

  readonly #core: SessionDialog;
  readonly #media: MediaHandler;
  readonly #client: InviteClient | undefined;
  readonly #server: InviteServer | undefined;
  readonly #reofferClient: ReofferClient;
  readonly #reofferServer: ReofferServer;
  #byeAfterAck: EndOptions | undefined;

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
    this.#media = media;
    const links = {
      registerDialog: (dialog: Dialog): void => host.registerDialog(dialog, this),
      unregisterDialog: (dialog: Dialog): void => host.unregisterDialog(dialog),
      ended: (info: TerminationInfo): void => host.sessionEnded(this, info),
    };
    const uas = init.role === "uas";
    const invite = uas ? init.invite : init.outgoing.request;
    const hasSdp = uas && invite.body.length > 0;
    this.#core = new SessionDialog({
      role: init.role,
      host,
      media,
      events: {
        emit: <K extends keyof InviteSessionEvents>(event: K, ...args: InviteSessionEvents[K]): void => {
          this.emit(event, ...args);
        },
      },
      links,
      invite,
      localTag: uas ? init.localTag : (invite.from.tag ?? ""),
      transport: (uas ? init.tx.destination : init.outgoing.destination).transport,
      serverTx: uas ? init.tx : undefined,
      oa: hasSdp ? OA.HaveRemoteOffer : OA.NoOffer,
    });
    const firstRSeq = 1 + Math.floor(host.random() * 0x7fffffff);
    const timer = new SessionTimer(this.#core, (method) =>
      method === "UPDATE"
        ? this.#reofferClient.send("UPDATE", { refresh: true }, true)
        : this.#reofferClient.send("INVITE", { refresh: true }),
    );
    this.#core.onConfirmed = () => timer.start();
    this.#reofferClient = new ReofferClient(this.#core, timer);
    this.#reofferServer = new ReofferServer(this.#core, timer);
    this.role = init.role;
    this.callId = this.#core.callId;
    this.localTag = this.#core.localTag;
    this.startedAt = this.#core.startedAt;
    if (uas) {
      this.identity = init.identity;
      this.remoteOffer = hasSdp ? invite.bodyText : undefined;
      this.#core.peerAllowsUpdate = hasOption(invite, "Allow", "UPDATE");
      this.#server = new InviteServer(this.#core, timer, this.remoteOffer, firstRSeq);
    } else {
      this.identity = undefined;
      this.remoteOffer = undefined;
      this.#client = new InviteClient(this.#core, init.outgoing);
    }
  }

  /** Id of the incoming INVITE's server transaction (incoming calls). */
  get inviteTransactionId(): string | undefined {
    return this.#core.serverTx?.id;
  }

  /** The media handler this session negotiates through (SIP.js's `Session.sessionDescriptionHandler`). */
  get media(): MediaHandler {
    return this.#media;
  }

  /** Current call state. */
  get state(): SessionState {
    return this.#core.state;
  }

  /** Current offer/answer state. */
  get offerAnswer(): OfferAnswerState {
    return this.#core.oa;
  }

  /** The dialog of the call once answered (or the UAS's early dialog). */
  get dialog(): Dialog | undefined {
    return this.#core.dialog;
  }

  /** Early dialogs of an outgoing call, one per To tag that answered with a provisional (forking). */
  get earlyDialogs(): readonly Dialog[] {
    return [...this.#core.early.values()];
  }

  /** When the first provisional was sent or received. */
  get ringingAt(): number | undefined {
    return this.#core.ringingAt;
  }

  /** When the call was answered. */
  get answeredAt(): number | undefined {
    return this.#core.answeredAt;
  }

  /** We put the peer on hold. */
  get localHold(): boolean {
    return this.#core.localHold;
  }

  /** The peer put us on hold. */
  get remoteHold(): boolean {
    return this.#core.remoteHold;
  }

  /** The current session interval and whether we refresh, when session timers are active (RFC 4028). */
  get sessionTimer(): { readonly interval: number; readonly refresher: "local" | "remote" } | undefined {
    const st = this.#core.sessionTimer;
    return st === undefined ? undefined : { interval: st.interval, refresher: st.local ? "local" : "remote" };
  }

  /** How the call ended, once it has. */
  get termination(): TerminationInfo | undefined {
    return this.#core.ended;
  }

  /** Runs a UAS operation after the ones before it; rejects on an outgoing call. */
  #serverOp(what: string, work: (server: InviteServer) => Promise<void>): Promise<void> {
    const server = this.#server;
    if (server === undefined) {
      return Promise.reject(new SessionStateError(`${what}() is for incoming calls`));
    }
    return server.serial(() => work(server));
  }

  // ===============================================================================================================
  // Incoming calls (InviteServer)
  // ===============================================================================================================

  /**
   * Sends a provisional response (UAS): 180 Ringing, or 183 Session Progress with our answer as early media
   * (RFC 3261 §13.3.1.1). Reliable when asked and supported, or when the caller requires 100rel (RFC 3262 §3).
   * @throws {SessionStateError} unless the call is Incoming or Early.
   */
  progress(options: ProgressOptions = {}): Promise<void> {
    this.#core.require(S.Incoming, S.Early);
    return this.#serverOp("progress", (server) => server.progress(options));
  }

  /**
   * Answers the call with 200 OK (RFC 3261 §13.3.1.4): our answer to the INVITE's offer (unless a PRACKed reliable
   * 18x already delivered it), or our offer when the INVITE had none (the answer comes in the ACK). The 2xx is
   * retransmitted from T1, doubling to T2, until the ACK arrives; after 64·T1 the call is ended with BYE.
   * @throws {SessionStateError} unless the call is Incoming or Early.
   */
  answer(headers: readonly (readonly [string, string])[] = []): Promise<void> {
    this.#core.require(S.Incoming, S.Early);
    return this.#serverOp("answer", (server) => server.answer(headers));
  }

  /**
   * Rejects an incoming call with a final response (RFC 3261 §13.3.1.3), with a Reason header carrying `cause`.
   * @throws {SessionStateError} unless the call is Incoming or Early.
   */
  reject(status = 486, options: EndOptions = {}): void {
    this.#core.require(S.Incoming, S.Early);
    if (this.#server === undefined) {
      throw new SessionStateError("reject() takes a 3xx–6xx status on an incoming call");
    }
    this.#server.reject(status, options);
  }

  /** @internal Rejects the incoming call with 480 (cause 19) unless it is answered or ended within `ms`. */
  guardUnanswered(ms: number): void {
    this.#server?.guardUnanswered(ms);
  }

  /** A CANCEL for our INVITE arrived (the layer already answered it 200): 487 and end (RFC 3261 §9.2). */
  onCancel(cancel: SipRequest): void {
    this.#server?.onCancel(cancel);
  }

  // ===============================================================================================================
  // Outgoing calls (InviteClient)
  // ===============================================================================================================

  /** @internal Sends the INVITE of an outgoing call (after the media handler made the offer). */
  async start(): Promise<void> {
    if (this.#client === undefined) {
      throw new SessionStateError("start() is for outgoing calls");
    }
    await this.#client.start(() => this.hangup({ cause: 19, text: "No answer" }));
  }

  /** @internal A 2xx that matched no client transaction (after Timer M, or a late fork). */
  onStrayResponse(r: SipResponse): void {
    this.#client?.onStrayResponse(r);
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
    const core = this.#core;
    switch (core.state) {
      case S.Incoming:
      case S.Early:
      case S.Calling:
        if (this.#server !== undefined) {
          this.reject(options.status ?? 480, options);
        } else {
          this.#client?.cancel(options);
        }
        return;
      case S.Accepted:
        // §15: "the callee's UA MUST NOT send a BYE on a confirmed dialog until it has received an ACK for its 2xx
        // response or until the server transaction times out."
        this.#byeAfterAck = options;
        return;
      case S.Confirmed:
        core.transition(S.Terminating);
        core.sendBye(options, undefined, () =>
          core.end(core.info(200, "BYE", "local", options.cause ?? 16, options.text)),
        );
        return;
      default:
        return;
    }
  }

  /**
   * Sends an INFO inside the dialog (RFC 6086; legacy usage without Info-Package, as carriers send DTMF) and resolves
   * with the final status: 408 on timeout, 503 on a transport failure.
   * @throws {SessionStateError} unless the call is answered (Accepted or Confirmed).
   */
  info(contentType: string, body: string): Promise<number> {
    return sendInfo(this.#core, contentType, body);
  }

  /**
   * Sends a re-INVITE (RFC 3261 §14.1) with a new offer from the media handler, e.g. to hold or resume. On 491 it
   * retries after the §14.1 back-off (2.1–4 s when we own the Call-ID, else 0–2 s).
   * @throws {SessionStateError} unless the call is Confirmed with no negotiation in progress.
   */
  async reinvite(request: OfferRequest = {}): Promise<void> {
    await this.#reofferClient.send("INVITE", request);
  }

  /** Sends an UPDATE with a new offer (RFC 3311). Same rules as {@link reinvite}. */
  async update(request: OfferRequest = {}): Promise<void> {
    await this.#reofferClient.send("UPDATE", request);
  }

  /**
   * Puts the peer on hold (RFC 3264 §8.4): a re-INVITE (or an UPDATE, when asked and the peer allows it) whose
   * streams are `sendonly`, or `inactive` when the peer holds us too (sip/ua/SessionHold.ts). The `hold` event
   * reports the new state once the peer answered.
   * @throws {SessionStateError} unless the call is Confirmed with no negotiation in progress.
   */
  async hold(options: HoldOptions = {}): Promise<void> {
    await this.#reofferClient.send(this.#holdMethod(options), { hold: true });
  }

  /** Takes the peer off hold: streams back to `sendrecv`. Same rules as {@link hold}. */
  async unhold(options: HoldOptions = {}): Promise<void> {
    await this.#reofferClient.send(this.#holdMethod(options), { hold: false });
  }

  /** Both sides' hold state. */
  get holdState(): HoldState {
    return { local: this.#core.localHold, remote: this.#core.remoteHold };
  }

  #holdMethod(options: HoldOptions): "INVITE" | "UPDATE" {
    return options.update === true && this.#core.peerAllowsUpdate ? "UPDATE" : "INVITE";
  }

  // ===============================================================================================================
  // Requests from the peer inside the dialog
  // ===============================================================================================================

  /** @internal An in-dialog request for one of this session's dialogs. */
  receiveRequest(dialog: Dialog, request: SipRequest, tx: ServerTransaction): void {
    const core = this.#core;
    if (dialog.receiveRequest(request) === "out-of-order") {
      // RFC 3261 §12.2.2: lower CSeq → 500.
      tx.respond(core.response(request, 500, "Server Internal Error (CSeq out of order)"));
      return;
    }
    switch (request.method) {
      case "BYE":
        this.#onBye(request, tx);
        return;
      case "INVITE":
      case "UPDATE":
        core.guard("re-offer", this.#reofferServer.receive(request, tx));
        return;
      case "PRACK":
        if (this.#server === undefined) {
          tx.respond(core.response(request, 481));
        } else {
          this.#server.onPrack(request, tx);
        }
        return;
      case "INFO":
        receiveInfo(core, request, tx);
        return;
      case "OPTIONS": {
        const r = core.response(request, 200);
        r.setHeader("Allow", ALLOWED_METHODS.join(", "));
        r.setHeader("Accept", ACCEPTED_TYPES.join(", "));
        r.setHeader("Supported", SUPPORTED_OPTIONS.join(", "));
        tx.respond(r);
        return;
      }
      default: {
        const r = core.response(request, 405);
        r.setHeader("Allow", ALLOWED_METHODS.join(", "));
        tx.respond(r);
      }
    }
  }

  #onBye(bye: SipRequest, tx: ServerTransaction): void {
    const core = this.#core;
    tx.respond(core.response(bye, 200));
    // RFC 3261 §15.1.2: a BYE in an early dialog (UAS side) also ends the INVITE with 487.
    if (core.serverTx?.state === TransactionState.Proceeding) {
      core.serverTx.respond(core.response(core.invite, 487));
    }
    const answered = core.answeredAt !== undefined;
    core.end(
      core.info(answered ? 200 : 487, "BYE", "remote", q850Cause(bye) ?? 16, answered ? "BYE" : "Request Terminated"),
    );
  }

  /** @internal The ACK of one of our 2xx (RFC 3261 §13.3.1.4): stop retransmitting, take the answer it carries. */
  onAck(ack: SipRequest): void {
    const core = this.#core;
    const pending = core.pending2xx;
    if (pending?.cseq !== ack.cseq.seq) {
      return;
    }
    core.pending2xx = undefined;
    core.timers.stop("2xx");
    core.timers.stop("2xxGiveUp");
    if (pending.offer) {
      core.oa = OA.Stable;
      if (ack.body.length > 0) {
        core.guard("answer in ACK", Promise.resolve(core.media.setAnswer(ack.bodyText)));
      } else {
        // §13.3.1.4 / RFC 3264: our offer got no answer; the session cannot proceed.
        if (core.state === S.Accepted) {
          core.transition(S.Confirmed);
        }
        this.hangup({ cause: 47, text: "No answer in ACK" });
        return;
      }
    }
    if (core.state === S.Accepted) {
      core.transition(S.Confirmed);
      this.emit("confirmed");
      const deferred = this.#byeAfterAck;
      if (deferred !== undefined) {
        this.hangup(deferred);
      }
    }
  }

  /** @internal Shuts the call down without signalling (user agent closing). */
  dispose(): void {
    this.#core.end(this.#core.info(503, "failed", "local", 41, "User agent closed"));
  }
}
