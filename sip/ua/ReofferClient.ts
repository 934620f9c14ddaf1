/**
 * Our re-INVITEs and UPDATEs inside an answered call (RFC 3261 §14.1, RFC 3311): a new offer from the media handler
 * (hold, resume, refresh), the ACK of a re-INVITE's 2xx, and glare: on 491 the offer is sent again after the §14.1
 * back-off.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-14.1
 */

import { reasonPhrase } from "../message/responses.js";
import type { SipResponse } from "../message/SipMessage.js";
import type { OfferRequest } from "./MediaHandler.js";
import type { SessionDialog } from "./SessionDialog.js";
import { holdDirection } from "./SessionHold.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import type { SessionTimer } from "./SessionTimer.js";
import { SessionStateError } from "./sessionTypes.js";

const S = SessionState;
const OA = OfferAnswerState;

export type ReofferMethod = "INVITE" | "UPDATE";

/** One re-offer in flight: what was asked, and how. */
interface Reoffer {
  readonly method: ReofferMethod;
  readonly request: OfferRequest;
  readonly bodyless: boolean;
}

export class ReofferClient {
  readonly #core: SessionDialog;
  readonly #timer: SessionTimer;

  constructor(core: SessionDialog, timer: SessionTimer) {
    this.#core = core;
    this.#timer = timer;
  }

  /**
   * Sends a re-INVITE or UPDATE with a new offer (none when `bodyless`: an UPDATE that only refreshes).
   * @throws {SessionStateError} unless the call is Confirmed with no negotiation in progress.
   */
  async send(method: ReofferMethod, request: OfferRequest, bodyless = false): Promise<void> {
    const core = this.#core;
    core.require(S.Confirmed);
    if (core.negotiating) {
      throw new SessionStateError("a negotiation is already in progress");
    }
    const dialog = core.dialog;
    if (dialog === undefined) {
      throw new SessionStateError("no dialog");
    }
    const asked =
      request.hold === undefined ? request : { ...request, direction: holdDirection(request.hold, core.remoteHold) };
    const sdp = bodyless ? undefined : await core.media.getOffer(asked);
    if (core.state !== S.Confirmed) {
      return;
    }
    if (core.negotiating) {
      // The peer's offer (or another local one) got in while the media handler prepared ours: report it like a 491
      // so the application can retry; nothing was sent.
      core.events.emit("renegotiationFailed", 491);
      return;
    }
    const req = dialog.createRequest(method);
    const destination = dialog.nextHop(req, core.transport);
    if (destination !== undefined) {
      core.decorate(req, destination);
    }
    this.#timer.requestHeaders(req);
    core.setBody(req, sdp);
    if (sdp !== undefined) {
      core.oa = OA.HaveLocalOffer;
    }
    const cseq = req.cseq.seq;
    const offer: Reoffer = { method, request, bodyless };
    core.clientReoffer = core.sendInDialog(
      dialog,
      req,
      (r) => {
        if (r.status < 200) {
          return;
        }
        if (method === "INVITE" && r.status < 300 && core.clientReoffer === undefined) {
          // A retransmitted 2xx of a finished re-INVITE: re-send the ACK.
          core.resendAck(r.cseq.seq);
          return;
        }
        core.clientReoffer = undefined;
        core.guard("re-offer response", this.#onResponse(offer, cseq, sdp !== undefined, r));
      },
      (status) => {
        core.clientReoffer = undefined;
        if (sdp !== undefined) {
          core.oa = OA.Stable;
        }
        this.#failed(status);
      },
    );
    if (core.clientReoffer === undefined && sdp !== undefined) {
      core.oa = OA.Stable;
    }
  }

  async #onResponse(offer: Reoffer, cseq: number, offered: boolean, r: SipResponse): Promise<void> {
    const core = this.#core;
    const dialog = core.dialog;
    if (dialog === undefined || core.state === S.Terminated) {
      return;
    }
    if (r.status >= 300) {
      if (offered) {
        core.oa = OA.Stable;
      }
      if (r.status === 491) {
        this.#afterGlare(offer);
        return;
      }
      this.#failed(r.status);
      return;
    }
    dialog.receiveResponse(r, false);
    if (offer.method === "INVITE") {
      core.sendAck(dialog, cseq);
    }
    if (offered && r.body.length > 0) {
      core.oa = OA.Stable;
      await core.media.setAnswer(r.bodyText);
      if (offer.request.hold !== undefined) {
        // A refresh (no `hold`) keeps the hold state as it is.
        core.setHold("local", offer.request.hold);
      }
    } else if (offered) {
      core.oa = OA.Stable;
    }
    // RFC 4028 §7.2: a 2xx without Session-Expires means no session expiration from now on.
    this.#timer.fromResponse(r);
    this.#timer.start();
    if (core.sessionTimer !== undefined) {
      core.events.emit("refreshed");
    }
    core.events.emit("renegotiated", "local");
  }

  /**
   * RFC 3261 §14.1: "If the UAC ... owns the Call-ID of the dialog ID ... it SHOULD start a timer with a value of T
   * chosen as follows ... a randomly chosen value of time between 2.1 and 4 seconds in units of 10 ms. If the UAC
   * does not own the Call-ID ... between 0 and 2 seconds in units of 10 ms."
   */
  #afterGlare(offer: Reoffer): void {
    const core = this.#core;
    const random = core.host.random();
    const tenMs = core.role === "uac" ? 210 + Math.floor(random * 191) : Math.floor(random * 201);
    core.timers.start("glare", tenMs * 10, () => {
      if (core.state === S.Confirmed) {
        this.send(offer.method, offer.request, offer.bodyless).catch((error: unknown) =>
          core.logger.info("re-offer after glare not sent", { error: String(error) }),
        );
      }
    });
  }

  #failed(status: number): void {
    const core = this.#core;
    core.events.emit("renegotiationFailed", status);
    // RFC 3261 §12.2.1.2: "If the response for a request within a dialog is a 481 (Call/Transaction Does Not Exist)
    // or a 408 (Request Timeout), the UAC SHOULD terminate the dialog."
    if ((status === 481 || status === 408) && core.state === S.Confirmed) {
      core.transition(S.Terminating);
      core.sendBye({ cause: 41 }, undefined, () =>
        core.end(core.info(200, "failed", "local", 41, reasonPhrase(status))),
      );
    }
  }
}
