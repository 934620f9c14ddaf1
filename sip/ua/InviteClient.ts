/**
 * The INVITE client of an outgoing call (RFC 3261 §13.2): the INVITE with our offer, provisional responses and their
 * early dialogs (forking), PRACK of reliable ones (RFC 3262 §4), the 2xx and its ACK, retries after 422
 * (RFC 4028 §7.4) and digest challenges (§22.2), and CANCEL (§9.1).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13.2
 */

import { DigestClient } from "../auth/index.js";
import { Dialog } from "../dialog/Dialog.js";
import { DialogState } from "../dialog/DialogState.js";
import { CSeq } from "../message/CSeq.js";
import { SipRequest, type SipResponse } from "../message/SipMessage.js";
import { createCancel } from "../transaction/requests.js";
import type { SipDestination } from "../transport/SipTransport.js";
import { formatQ850Reason, hasOption, parseMinSE, parseRSeq, q850Cause, statusToQ850 } from "./headers.js";
import { InviteClient2xx } from "./InviteClient2xx.js";
import type { SessionDialog } from "./SessionDialog.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import type { EndOptions, HangupSide, OutgoingInvite } from "./sessionTypes.js";

const S = SessionState;
const OA = OfferAnswerState;

export class InviteClient {
  readonly #core: SessionDialog;
  readonly #out: OutgoingInvite;
  readonly #final: InviteClient2xx;
  #provisionalReceived = false;
  #cancel: EndOptions | undefined;
  #cancelSent = false;
  #inviteDestination: SipDestination | undefined;
  readonly #lastRSeq = new Map<string, number>();
  #digest: DigestClient | undefined;
  #retries = 0;
  #authRetries = 0;
  #requestedSE: number;

  constructor(core: SessionDialog, out: OutgoingInvite) {
    this.#core = core;
    this.#out = out;
    this.#final = new InviteClient2xx(core, () => this.#cancel);
    this.#requestedSE = core.host.sessionTimer.expires;
  }

  /** Sends the INVITE (after the media handler made the offer); `ringTimeout` ends the call unanswered. */
  async start(ringTimeout: () => void): Promise<void> {
    const core = this.#core;
    if (!this.#out.offerless) {
      const offer = await core.media.getOffer({});
      core.setBody(core.invite, offer);
      core.oa = OA.HaveLocalOffer;
    }
    if (core.state !== S.Calling) {
      return;
    }
    if (this.#out.ringTimeoutMs !== undefined) {
      core.timers.start("ring", this.#out.ringTimeoutMs, ringTimeout);
    }
    this.#sendInvite();
  }

  #sendInvite(): void {
    const core = this.#core;
    const destination = core.host.route(core.invite, this.#out.destination);
    this.#inviteDestination = destination;
    core.host.stampVia(core.invite, destination);
    try {
      core.host.layer.request(core.invite, destination, {
        receiveResponse: (r) => core.guard("INVITE response", this.#onResponse(r)),
        onRequestTimeout: () => core.end(core.info(408, "timeout", "local", 102)),
        onTransportError: () => core.end(core.info(503, "failed", "local", 38)),
      });
    } catch (error) {
      core.logger.warn("cannot send INVITE", { error });
      core.end(core.info(503, "failed", "local", 38));
    }
  }

  /** A new INVITE for a retry (422, 401/407): same Call-ID and From tag, next CSeq, no Via (§8.1.3.5, RFC 4028 §7.4). */
  #retryInvite(): SipRequest {
    const core = this.#core;
    const old = core.invite;
    const retry = new SipRequest("INVITE", old.uri.clone());
    for (const [name, value] of old.headers()) {
      if (!/^(via|v|cseq|authorization|proxy-authorization)$/i.test(name)) {
        retry.addHeader(name, value);
      }
    }
    retry.setHeader("CSeq", new CSeq(old.cseq.seq + 1, "INVITE"));
    retry.body = old.body;
    core.early.forEach((d) => core.links.unregisterDialog(d));
    core.early.clear();
    this.#lastRSeq.clear();
    return retry;
  }

  async #onResponse(r: SipResponse): Promise<void> {
    const status = r.status;
    if (this.#core.state === S.Terminated) {
      if (status >= 200 && status < 300) {
        this.#final.ackAndBye(r);
      }
      return;
    }
    if (status < 200) {
      await this.#onProvisional(r);
    } else if (status < 300) {
      await this.#final.on2xx(r);
    } else {
      this.#onFailure(r);
    }
  }

