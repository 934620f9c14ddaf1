/**
 * The shared core of one {@link InviteSession}: its state machine, its dialog(s), the offer/answer state and the
 * in-dialog sending helpers that every role uses (SIP.js's `session-dialog.ts`). The role files (INVITE client and
 * server, re-offer client and server, session timer, INFO) hold only their own state and work on this core; the
 * session class is their public face.
 *
 * The session state changes only in {@link SessionDialog.transition}, which validates the move and owns the timers
 * that depend on it (session timer on Confirmed, every timer stopped on Terminated).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-13
 */

import { Dialog } from "../dialog/Dialog.js";
import { DialogState } from "../dialog/DialogState.js";
import { getLogger } from "../logger.js";
import { createResponse, reasonPhrase } from "../message/responses.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import type { InviteServerTransaction } from "../transaction/InviteServerTransaction.js";
import { TimerSet } from "../transaction/Transaction.js";
import type { ClientTransaction, ServerTransaction } from "../transaction/TransactionLayer.js";
import type { SipDestination } from "../transport/SipTransport.js";
import { ALLOWED_METHODS, formatQ850Reason, statusToQ850, SUPPORTED_OPTIONS } from "./headers.js";
import type { MediaHandler } from "./MediaHandler.js";
import {
  SessionStateError,
  type EndOptions,
  type HangupSide,
  type InviteSessionEvents,
  type SessionHostOf,
  type TerminationInfo,
} from "./sessionTypes.js";
import { OfferAnswerState, SessionState } from "./SessionState.js";

export type TimerName =
  "ring" | "2xx" | "2xxGiveUp" | "rel" | "relGiveUp" | "refresh" | "expire" | "glare" | "cancelGiveUp" | "unanswered";

/** The session's events, as the role files emit them (the emitter's `emit` is protected). */
export interface SessionEvents {
  emit<K extends keyof InviteSessionEvents>(event: K, ...args: InviteSessionEvents[K]): void;
}

/** What the core needs from the session that owns it: the host calls that name the session. */
export interface SessionLinks {
  registerDialog(dialog: Dialog): void;
  unregisterDialog(dialog: Dialog): void;
  /** The call ended: tell the host (the `terminated` event follows from the core). */
  ended(info: TerminationInfo): void;
}

/** The 2xx to an INVITE we retransmit until its ACK arrives (RFC 3261 §13.3.1.4). */
export interface Pending2xx {
  readonly response: SipResponse;
  readonly cseq: number;
  readonly destination: SipDestination;
  /** This 2xx carried our offer (offerless INVITE): the ACK brings the answer. */
  readonly offer: boolean;
}

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

/** @internal Shared by the role files of one session; not part of the package's surface. */
export class SessionDialog {
  readonly role: "uac" | "uas";
  readonly callId: string;
  readonly localTag: string;
  readonly startedAt: number;
  readonly host: SessionHostOf<unknown>;
  readonly media: MediaHandler;
  readonly events: SessionEvents;
  readonly links: SessionLinks;
  readonly timers: TimerSet<TimerName>;
  readonly logger = SESSION_LOGGER;
  /** The transport of the call's first hop (in-dialog requests take the same, RFC 3261 §12.2.1.1). */
  readonly transport: SipDestination["transport"];
  /** The incoming INVITE's server transaction (incoming calls). */
  readonly serverTx: InviteServerTransaction | undefined;
  state: SessionState;
  oa: OfferAnswerState;
  /** The confirmed dialog (or the UAS's early one). */
  dialog: Dialog | undefined;
  /** Early dialogs of an outgoing call, by To tag (forking). */
  readonly early = new Map<string, Dialog>();
  /** The dialog-creating INVITE (the latest one sent, for an outgoing call retried after 422/401/407). */
  invite: SipRequest;
  ringingAt: number | undefined;
  answeredAt: number | undefined;
  localHold = false;
  remoteHold = false;
  ended: TerminationInfo | undefined;
  /** The last ACK we sent for a 2xx, re-sent when that 2xx is retransmitted. */
  ack: { readonly cseq: number; readonly ack: SipRequest; readonly destination: SipDestination } | undefined;
  pending2xx: Pending2xx | undefined;
  clientReoffer: ClientTransaction | undefined;
  serverReoffer: ServerTransaction | undefined;
  sessionTimer: { interval: number; local: boolean } | undefined;
  peerAllowsUpdate = false;
  /** Runs when the call is confirmed (the session timer starts). */
  onConfirmed: () => void = () => undefined;
  /** Run once when the call ends, before the media closes (waiters woken). */
  readonly endHooks: (() => void)[] = [];

