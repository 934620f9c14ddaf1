/**
 * The peer's re-INVITEs and UPDATEs inside a call (RFC 3261 §14.2, RFC 3311 §5.2): glare (491 while our own offer
 * is out, 500 + Retry-After while theirs is), offer/answer through the media handler, remote hold detection
 * (RFC 3264 §8.4) and the session timer the request renegotiates (RFC 4028 §9).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-14.2
 */

import type { SipRequest } from "../message/SipMessage.js";
import { TransactionState } from "../transaction/TransactionState.js";
import type { ServerTransaction } from "../transaction/TransactionLayer.js";
import { isHoldOffer, parseSessionExpires } from "./headers.js";
import type { SessionDialog } from "./SessionDialog.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import type { SessionTimer } from "./SessionTimer.js";

const S = SessionState;
const OA = OfferAnswerState;

export class ReofferServer {
  readonly #core: SessionDialog;
  readonly #timer: SessionTimer;

  constructor(core: SessionDialog, timer: SessionTimer) {
    this.#core = core;
    this.#timer = timer;
  }

  /** A re-INVITE or UPDATE from the peer: glare checks, offer/answer, hold detection, session refresh. */
  async receive(request: SipRequest, tx: ServerTransaction): Promise<void> {
    const core = this.#core;
    const isInvite = request.method === "INVITE";
    const hasSdp = request.body.length > 0;
    if (isInvite && core.state !== S.Confirmed) {
      // §14.2: a second INVITE before the first's final response → 500 with Retry-After.
      this.retryLater(request, tx);
      return;
    }
    if (!isInvite && core.state === S.Terminating) {
      tx.respond(core.response(request, 481));
      return;
    }
    if (core.clientReoffer !== undefined || core.oa === OA.HaveLocalOffer) {
      if (isInvite || hasSdp) {
        // §14.2: "A UAS that receives an INVITE on a dialog while an INVITE it had sent on that dialog is in progress
        // MUST return a 491 (Request Pending)"; RFC 3311 §5.2 likewise for an UPDATE offer.
        tx.respond(core.response(request, 491));
        return;
      }
    }
    if (core.serverReoffer !== undefined || core.oa === OA.HaveRemoteOffer) {
      this.retryLater(request, tx);
      return;
    }
    const se = parseSessionExpires(request);
    const config = core.host.sessionTimer;
    if (se !== undefined && se.interval < config.minSE && config.enabled) {
      const r = core.response(request, 422);
      r.setHeader("Min-SE", String(config.minSE));
      tx.respond(r);
      return;
    }
    core.serverReoffer = tx;
    let sdp: string | undefined;
    let offered = false;
    try {
      if (hasSdp) {
        core.oa = OA.HaveRemoteOffer;
        const held = isHoldOffer(request.bodyText);
        sdp = await core.media.processOffer(request.bodyText);
        core.oa = OA.Stable;
        core.setHold("remote", held);
      } else if (isInvite) {
        // An offerless re-INVITE: our offer goes in the 2xx, the answer comes in the ACK (§14.2).
        sdp = await core.media.getOffer({ refresh: true });
        core.oa = OA.HaveLocalOffer;
        offered = true;
      }
    } catch (error) {
      core.serverReoffer = undefined;
      core.oa = OA.Stable;
      core.logger.info("re-offer not acceptable", { callId: core.callId, error: String(error) });
      if (tx.state === TransactionState.Trying || tx.state === TransactionState.Proceeding) {
        tx.respond(core.response(request, 488));
      }
      return;
    }
    core.serverReoffer = undefined;
    if (
      core.state === S.Terminated ||
      (tx.state !== TransactionState.Trying && tx.state !== TransactionState.Proceeding)
    ) {
      return;
    }
    const r = core.response(request, 200);
    core.decorate(r, tx.destination);
    if (se !== undefined) {
      this.#timer.answerHeaders(r, request);
    } else if (core.sessionTimer !== undefined) {
      // RFC 4028 §9: every re-INVITE/UPDATE renegotiates the session timer; one without Session-Expires does not
      // ask for it, so the timer stops (never a BYE for a refresh the peer does not know it owes).
      this.#timer.stop();
    }
    core.setBody(r, sdp);
    tx.respond(r);
    if (isInvite) {
      core.start2xx({ response: r, cseq: request.cseq.seq, destination: tx.destination, offer: offered });
    }
    if (core.sessionTimer !== undefined) {
      this.#timer.start();
      core.events.emit("refreshed");
    }
    core.events.emit("renegotiated", "remote");
  }

  /** §14.2: "500 (Server Internal Error) response and MUST include a Retry-After header field with a randomly chosen
   * value of between 0 and 10 seconds." */
  retryLater(request: SipRequest, tx: ServerTransaction): void {
    const r = this.#core.response(request, 500);
    r.setHeader("Retry-After", String(Math.floor(this.#core.host.random() * 11)));
    tx.respond(r);
  }
}