  async #onProvisional(r: SipResponse): Promise<void> {
    const core = this.#core;
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
      dialog = core.early.get(tag);
      if (dialog === undefined) {
        dialog = Dialog.uac(core.invite, r, DialogState.Early);
        core.early.set(tag, dialog);
        core.links.registerDialog(dialog);
      }
      dialog.receiveResponse(r, false);
    }
    const rseq = parseRSeq(r);
    const reliable = dialog !== undefined && rseq !== undefined && hasOption(r, "Require", "100rel");
    if (dialog !== undefined && rseq !== undefined && reliable && !this.#prack(dialog, rseq, r)) {
      return;
    }
    let earlyMedia = false;
    if (r.body.length > 0 && core.oa === OA.HaveLocalOffer) {
      // RFC 3261 §13.2.1 / the doc: the first SDP in a provisional response is the answer.
      core.oa = OA.Stable;
      earlyMedia = true;
      this.#final.earlyAnswer = { tag, sdp: r.bodyText };
    }
    if (core.state === S.Terminated) {
      return;
    }
    core.ringingAt ??= core.host.now();
    if (core.state === S.Calling) {
      core.transition(S.Early);
    }
    // Announced before the (asynchronous) media update, so that a 2xx racing in behind the 18x cannot report the
    // call answered before it was reported early.
    core.events.emit("progress", r.status, { earlyMedia, reliable, toTag: tag });
    if (earlyMedia) {
      await core.media.setAnswer(r.bodyText);
    }
  }

  /**
   * PRACKs a reliable provisional (RFC 3262 §4): "the UAC ... MUST NOT [acknowledge] a retransmission" and responses
   * are acknowledged in order (RSeq one higher than the last). False for one that is not the next in order.
   */
  #prack(dialog: Dialog, rseq: number, r: SipResponse): boolean {
    const last = this.#lastRSeq.get(dialog.key);
    if (last !== undefined && rseq !== last + 1) {
      return false;
    }
    this.#lastRSeq.set(dialog.key, rseq);
    const prack = dialog.createRequest("PRACK");
    prack.setHeader("RAck", `${rseq} ${r.cseq.seq} INVITE`);
    this.#core.sendInDialog(
      dialog,
      prack,
      () => undefined,
      () => undefined,
    );
    return true;
  }

  #onFailure(r: SipResponse): void {
    const core = this.#core;
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
        core.invite = retry;
        this.#sendInvite();
        return;
      }
    }
    const credentials = this.#out.credentials;
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
        core.invite = retry;
        this.#sendInvite();
        return;
      } catch (error) {
        core.logger.info("digest challenge not answerable", { callId: core.callId, error: String(error) });
      }
    }
    const cancelled = this.#cancel !== undefined;
    const by: HangupSide = cancelled ? "local" : "remote";
    const ending = cancelled ? "CANCEL" : "rejected";
    const cause = cancelled ? (this.#cancel?.cause ?? 16) : (q850Cause(r) ?? statusToQ850(status));
    core.end(core.info(status, ending, by, cause, r.reason));
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

  /** Ends the unanswered call from our side: CANCEL, deferred until a provisional arrived (§9.1). */
  cancel(options: EndOptions): void {
    const core = this.#core;
    core.timers.stop("ring");
    this.#cancel = options;
    core.transition(S.Terminating);
    // §9.1: "If no provisional response has been received, the CANCEL request MUST NOT be sent; rather, the client
    // MUST wait for the arrival of a provisional response before sending the request."
    if (this.#provisionalReceived) {
      this.#sendCancel();
    }
  }

  #sendCancel(): void {
    const core = this.#core;
    const opts = this.#cancel;
    if (opts === undefined) {
      return;
    }
    this.#cancelSent = true;
    // §9.1: "If there is no final response for the original request in 64*T1 seconds ... the client SHOULD then
    // consider the original transaction cancelled and SHOULD destroy the client transaction".
    core.timers.start("cancelGiveUp", 64 * core.host.timers.T1, () =>
      core.end(core.info(487, "CANCEL", "local", opts.cause ?? 16, "No final response to CANCEL")),
    );
    const cancel = createCancel(core.invite, formatQ850Reason(opts.cause ?? 16, opts.text));
    try {
      // §9.1: the CANCEL goes where the INVITE went, over the same transport (it copies the INVITE's Via).
      core.host.layer.request(cancel, this.#inviteDestination ?? this.#out.destination, {});
    } catch (error) {
      core.logger.warn("cannot send CANCEL", { error });
    }
  }

  /** A 2xx that matched no client transaction (after Timer M, or a late fork). */
  onStrayResponse(r: SipResponse): void {
    this.#final.onStray(r);
  }
}