  constructor(init: {
    readonly role: "uac" | "uas";
    readonly host: SessionHostOf<unknown>;
    readonly media: MediaHandler;
    readonly events: SessionEvents;
    readonly links: SessionLinks;
    readonly invite: SipRequest;
    readonly localTag: string;
    readonly transport: SipDestination["transport"];
    readonly serverTx: InviteServerTransaction | undefined;
    readonly oa: OfferAnswerState;
  }) {
    this.role = init.role;
    this.host = init.host;
    this.media = init.media;
    this.events = init.events;
    this.links = init.links;
    this.timers = new TimerSet(init.host.layer.clock);
    this.startedAt = init.host.now();
    this.invite = init.invite;
    this.callId = init.invite.callId;
    this.localTag = init.localTag;
    this.transport = init.transport;
    this.serverTx = init.serverTx;
    this.oa = init.oa;
    this.state = init.role === "uas" ? S.Incoming : S.Calling;
  }

  /** Records a hold change of one side and reports it (`remoteHold` for the peer's, then `hold` for either). */
  setHold(side: "local" | "remote", held: boolean): void {
    if ((side === "local" ? this.localHold : this.remoteHold) === held) {
      return;
    }
    if (side === "local") {
      this.localHold = held;
    } else {
      this.remoteHold = held;
      this.events.emit("remoteHold", held);
    }
    this.events.emit("hold", { local: this.localHold, remote: this.remoteHold });
  }

  /** True while an offer/answer exchange is under way in either direction. */
  get negotiating(): boolean {
    return this.clientReoffer !== undefined || this.oa !== OA.Stable || this.serverReoffer !== undefined;
  }

  /**
   * The one place the call state changes. Confirmed starts the session timer; Terminated stops every timer,
   * releases the dialogs and the media, and reports the end.
   * @throws {SessionStateError} for a transition the diagram does not have.
   */
  transition(to: SessionState, end?: TerminationInfo): void {
    const from = this.state;
    const ok = to === S.Terminated ? from !== S.Terminated : TRANSITIONS[to]?.includes(from) === true;
    if (!ok) {
      throw new SessionStateError(`session: ${from} → ${to}`);
    }
    this.state = to;
    if (to === S.Confirmed) {
      this.onConfirmed();
    } else if (to === S.Terminated) {
      this.#terminated(end ?? this.info(500, "failed", "local"));
    }
  }

