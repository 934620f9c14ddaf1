/**
 * CDRs of SIP legs (issue 5 §5, issue 9 §9): one CDR leg per SIP call, inbound or outbound, started when the call
 * is, ringing and answered with it, and ended when its session terminates, with the codec of the last negotiation
 * and RTP stats from a final getStats of the leg's SipEndpoint. The tracking record of a call ({@link CdrTracking})
 * travels with the call: the pending call holds it until a SipEndpoint claims it, and the session's own events
 * carry it to the end.
 */
import { randomUUID } from "node:crypto";
import type { FinalMedia as ElementFinalMedia } from "../../media/index.js";
import type { InviteSession, TerminationInfo } from "../../sip/index.js";
import { CdrDirection, HangupSide, type CdrRecorder, type LegEnd, type LegStart } from "../cdr/index.js";
import { cdrMedia, fetchStats, type FinalMedia } from "../cdr/finalStats.js";
import type { KurentoServer } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { SipLeg } from "./SipLeg.js";

/** The CDR tracking of one SIP call. */
export interface CdrTracking {
  readonly cdrId: string | undefined;
  leg: SipLeg | undefined;
  /** The CDR leg's start, kept by reference by the recorder: a claim fills in pipeline and element. */
  readonly start: LegStart | undefined;
}

export interface SipCdrOptions {
  /** CDR recorder (config `cdr.enabled`), or undefined: nothing is recorded. */
  readonly recorder: CdrRecorder | undefined;
  readonly kurento: KurentoServer;
  /** True once the SIP service shuts down (its calls end as `shutdown`, by the system). */
  readonly stopping: () => boolean;
  /** An inbound INVITE Korus refused as malformed (never a call): counted, no CDR. */
  readonly onMalformed: () => void;
}

export class SipCdr {
  readonly #cdr: CdrRecorder | undefined;
  readonly #k: KurentoServer;
  readonly #stopping: () => boolean;
  readonly #onMalformed: () => void;
  readonly #finalStats = new Map<string, Promise<FinalMedia>>();

  constructor(options: SipCdrOptions) {
    this.#cdr = options.recorder;
    this.#k = options.kurento;
    this.#stopping = options.stopping;
    this.#onMalformed = options.onMalformed;
  }

  /** Starts the CDR leg of an inbound call and follows its session. */
  track(session: InviteSession, start: LegStart): CdrTracking {
    const cdrId = this.#cdr === undefined ? undefined : randomUUID();
    if (cdrId !== undefined) {
      this.#cdr?.started(cdrId, start);
    }
    const tracked: CdrTracking = { cdrId, leg: undefined, start };
    this.follow(session, tracked);
    return tracked;
  }

  /** Starts the CDR leg of an outbound call before its INVITE exists (its ICID goes into P-Charging-Vector). */
  outboundStarted(start: LegStart): string | undefined {
    const cdrId = this.#cdr === undefined ? undefined : randomUUID();
    if (cdrId !== undefined) {
      this.#cdr?.started(cdrId, start);
    }
    return cdrId;
  }

  /** The IMS charging id of a CDR leg ("" without one). */
  icid(cdrId: string): string {
    return this.#cdr?.icid(cdrId) ?? "";
  }

  /** A leg's start changed (call id, pipeline, element): journaled with the next batch. */
  touched(cdrId: string | undefined): void {
    if (cdrId !== undefined) {
      this.#cdr?.touched(cdrId);
    }
  }

  /** Ends a CDR leg whose call never got a session (trunk down, bad target). */
  ended(cdrId: string | undefined, end: LegEnd): void {
    if (cdrId !== undefined) {
      this.#cdr?.ended(cdrId, end);
    }
  }

