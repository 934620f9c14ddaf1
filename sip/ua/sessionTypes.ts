/**
 * The types an {@link InviteSession} shares with its user agent and with the files that play its roles (INVITE
 * client and server, re-offer client and server, session timer, INFO): events, termination record, options, the
 * error raised for an operation in the wrong state.
 */

import type { DigestCredentials } from "../auth/index.js";
import type { Dialog } from "../dialog/Dialog.js";
import type { SipRequest } from "../message/SipMessage.js";
import type { TimerTable } from "../transaction/timers.js";
import type { TransactionLayer } from "../transaction/TransactionLayer.js";
import type { HoldState } from "./SessionHold.js";
import type { SipDestination } from "../transport/SipTransport.js";

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
  /** The hold state of either side changed (our hold or resume completed, or the peer's). */
  hold: [state: HoldState];
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

/**
 * What a session needs from its user agent. `Session` is the {@link InviteSession} (named by a parameter so that the
 * role files, which never see the session class, can share this declaration).
 */
export interface SessionHostOf<Session> {
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
  registerDialog(dialog: Dialog, session: Session): void;
  unregisterDialog(dialog: Dialog): void;
  sessionEnded(session: Session, info: TerminationInfo): void;
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