  #terminated(info: TerminationInfo): void {
    this.timers.stopAll();
    for (const d of this.early.values()) {
      this.links.unregisterDialog(d);
    }
    this.early.clear();
    if (this.dialog !== undefined) {
      if (this.dialog.state !== DialogState.Terminated) {
        this.dialog.transition(DialogState.Terminated);
      }
      this.links.unregisterDialog(this.dialog);
    }
    for (const hook of this.endHooks.splice(0)) {
      hook();
    }
    try {
      this.media.close();
    } catch (error) {
      this.logger.error("media handler threw in close", { error });
    }
    this.ended = info;
    this.links.ended(info);
    this.events.emit("terminated", info);
  }

  info(
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
      endedAt: this.host.now(),
    };
  }

  end(info: TerminationInfo): void {
    if (this.state !== S.Terminated) {
      this.transition(S.Terminated, info);
    }
  }

  require(...states: SessionState[]): void {
    if (!states.includes(this.state)) {
      throw new SessionStateError(`not allowed in state ${this.state}`);
    }
  }

  /** Runs an async step, ending the call on an unexpected failure instead of leaving an unhandled rejection. */
  guard(what: string, work: Promise<void>): void {
    work.catch((error: unknown) => {
      this.logger.error(`session ${what} failed`, { callId: this.callId, error });
      this.end(this.info(500, "failed", "local", 41));
    });
  }

  /** Adds Contact, Allow, Supported (and session-timer headers) to a dialog-creating or target-refresh message. */
  decorate(message: SipRequest | SipResponse, destination: SipDestination): void {
    message.setHeader("Contact", this.host.contact(destination));
    message.setHeader("Allow", ALLOWED_METHODS.join(", "));
    message.setHeader("Supported", SUPPORTED_OPTIONS.join(", "));
  }

  setBody(message: SipRequest | SipResponse, sdp: string | undefined): void {
    if (sdp !== undefined) {
      message.setHeader("Content-Type", "application/sdp");
      message.body = Buffer.from(sdp, "utf8");
    }
  }

  /** Sends a request inside `dialog` on a new client transaction. */
  sendInDialog(
    dialog: Dialog,
    request: SipRequest,
    onResponse: (r: SipResponse) => void,
    onFail: (status: number) => void,
  ): ClientTransaction | undefined {
    const hop = dialog.nextHop(request, this.transport);
    if (hop === undefined) {
      onFail(416);
      return undefined;
    }
    request.setHeader("User-Agent", this.host.userAgentName);
    const destination = this.host.route(request, hop);
    this.host.stampVia(request, destination);
    if (dialog.pChargingVector !== undefined && !request.hasHeader("P-Charging-Vector")) {
      request.setHeader("P-Charging-Vector", dialog.pChargingVector);
    }
    try {
      return this.host.layer.request(request, destination, {
        receiveResponse: onResponse,
        onRequestTimeout: () => onFail(408),
        onTransportError: () => onFail(503),
      });
    } catch (error) {
      this.logger.warn("cannot send in-dialog request", { error, method: request.method });
      onFail(503);
      return undefined;
    }
  }

  /** Builds a response to a request of this call, with our tag. */
  response(request: SipRequest, status: number, reason?: string): SipResponse {
    const r = createResponse(request, status, { toTag: this.localTag, reason });
    r.setHeader("Server", this.host.userAgentName);
    return r;
  }

  sendBye(options: EndOptions, reasonHeader?: string, after?: () => void): void {
    const dialog = this.dialog;
    if (dialog === undefined) {
      after?.();
      return;
    }
    const bye = dialog.createRequest("BYE");
    bye.setHeader("Reason", reasonHeader ?? formatQ850Reason(options.cause ?? 16, options.text));
    this.sendInDialog(
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

  /** Builds and sends the ACK of a 2xx (RFC 3261 §13.2.2.4), remembering it for 2xx retransmissions. */
  sendAck(dialog: Dialog, cseq: number, sdp?: string): void {
    const ack = dialog.createRequest("ACK", cseq);
    const destination = dialog.nextHop(ack, this.transport);
    if (destination === undefined) {
      return;
    }
    this.host.stampVia(ack, destination);
    this.setBody(ack, sdp);
    this.ack = { cseq, ack, destination };
    this.host.layer.sendStateless(ack, destination);
  }

  /** Re-sends our ACK when the 2xx it acknowledged (CSeq `cseq`) comes again. */
  resendAck(cseq: number): boolean {
    if (this.ack?.cseq !== cseq) {
      return false;
    }
    this.host.layer.sendStateless(this.ack.ack, this.ack.destination);
    return true;
  }

  /**
   * Starts retransmitting a 2xx until its ACK (RFC 3261 §13.3.1.4): "The 2xx response is passed to the transport
   * with an interval that starts at T1 seconds and doubles for each retransmission until it reaches T2 seconds ...
   * If the server retransmits the 2xx response for 64*T1 seconds without receiving an ACK, the dialog is confirmed,
   * but the session SHOULD be terminated. This is accomplished with a BYE".
   */
  start2xx(pending: Pending2xx): void {
    this.pending2xx = pending;
    const { T1, T2 } = this.host.timers;
    const again = (interval: number): void => {
      this.timers.start("2xx", interval, () => {
        if (this.pending2xx !== pending) {
          return;
        }
        this.host.layer.sendStateless(pending.response, pending.destination);
        again(Math.min(2 * interval, T2));
      });
    };
    again(T1);
    this.timers.start("2xxGiveUp", 64 * T1, () => {
      if (this.pending2xx !== pending) {
        return;
      }
      this.pending2xx = undefined;
      this.timers.stop("2xx");
      const info = this.info(this.answeredAt === undefined ? 408 : 200, "no-ack", "local", 102, "No ACK");
      if (this.state === S.Accepted) {
        this.transition(S.Confirmed);
      }
      this.transition(S.Terminating);
      // A peer that never ACKed for 64·T1 is gone or hostile: the BYE goes out (RFC 3261 §13.3.1.4), but the call
      // ends now, not after the BYE's own 32 s transaction, so its media and ports are freed at once.
      this.sendBye({ cause: 102, text: "ACK timeout" });
      this.end(info);
    });
  }
}