  /** A SipEndpoint claimed the inbound call: the CDR leg learns its pipeline and element. */
  claimed(tracked: CdrTracking, leg: SipLeg): void {
    tracked.leg = leg;
    if (tracked.start !== undefined) {
      tracked.start.pipelineId = leg.pipelineId;
      tracked.start.elementId = leg.elementId;
      this.touched(tracked.cdrId); // journaled with the next batch
    }
  }

  /** Follows a session's progress, answer and end into its CDR leg. */
  follow(session: InviteSession, tracked: CdrTracking): void {
    const cdrId = tracked.cdrId;
    if (cdrId === undefined) {
      return;
    }
    session.on("progress", () => this.#cdr?.ringing(cdrId));
    session.on("answered", () => this.#cdr?.answered(cdrId));
    session.on("terminated", (info) => this.#ended(tracked, info));
  }

  /**
   * A released SipEndpoint whose call still runs: its CDR takes the final media facts the worker returns with the
   * release itself (docs/closures.md), not a request that would race it.
   */
  keepFinalStats(obj: KObject, final: Promise<Readonly<Record<string, ElementFinalMedia>>>): void {
    this.#finalStats.set(
      obj.id,
      final.then((all) => cdrMedia(all[obj.id])),
    );
  }

  #ended(tracked: CdrTracking, info: TerminationInfo): void {
    const cdrId = tracked.cdrId;
    if (cdrId === undefined || this.#cdr === undefined) {
      return;
    }
    if (isMalformedInbound(tracked.start, info)) {
      // Issue 9 §9: an INVITE whose request or offer Korus could not use never became a call: no CDR, a counter.
      this.#cdr.discard(cdrId);
      this.#onMalformed();
      return;
    }
    const noAck = info.ending === "no-ack";
    if (noAck) {
      this.#cdr.unanswered(cdrId); // our 2xx was never ACKed: the caller never saw the call connect; not billed
    }
    const leg = tracked.leg;
    const stats = leg === undefined ? Promise.resolve<FinalMedia>({}) : this.#statsOf(leg);
    const cdr = this.#cdr;
    void stats.then(({ stats: s, transcoded, pipelineCodec }) => {
      if (leg !== undefined) {
        cdr.media(cdrId, {
          peerCodec: leg.answerCodec,
          ...(pipelineCodec === undefined ? {} : { pipelineCodec }),
          ...(transcoded === undefined ? {} : { transcoded }),
        });
      }
      const system = leg?.endCause?.cause === 41 || this.#stopping();
      cdr.ended(cdrId, {
        hangupSide: system ? HangupSide.System : info.by === "local" ? HangupSide.Local : HangupSide.Remote,
        sipStatus: noAck ? 408 : info.status,
        q850Cause: info.cause,
        endReason: leg?.endCause !== undefined ? "worker-died" : this.#stopping() ? "shutdown" : info.ending,
        ...(s === undefined ? {} : { stats: s }),
        at: info.endedAt,
      });
    });
  }

  /**
   * The leg's RTP stats: the final ones its element's release returned, or, when the call ended while the element
   * lives (a BYE from the peer), the element's own.
   */
  #statsOf(leg: SipLeg): Promise<FinalMedia> {
    const final = this.#finalStats.get(leg.elementId);
    if (final !== undefined) {
      this.#finalStats.delete(leg.elementId);
      return final;
    }
    const obj = this.#k.objects.get(leg.elementId);
    return obj === undefined ? Promise.resolve({}) : fetchStats(obj);
  }
}

/**
 * True for an inbound INVITE refused by Korus itself with 400 Bad Request before any answer: a malformed request,
 * garbage, not a call. A well-formed offer that cannot be served (488 Not Acceptable Here, no common codec) is a
 * failed call attempt, and keeps its FAILED CDR: carriers count those.
 */
function isMalformedInbound(start: LegStart | undefined, info: TerminationInfo): boolean {
  return (
    start?.direction === CdrDirection.Inbound &&
    info.by === "local" &&
    info.answeredAt === undefined &&
    info.status === 400
  );
}
