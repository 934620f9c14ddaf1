/**
 * The INVITE server of an incoming call (RFC 3261 §13.3): provisional responses, reliable ones with their PRACKs
 * (RFC 3262), the 2xx with our answer (or our offer for an offerless INVITE), rejection, and the CANCEL of the
 * caller (§9.2).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13.3
 * @see https://www.rfc-editor.org/rfc/rfc3262
 */

import { Dialog } from "../dialog/Dialog.js";
import { DialogState } from "../dialog/DialogState.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import type { InviteServerTransaction } from "../transaction/InviteServerTransaction.js";
import { TransactionState } from "../transaction/TransactionState.js";
import type { ServerTransaction } from "../transaction/TransactionLayer.js";
import { formatQ850Reason, hasOption, parseRAck, q850Cause, statusToQ850 } from "./headers.js";
import { MediaUnavailableError } from "./MediaHandler.js";
import type { SessionDialog } from "./SessionDialog.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import type { SessionTimer } from "./SessionTimer.js";
import { SessionStateError, type EndOptions, type ProgressOptions } from "./sessionTypes.js";

const S = SessionState;
const OA = OfferAnswerState;

/** A reliable provisional awaiting its PRACK (RFC 3262 §3). */
interface Reliable1xx {
  readonly response: SipResponse;
  readonly rseq: number;
  readonly sdp: boolean;
}

type Headers = readonly (readonly [string, string])[];

export class InviteServer {
  readonly #core: SessionDialog;
  readonly #timer: SessionTimer;
  readonly #remoteOffer: string | undefined;
  #answer: string | undefined;
  #rseq: number;
  #reliable: Reliable1xx | undefined;
  readonly #prackWaiters: (() => void)[] = [];
  #ops: Promise<void> = Promise.resolve();

  /** `firstRSeq`: the RSeq of our first reliable provisional (random, RFC 3262 §3). */
  constructor(core: SessionDialog, timer: SessionTimer, remoteOffer: string | undefined, firstRSeq: number) {
    this.#core = core;
    this.#timer = timer;
    this.#remoteOffer = remoteOffer;
    this.#rseq = firstRSeq;
    core.endHooks.push(() => this.#wakePrackWaiters());
  }

  get #tx(): InviteServerTransaction {
    const tx = this.#core.serverTx;
    if (tx === undefined) {
      throw new SessionStateError("not an incoming call");
    }
    return tx;
  }

