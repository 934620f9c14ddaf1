/**
 * The final 2xx of an outgoing call (RFC 3261 §13.2.2.4): the dialog it confirms, the ACK (with our answer when the
 * INVITE had no offer), the other forks (ACK and BYE), a 2xx that crossed our CANCEL (§15), and retransmissions.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13.2.2.4
 */

import { Dialog } from "../dialog/Dialog.js";
import { DialogState } from "../dialog/DialogState.js";
import type { SipResponse } from "../message/SipMessage.js";
import { formatQ850Reason, hasOption, parseSessionExpires } from "./headers.js";
import type { SessionDialog } from "./SessionDialog.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";
import type { EndOptions } from "./sessionTypes.js";

const S = SessionState;
const OA = OfferAnswerState;

export class InviteClient2xx {
  readonly #core: SessionDialog;
  readonly #cancelled: () => EndOptions | undefined;
  /** The answer of a provisional response (early media), and the fork that sent it. */
  earlyAnswer: { readonly tag: string | undefined; readonly sdp: string } | undefined;

  /** `cancelled`: the options of our CANCEL, once hangup() cancelled the call. */
  constructor(core: SessionDialog, cancelled: () => EndOptions | undefined) {
    this.#core = core;
    this.#cancelled = cancelled;
  }

  /** A 2xx for a dialog we do not keep (second fork, or the call already ended): ACK it, then BYE (§13.2.2.4). */
  ackAndBye(r: SipResponse): void {
    const core = this.#core;
    if (r.to.tag === undefined) {
      return;
    }
    const dialog = Dialog.uac(core.invite, r, DialogState.Confirmed);
    dialog.receiveResponse(r, true);
    const ack = dialog.createRequest("ACK", r.cseq.seq);
    const destination = dialog.nextHop(ack, core.transport);
    if (destination === undefined) {
      return;
    }
    core.host.stampVia(ack, destination);
    core.host.layer.sendStateless(ack, destination);
    const bye = dialog.createRequest("BYE");
    bye.setHeader("Reason", formatQ850Reason(16));
    const byeDestination = dialog.nextHop(bye, core.transport);
    if (byeDestination === undefined) {
      return;
    }
    core.host.stampVia(bye, byeDestination);
    try {
      core.host.layer.request(bye, byeDestination, {});
    } catch (error) {
      core.logger.warn("cannot send BYE", { error });
    }
  }

  /** The 2xx of the INVITE: confirm the dialog, complete the offer/answer, ACK. */
  async on2xx(r: SipResponse): Promise<void> {
    const core = this.#core;
    const tag = r.to.tag;
    if (tag === undefined) {
      return;
    }
    if (core.dialog !== undefined) {
      if (core.dialog.remoteTag === tag) {
        // A retransmitted 2xx: the ACK was lost (§13.2.2.4: "The UAC core MUST generate an ACK request for each
        // 2xx received from the transaction layer").
        core.resendAck(r.cseq.seq);
      } else {
        this.ackAndBye(r);
      }
      return;
    }
    core.timers.stop("ring");
    const dialog = this.#confirm(r, tag);
    const cancel = this.#cancelled();
    if (cancel !== undefined) {
      // CANCEL crossed the 2xx: ACK, then BYE (RFC 3261 §15, the doc's "CANCEL/200 race").
      core.sendAck(dialog, r.cseq.seq);
      // Already Terminating since hangup(): the BYE is the rest of that hangup.
      core.sendBye(cancel, undefined, () => core.end(core.info(200, "BYE", "local", cancel.cause ?? 16, cancel.text)));
      return;
    }
    let ackSdp: string | undefined;
    const early = this.earlyAnswer;
    if (core.oa === OA.HaveLocalOffer && r.body.length > 0) {
      core.oa = OA.Stable;
      await core.media.setAnswer(r.bodyText);
    } else if (early !== undefined && r.body.length > 0 && (early.tag !== tag || early.sdp !== r.bodyText)) {
      // The early answer came from another fork (or changed): the answering fork's SDP is the session's answer
      // (RFC 3261 §13.2.1 gives each early dialog its own exchange). Unchanged SDP is not applied twice (the doc's
      // "do not renegotiate on the 200 if it is unchanged").
      await core.media.setAnswer(r.bodyText);
    } else if (core.oa === OA.NoOffer) {
      if (r.body.length === 0) {
        // An offerless INVITE needs the offer in the 2xx (RFC 3261 §13.2.1); without one the session cannot start.
        this.#ackAndEnd(dialog, r, 47, 200, "No offer in 2xx");
        return;
      }
      core.oa = OA.HaveRemoteOffer;
      try {
        ackSdp = await core.media.processOffer(r.bodyText);
        core.oa = OA.Stable;
      } catch {
        this.#ackAndEnd(dialog, r, 88, 488, undefined);
        return;
      }
    }
    if (core.state === S.Terminated || core.state === S.Terminating) {
      return;
    }
    core.sendAck(dialog, r.cseq.seq, ackSdp);
    core.transition(S.Confirmed);
    core.events.emit("answered");
    core.events.emit("confirmed");
  }

  /** The dialog the 2xx confirms (from its early dialog, if any); the other forks' early dialogs end (§13.2.2.4). */
  #confirm(r: SipResponse, tag: string): Dialog {
    const core = this.#core;
    let dialog = core.early.get(tag);
    if (dialog === undefined) {
      dialog = Dialog.uac(core.invite, r, DialogState.Early);
      core.links.registerDialog(dialog);
    } else {
      core.early.delete(tag);
    }
    dialog.receiveResponse(r, true);
    dialog.transition(DialogState.Confirmed);
    core.dialog = dialog;
    for (const other of core.early.values()) {
      other.transition(DialogState.Terminated);
      core.links.unregisterDialog(other);
    }
    core.early.clear();
    core.answeredAt = core.host.now();
    core.peerAllowsUpdate = hasOption(r, "Allow", "UPDATE");
    const se = parseSessionExpires(r);
    if (se !== undefined) {
      // RFC 4028 §7.2: the 2xx names the refresher; we are the UAC.
      core.sessionTimer = { interval: se.interval, local: se.refresher !== "uas" };
    }
    return dialog;
  }

  /** The 2xx cannot start a session: ACK it, then end the call with BYE. */
  #ackAndEnd(dialog: Dialog, r: SipResponse, cause: number, status: number, reason: string | undefined): void {
    const core = this.#core;
    core.sendAck(dialog, r.cseq.seq);
    core.transition(S.Confirmed);
    core.transition(S.Terminating);
    core.sendBye({ cause }, undefined, () => core.end(core.info(status, "failed", "local", cause, reason)));
  }

  /** A 2xx that matched no client transaction (after Timer M, or a late fork). */
  onStray(r: SipResponse): void {
    const core = this.#core;
    if (r.status < 200 || r.status >= 300 || r.cseq.method !== "INVITE") {
      return;
    }
    if (core.dialog?.remoteTag === r.to.tag && core.resendAck(r.cseq.seq)) {
      return;
    }
    if (core.dialog?.remoteTag !== r.to.tag) {
      this.ackAndBye(r);
    }
  }
}
