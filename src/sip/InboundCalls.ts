/**
 * Inbound calls from INVITE to claim (issue 5 §1, §3): each new call starts its CDR leg, is announced with the
 * SipGateway's IncomingCall event (to the trunk's application only, when the trunk has one), and waits to be claimed
 * by a SipEndpoint created with its `callId`. A call nobody claims within `sip.claimTimeoutMs` (at once when nobody
 * subscribed to IncomingCall) follows the {@link DialPlan}.
 */
import type { JsonObject } from "../../media/index.js";
import type { IncomingCall, InviteSession } from "../../sip/index.js";
import { CdrDirection } from "../cdr/index.js";
import { KurentoError } from "../kurento/errors.js";
import type { KurentoServer } from "../kurento/KurentoServer.js";
import type { Logger } from "../logging/logger.js";
import type { DialPlan } from "./DialPlan.js";
import { ClaimableMedia, type PendingCall } from "./PendingCall.js";
import type { SipCdr } from "./SipCdr.js";
import type { SipLeg } from "./SipLeg.js";

/** Object id of the SipGateway singleton (subscribe to its IncomingCall). */
export const SIP_GATEWAY_ID = "korus_SipGateway";

export interface InboundCallsOptions {
  readonly kurento: KurentoServer;
  readonly dialPlan: DialPlan;
  readonly cdr: SipCdr;
  /** How long an announced call waits for a claim before the dial plan takes it (0: at once). */
  readonly claimTimeoutMs: number;
  /** True once the SIP service shuts down: new calls are refused with 503. */
  readonly stopping: () => boolean;
  readonly logger: Logger;
}

export class InboundCalls {
  readonly #k: KurentoServer;
  readonly #dialPlan: DialPlan;
  readonly #cdr: SipCdr;
  readonly #claimTimeoutMs: number;
  readonly #stopping: () => boolean;
  readonly #log: Logger;
  readonly #pending = new Map<string, PendingCall>();

  constructor(options: InboundCallsOptions) {
    this.#k = options.kurento;
    this.#dialPlan = options.dialPlan;
    this.#cdr = options.cdr;
    this.#claimTimeoutMs = options.claimTimeoutMs;
    this.#stopping = options.stopping;
    this.#log = options.logger;
  }

  /** Pending (announced, unclaimed) inbound calls. */
  get size(): number {
    return this.#pending.size;
  }

  /** A new call from the user agent: its trunk came with the admitted request, its media with the session. */
  incoming(session: InviteSession, call: IncomingCall): void {
    const trunk = call.request.trunk;
    const media = session.media instanceof ClaimableMedia ? session.media : new ClaimableMedia();
    const id = call.identity;
    const tracking = this.#cdr.track(session, {
      direction: CdrDirection.Inbound,
      callId: session.callId,
      trunk: trunk?.name ?? null,
      from: id.from.toString(),
      to: id.to.toString(),
      pai: id.assertedIdentity[0]?.toString() ?? null,
      pChargingVector: call.request.getHeader("P-Charging-Vector") ?? null,
      diversion: id.diversion,
      historyInfo: id.historyInfo,
    });
    if (this.#stopping()) {
      session.reject(503, { cause: 41, text: "Shutting down" });
      return;
    }
    const pending: PendingCall = { callId: session.callId, session, call, trunk, media, tracking, timer: undefined };
    this.#pending.set(pending.callId, pending);
    session.on("terminated", () => this.#unpend(pending));
    const headers: JsonObject = { "Request-URI": id.requestUri };
    for (const name of ["Diversion", "History-Info", "P-Charging-Vector", "Privacy", "User-Agent", "Subject"]) {
      const v = call.request.getHeaders(name);
      if (v.length > 0) {
        headers[name] = v.join(", ");
      }
    }
    // A trunk bound to an application announces its calls to that application's sessions only (isolation).
    const audience = trunk?.application;
    const listeners = this.#k.audienceOf(SIP_GATEWAY_ID, "IncomingCall", audience);
    this.#k.emitEvent(
      SIP_GATEWAY_ID,
      "IncomingCall",
      {
        callId: session.callId,
        trunk: trunk?.name ?? "",
        from: id.from.uri.toString(),
        to: id.to.uri.toString(),
        pai: id.assertedIdentity[0]?.uri.toString() ?? "",
        headers,
      },
      audience,
    );
    const route = (): void => {
      if (this.#pending.get(pending.callId) === pending) {
        this.#unpend(pending);
        void this.#dialPlan.route(pending);
      }
    };
    if (listeners === 0 || this.#claimTimeoutMs === 0) {
      setImmediate(route);
    } else {
      pending.timer = setTimeout(route, this.#claimTimeoutMs);
      pending.timer.unref();
    }
  }

  #unpend(pending: PendingCall): void {
    clearTimeout(pending.timer);
    if (this.#pending.get(pending.callId) === pending) {
      this.#pending.delete(pending.callId);
    }
  }

  /**
   * Claims an announced call for a new SipEndpoint (`callId` ctor param): binds its media and sends 180 Ringing.
   * The dial plan claims calls the same way (through the public API), after the claim timeout removed them from the
   * pending table; it passes them back through {@link DialPlan.adoptable}.
   * @throws {KurentoError} when no such call waits to be claimed by `application`.
   */
  claim(leg: SipLeg, callId: string, application: string | null = null): void {
    const pending = this.#pending.get(callId) ?? this.#dialPlan.adoptable(callId);
    if (
      pending === undefined ||
      pending.session.termination !== undefined ||
      !this.#k.reaches(application, pending.trunk?.application) // another application's call looks like none
    ) {
      throw new KurentoError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `no incoming call with callId '${callId}' waits to be claimed`,
      );
    }
    this.#unpend(pending);
    this.#dialPlan.adopted(callId);
    const id = pending.call.identity;
    pending.media.target = leg.mediaHandler();
    leg.bind(pending.session, pending.trunk, id.from.uri.toString());
    this.#cdr.claimed(pending.tracking, leg);
    pending.session.progress().catch((err: unknown) => {
      this.#log.debug({ err: String(err), callId }, "sip: 180 not sent");
    });
  }

  /** Shutdown: every pending call is rejected with 503 (cause 41). */
  rejectAll(): void {
    for (const p of [...this.#pending.values()]) {
      this.#unpend(p);
      try {
        p.session.reject(503, { cause: 41, text: "Shutting down" });
      } catch {
        // already ended
      }
    }
  }
}
