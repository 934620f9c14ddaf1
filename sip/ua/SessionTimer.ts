/**
 * Session timers of one call (RFC 4028): the headers of our 2xx, the refresh at half the interval when we are the
 * refresher, and the BYE when the peer owes a refresh that never comes.
 * @see https://www.rfc-editor.org/rfc/rfc4028
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { hasOption, parseSessionExpires } from "./headers.js";
import type { SessionDialog } from "./SessionDialog.js";
import { SessionState } from "./SessionState.js";

const S = SessionState;

/** Sends a refresh: an UPDATE without a body, or a re-INVITE with the unchanged session. */
export type RefreshSender = (method: "INVITE" | "UPDATE") => Promise<void>;

export class SessionTimer {
  readonly #core: SessionDialog;
  readonly #send: RefreshSender;

  constructor(core: SessionDialog, send: RefreshSender) {
    this.#core = core;
    this.#send = send;
  }

  /**
   * Adds Session-Expires/Require: timer to our 2xx (RFC 4028 §9): when the request asked for a session interval the
   * UAS echoes it with the refresher it chose (the requester's choice, else the UAC when it supports timers).
   */
  answerHeaders(response: SipResponse, request: SipRequest): void {
    const config = this.#core.host.sessionTimer;
    if (!config.enabled) {
      return;
    }
    const se = parseSessionExpires(request);
    if (se === undefined) {
      return;
    }
    const uacSupports = hasOption(request, "Supported", "timer");
    const refresher = se.refresher ?? (uacSupports ? "uac" : "uas");
    const interval = Math.max(se.interval, config.minSE);
    response.setHeader("Session-Expires", `${interval};refresher=${refresher}`);
    if (uacSupports) {
      response.addHeader("Require", "timer");
    }
    // We answer the request: "uac" is the peer.
    this.#core.sessionTimer = { interval, local: refresher === "uas" };
  }

  /** Takes the session interval a 2xx to our request names (RFC 4028 §7.2; we are the "uac" of that transaction). */
  fromResponse(r: SipResponse): void {
    const se = parseSessionExpires(r);
    this.#core.sessionTimer = se === undefined ? undefined : { interval: se.interval, local: se.refresher !== "uas" };
  }

  /** Adds Session-Expires and Min-SE to a refresh request we send (RFC 4028 §7.4/§8). */
  requestHeaders(request: SipRequest): void {
    const st = this.#core.sessionTimer;
    if (st !== undefined) {
      // A refresh request names the refresher; whoever sends it is the "uac" of that transaction.
      request.setHeader("Session-Expires", `${st.interval};refresher=${st.local ? "uac" : "uas"}`);
      request.setHeader("Min-SE", String(this.#core.host.sessionTimer.minSE));
    }
  }

  /** Stops the timer: the session has no expiration any more. */
  stop(): void {
    this.#core.sessionTimer = undefined;
    this.#core.timers.stop("refresh");
    this.#core.timers.stop("expire");
  }

  /**
   * (Re)starts the session timer: the refresher refreshes at half the interval (RFC 4028 §10), the other side sends
   * BYE "at the session expiration minus the minimum of 32 seconds and one third of the session interval" without
   * a refresh (§10).
   */
  start(): void {
    const core = this.#core;
    core.timers.stop("refresh");
    core.timers.stop("expire");
    const st = core.sessionTimer;
    if (st === undefined || core.state !== S.Confirmed) {
      return;
    }
    if (st.local) {
      core.timers.start("refresh", (st.interval * 1000) / 2, () => this.#refresh());
    } else {
      const ms = (st.interval - Math.min(32, st.interval / 3)) * 1000;
      core.timers.start("expire", ms, () => {
        if (core.state !== S.Confirmed) {
          return;
        }
        core.transition(S.Terminating);
        const info = core.info(200, "session-expired", "local", 102, "Session timer expired");
        core.sendBye({}, 'SIP;cause=408;text="Session timer expired"', () => core.end(info));
      });
    }
  }

  /** A refresh: UPDATE without a body when the peer allows UPDATE, else a re-INVITE with the unchanged session. */
  #refresh(): void {
    const core = this.#core;
    if (core.state !== S.Confirmed) {
      return;
    }
    if (core.negotiating) {
      // A negotiation is in progress; its completion refreshes the session too. Try again shortly.
      core.timers.start("refresh", core.host.timers.T2, () => this.#refresh());
      return;
    }
    this.#send(core.peerAllowsUpdate ? "UPDATE" : "INVITE").catch((error: unknown) =>
      core.logger.info("session refresh not sent", { error: String(error) }),
    );
  }
}