  #wakePrackWaiters(): void {
    for (const waiter of this.#prackWaiters.splice(0)) {
      waiter();
    }
  }

  /** True when the caller wants or allows 100rel. */
  #reliableWanted(wanted: boolean | undefined): boolean {
    const invite = this.#core.invite;
    if (hasOption(invite, "Require", "100rel")) {
      return true;
    }
    return wanted === true && hasOption(invite, "Supported", "100rel");
  }

  /** Our answer to the INVITE's offer, computed once (early media and the 2xx carry the same answer). */
  async #ensureAnswer(): Promise<string | undefined> {
    if (this.#answer === undefined && this.#remoteOffer !== undefined) {
      this.#answer = await this.#core.media.processOffer(this.#remoteOffer);
    }
    return this.#answer;
  }

  /** Waits until no reliable provisional is outstanding (RFC 3262 §3: one at a time). */
  async #reliableIdle(): Promise<void> {
    while (this.#reliable !== undefined && this.#core.state !== S.Terminated) {
      await new Promise<void>((resolve) => this.#prackWaiters.push(resolve));
    }
  }

  /** Runs UAS operations one after the other, so an answer() never overtakes a progress() still preparing SDP. */
  serial(work: () => Promise<void>): Promise<void> {
    const run = this.#ops.then(work, work);
    this.#ops = run.catch(() => undefined);
    return run;
  }

  #ringing(): boolean {
    return this.#core.state === S.Incoming || this.#core.state === S.Early;
  }

  /** See {@link InviteSession.progress}. */
  async progress(options: ProgressOptions): Promise<void> {
    const core = this.#core;
    if (!this.#ringing()) {
      return;
    }
    const tx = this.#tx;
    const reliable = this.#reliableWanted(options.reliable);
    let sdp: string | undefined;
    if (options.earlyMedia === true && core.oa === OA.HaveRemoteOffer) {
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
    if (!this.#ringing()) {
      return;
    }
    const status = options.status ?? (sdp !== undefined ? 183 : 180);
    const response = this.#responseToInvite(status, tx, options.headers ?? []);
    core.setBody(response, sdp);
    if (reliable) {
      const rseq = this.#rseq++;
      response.setHeader("Require", "100rel");
      response.setHeader("RSeq", String(rseq));
      this.#reliable = { response, rseq, sdp: sdp !== undefined };
    }
    this.#ensureDialog();
    tx.respond(response);
    if (reliable) {
      // RFC 3262 §3: "The reliable provisional response is passed to the transaction layer periodically with an
      // interval that starts at T1 seconds and doubles for each retransmission" … "If a reliable provisional response
      // is retransmitted for 64*T1 seconds without reception of a corresponding PRACK, the UAS SHOULD reject the
      // original request with a 5xx response."
      this.#retransmitReliable(core.host.timers.T1);
      core.timers.start("relGiveUp", 64 * core.host.timers.T1, () => {
        core.timers.stop("rel");
        this.#reliable = undefined;
        this.reject(504, { cause: 102, text: "No PRACK" });
      });
    }
    core.ringingAt ??= core.host.now();
    if (core.state === S.Incoming) {
      core.transition(S.Early);
    }
    core.events.emit("progress", status, { earlyMedia: sdp !== undefined, reliable, toTag: core.localTag });
  }

  /** A response to the INVITE with our Record-Route echo, Contact, Allow, Supported and the application's headers. */
  #responseToInvite(status: number, tx: InviteServerTransaction, headers: Headers): SipResponse {
    const invite = this.#core.invite;
    const response = this.#core.response(invite, status);
    response.setHeader("Record-Route", invite.getHeaders("Record-Route"));
    this.#core.decorate(response, tx.destination);
    if (status >= 200) {
      this.#timer.answerHeaders(response, invite);
    }
    for (const [name, value] of headers) {
      response.addHeader(name, value);
    }
    return response;
  }

  #retransmitReliable(interval: number): void {
    this.#core.timers.start("rel", interval, () => {
      const pending = this.#reliable;
      const tx = this.#core.serverTx;
      if (pending === undefined || tx?.state !== TransactionState.Proceeding) {
        return;
      }
      tx.respond(pending.response);
      this.#retransmitReliable(2 * interval);
    });
  }

  #ensureDialog(): Dialog {
    const core = this.#core;
    if (core.dialog === undefined) {
      core.dialog = Dialog.uas(core.invite, core.localTag);
      core.links.registerDialog(core.dialog);
    }
    return core.dialog;
  }

  /** See {@link InviteSession.answer}. */
  async answer(headers: Headers): Promise<void> {
    const core = this.#core;
    if (!this.#ringing()) {
      return;
    }
    const tx = this.#tx;
    // RFC 3262 §3: no 2xx while a reliable provisional is unacknowledged (the doc: "never send the 2xx while a
    // reliable 1xx carrying SDP is unacknowledged"; waiting for any is simpler and also correct).
    await this.#reliableIdle();
    let sdp: string | undefined;
    let offer = false;
    try {
      if (core.oa === OA.HaveRemoteOffer) {
        sdp = await this.#ensureAnswer();
      } else if (core.oa === OA.NoOffer) {
        sdp = await core.media.getOffer({});
        offer = true;
      }
    } catch (error) {
      this.#refuseOffer(error);
      return;
    }
    if (!this.#ringing()) {
      return;
    }
    const response = this.#responseToInvite(200, tx, headers);
    core.setBody(response, sdp);
    core.oa = offer ? OA.HaveLocalOffer : OA.Stable;
    const dialog = this.#ensureDialog();
    dialog.transition(DialogState.Confirmed);
    tx.respond(response);
    core.timers.stop("unanswered");
    core.answeredAt = core.host.now();
    core.transition(S.Accepted);
    core.start2xx({ response, cseq: core.invite.cseq.seq, destination: tx.destination, offer });
    core.events.emit("answered");
  }

  /** See {@link InviteSession.reject}. */
  reject(status: number, options: EndOptions): void {
    const core = this.#core;
    core.require(S.Incoming, S.Early);
    const tx = core.serverTx;
    if (tx === undefined || status < 300 || status > 699) {
      throw new SessionStateError("reject() takes a 3xx–6xx status on an incoming call");
    }
    const response = core.response(core.invite, status);
    const cause = options.cause ?? statusToQ850(status);
    response.setHeader("Reason", formatQ850Reason(cause, options.text));
    if (options.retryAfterS !== undefined) {
      response.setHeader("Retry-After", String(options.retryAfterS));
    }
    if (tx.state === TransactionState.Proceeding) {
      tx.respond(response);
    }
    core.end(core.info(status, "rejected", "local", cause, options.text));
  }

  /**
   * The media handler could not answer the initial offer: 503 + Retry-After (cause 34) when media resources ran out,
   * else 488 Not Acceptable Here.
   */
  #refuseOffer(error: unknown): void {
    const core = this.#core;
    if (error instanceof MediaUnavailableError) {
      core.logger.warn("no media resources for the call", { callId: core.callId, error: error.message });
      this.reject(503, { cause: 34, text: "No media resources", retryAfterS: error.retryAfterS });
      return;
    }
    core.logger.info("offer not acceptable", { callId: core.callId, error: String(error) });
    this.reject(488, {});
  }

  /** Rejects the incoming call with 480 (cause 19) unless it is answered or ended within `ms`. */
  guardUnanswered(ms: number): void {
    this.#core.timers.start("unanswered", ms, () => {
      if (this.#ringing()) {
        this.reject(480, { cause: 19, text: "No answer" });
      }
    });
  }

  /** A CANCEL for our INVITE arrived (the layer already answered it 200): 487 and end (RFC 3261 §9.2). */
  onCancel(cancel: SipRequest): void {
    const core = this.#core;
    if (!this.#ringing()) {
      return;
    }
    const tx = core.serverTx;
    if (tx?.state === TransactionState.Proceeding) {
      tx.respond(core.response(core.invite, 487));
    }
    core.end(core.info(487, "CANCEL", "remote", q850Cause(cancel) ?? 16, "Request Terminated"));
  }

  /** RFC 3262 §3: a PRACK matching the outstanding reliable provisional gets 200; anything else 481. */
  onPrack(prack: SipRequest, tx: ServerTransaction): void {
    const core = this.#core;
    const rack = parseRAck(prack);
    const pending = this.#reliable;
    const matches = rack?.rseq === pending?.rseq && rack?.cseq === core.invite.cseq.seq && rack?.method === "INVITE";
    if (pending === undefined || !matches) {
      tx.respond(core.response(prack, 481));
      return;
    }
    tx.respond(core.response(prack, 200));
    core.timers.stop("rel");
    core.timers.stop("relGiveUp");
    this.#reliable = undefined;
    if (pending.sdp) {
      // The answer in a PRACKed reliable provisional completes the offer/answer exchange (RFC 3262 §5).
      core.oa = OA.Stable;
    }
    this.#wakePrackWaiters();
  }
}
