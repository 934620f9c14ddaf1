/**
 * The control half of one SipEndpoint (issue 5 §1): the SIP call leg behind a `korus.SipEndpoint` element. The media
 * half lives in the element's worker (media/elements/SipEndpoint.ts); this class negotiates its SDP over SIP through a
 * {@link MediaHandler} that calls the element's internal operations, follows the {@link InviteSession}'s events with
 * a {@link CallState} and raises CallStateChanged, MediaSessionStarted and MediaSessionTerminated on the element.
 *
 * The leg survives its call: when the call ends (BYE from the peer, CANCEL, failure) the state is TERMINATED and the
 * element stays until the application releases it, like KMS endpoints. Releasing the element hangs up.
 */
import type { JsonObject, JsonValue } from "../../media/index.js";
import { firstAudioCodec, restrictCodecs, SessionDescription } from "../../sdp/index.js";
import {
  DTMF_RELAY_TYPE,
  DtmfInfoError,
  formatDtmfRelay,
  MediaUnavailableError,
  parseDtmfInfo,
  TransactionStateError,
  type InviteSession,
  type MediaHandler,
  type OfferRequest,
  type SipRequest,
  type TerminationInfo,
} from "../../sip/index.js";
import type { TrunkDefinition } from "../../sip/trunk/index.js";
import { CallState, callStateAllows } from "./CallState.js";
import type { SipEndpointMedia } from "./SipEndpointMedia.js";
import { holdCall, holdStateEvent } from "./SipHold.js";

/** What a leg needs from the SIP service. */
export interface LegContext {
  /** The element's media half in its worker. */
  readonly media: SipEndpointMedia;
  /** Raises a Kurento event on the element. */
  emit(event: string, data: JsonObject): void;
  /** Logs a fault of the peer's (a malformed DTMF INFO, an INFO the peer refused). */
  warn(message: string, context: Record<string, unknown>): void;
}

/** Raised for a call-control operation that the leg's state does not allow (answered as a Kurento error). */
export class SipLegError extends Error {
  override readonly name = "SipLegError";
}

export class SipLeg {
  readonly elementId: string;
  readonly pipelineId: string;
  readonly #ctx: LegContext;
  #state = CallState.Idle;
  #session: InviteSession | undefined;
  #trunk: TrunkDefinition | undefined;
  #remoteIdentity = "";
  #mediaStarted = false;
  /** The cause to put in our BYE/CANCEL when the element goes away (41 when its worker died). */
  endCause: { cause: number; text: string } | undefined;
  /** The latest SDP answer of the negotiation (for the CDR's codec). */
  answerSdp: string | undefined;
  /** DTMF by SIP INFO: each digit waits for the previous INFO's answer and its duration + gap. */
  #infoChain: Promise<void> = Promise.resolve();

  constructor(elementId: string, pipelineId: string, ctx: LegContext) {
    this.elementId = elementId;
    this.pipelineId = pipelineId;
    this.#ctx = ctx;
  }

  get state(): CallState {
    return this.#state;
  }

  get session(): InviteSession | undefined {
    return this.#session;
  }

  get trunk(): TrunkDefinition | undefined {
    return this.#trunk;
  }

  get sipCallId(): string {
    return this.#session?.callId ?? "";
  }

  get remoteIdentity(): string {
    return this.#remoteIdentity;
  }

  /** The codec the latest negotiation settled on (first real audio codec of the answer, for the CDR), or null. */
  get answerCodec(): string | null {
    try {
      return this.answerSdp === undefined ? null : firstAudioCodec(SessionDescription.parse(this.answerSdp));
    } catch {
      return null;
    }
  }

  /**
   * The only place the call state changes: validates the move, then raises CallStateChanged (and the
   * MediaSession events). A move the diagram lacks (a 180 after a 183, a repeated state) is ignored.
   */
  #transition(to: CallState, sipStatus: number, q850Cause: number): void {
    if (!callStateAllows(this.#state, to)) {
      return;
    }
    this.#state = to;
    this.#ctx.emit("CallStateChanged", {
      state: to,
      sipStatus,
      q850Cause,
    });
    if ((to === CallState.Connected || to === CallState.EarlyMedia) && !this.#mediaStarted) {
      this.#mediaStarted = true;
      this.#ctx.emit("MediaSessionStarted", {});
    }
    if (to === CallState.Terminated && this.#mediaStarted) {
      this.#ctx.emit("MediaSessionTerminated", {});
    }
  }

  /** The media handler of this leg's session: SDP through the element's worker, limited to the trunk's codecs. */
  mediaHandler(): MediaHandler {
    const allowed = (): readonly string[] => this.#trunk?.codecs ?? [];
    return {
      getOffer: async (request: OfferRequest) => {
        const sdp = await this.#ctx.media.offer(request.refresh === true, request.direction).catch(noResources);
        return restricted(text(sdp), allowed());
      },
      setAnswer: async (sdp: string) => {
        this.answerSdp = sdp;
        await this.#ctx.media.answer(sdp);
      },
      processOffer: async (sdp: string) => {
        const offer = restricted(sdp, allowed());
        const answer = text(await this.#ctx.media.processOffer(offer).catch(noResources));
        this.answerSdp = answer;
        return answer;
      },
      close: () => undefined,
    };
  }

  /** Binds a session (an outgoing call placed by {@link SipService.call}, or a claimed incoming one). */
  bind(session: InviteSession, trunk: TrunkDefinition | undefined, remoteIdentity: string): void {
    if (this.#session !== undefined) {
      throw new SipLegError("this SipEndpoint already has a call");
    }
    this.#session = session;
    this.#trunk = trunk;
    this.#remoteIdentity = remoteIdentity;
    if (session.role === "uac") {
      this.#transition(CallState.Calling, 0, 0);
    }
    session.on("progress", (status, info) => {
      if (info.earlyMedia) {
        this.#transition(CallState.EarlyMedia, status, 0);
      } else if (session.role === "uac" || status === 180) {
        this.#transition(CallState.Ringing, status, 0);
      }
    });
    session.on("answered", () => this.#transition(CallState.Connected, 200, 0));
    session.on("terminated", (info: TerminationInfo) =>
      this.#transition(CallState.Terminated, info.status, info.cause),
    );
    session.on("info", (request) => this.#onInfo(request));
    session.on("hold", (state) => this.#ctx.emit("HoldStateChanged", holdStateEvent(state)));
    if (trunk !== undefined && trunk.dtmf !== "rfc4733") {
      // Sent before any SDP operation of this call, so the worker knows the mode before media flows.
      void this.#ctx.media.setDtmfMode(trunk.dtmf).catch((err: unknown) => {
        this.#ctx.warn("sip: could not set the DTMF mode", { trunk: trunk.name, error: String(err) });
      });
    }
  }

  /** An INFO from the peer: DTMF bodies (application/dtmf-relay, application/dtmf) raise DtmfReceived. */
  #onInfo(request: SipRequest): void {
    try {
      const d = parseDtmfInfo(request);
      if (d !== undefined) {
        this.#ctx.emit("DtmfReceived", { digit: d.digit, durationMs: d.durationMs ?? 0 });
        // On into the pipeline as RFC 4733, e.g. towards a bridged leg on an RFC 4733 trunk.
        void this.#ctx.media.injectDtmf(d.digit, d.durationMs ?? 0).catch((err: unknown) => {
          this.#ctx.warn("sip: a DTMF INFO digit could not be forwarded into the pipeline", { error: String(err) });
        });
      }
    } catch (err) {
      // Already answered 200 (RFC 6086 §4.2.2 leaves the body to the application): the fault is only logged.
      this.#ctx.warn("sip: ignoring a malformed DTMF INFO", {
        callId: this.sipCallId,
        error: err instanceof DtmfInfoError ? err.message : String(err),
      });
    }
  }

  /**
   * Sends one digit as a SIP INFO (`application/dtmf-relay`, the trunk's `dtmf: info`). Digits go one at a time:
   * the next leaves once the previous one is answered and its duration and gap have passed.
   */
  sendInfoDigit(digit: string, durationMs: number, gapMs: number): void {
    this.#infoChain = this.#infoChain.then(async () => {
      const session = this.#session;
      if (session === undefined || this.#state !== CallState.Connected) {
        this.#ctx.warn("sip: DTMF INFO not sent: the call is not connected", { elementId: this.elementId, digit });
        return;
      }
      const paced = new Promise((resolve) => setTimeout(resolve, durationMs + gapMs).unref());
      try {
        const status = await session.info(DTMF_RELAY_TYPE, formatDtmfRelay(digit, durationMs));
        if (status >= 300) {
          this.#ctx.warn("sip: the peer refused a DTMF INFO", { callId: session.callId, digit, status });
        }
      } catch (err) {
        this.#ctx.warn("sip: DTMF INFO not sent", { callId: session.callId, digit, error: String(err) });
      }
      await paced;
    });
  }

  /** Answers the claimed incoming call (200 OK with our SDP answer). */
  async answer(): Promise<void> {
    const s = this.#inbound("answer");
    try {
      await s.answer();
    } catch (err) {
      // The caller went away (CANCEL raced the answer, or the INVITE transaction ended): not a server fault.
      if (s.termination !== undefined || err instanceof TransactionStateError) {
        throw new SipLegError("answer(): the call already ended (cancelled, or the caller is gone)");
      }
      throw err;
    }
  }

  /** Rejects the claimed incoming call with `status` (default 486). */
  reject(status: number, reason: string | undefined): void {
    const s = this.#inbound("reject");
    if (!Number.isInteger(status) || status < 300 || status > 699) {
      throw new SipLegError(`reject: status must be 300-699, got ${status}`);
    }
    s.reject(status, reason === undefined || reason === "" ? {} : { text: reason });
  }

  /**
   * Puts the peer on hold (`held`) or resumes it: a re-INVITE, or an UPDATE when the trunk says `holdMethod: update`
   * and the peer allows it (src/sip/SipHold.ts). HoldStateChanged follows once the peer answered.
   */
  async hold(held: boolean): Promise<void> {
    const s = this.#session;
    if (s === undefined || this.#state !== CallState.Connected) {
      throw new SipLegError(`${held ? "hold" : "resume"}(): the call is not connected`);
    }
    await holdCall(s, held, this.#trunk?.holdMethod);
  }

  /** Ends the call: CANCEL, rejection or BYE depending on the state (idempotent; no call → nothing). */
  hangup(): void {
    this.#session?.hangup(this.endCause ?? { cause: 16 });
  }

  #inbound(what: string): InviteSession {
    const s = this.#session;
    if (s?.role !== "uas") {
      throw new SipLegError(`${what}() is for a SipEndpoint created with the callId of an incoming call`);
    }
    if (this.#state === CallState.Terminated) {
      throw new SipLegError(`${what}(): the call already ended`);
    }
    return s;
  }
}

/**
 * `sdp` limited to a trunk's codecs (the sdp/ codec policy); unchanged without a list.
 * @throws {NoAllowedCodecError} when an audio section keeps no codec; {SdpParseError} for text that is not SDP.
 */
function restricted(sdp: string, allowed: readonly string[]): string {
  if (allowed.length === 0) {
    return sdp;
  }
  const description = SessionDescription.parse(sdp);
  restrictCodecs(description, allowed);
  return description.toString();
}

/** An SDP returned by the worker. @throws {SipLegError} for anything but a string. */
function text(v: JsonValue): string {
  if (typeof v !== "string") {
    throw new SipLegError("the media worker returned no SDP");
  }
  return v;
}

/**
 * A worker's NOT_ENOUGH_RESOURCES (no free RTP port) becomes the SIP stack's MediaUnavailableError, which answers an
 * inbound call 503 + Retry-After instead of 488; every other error passes unchanged.
 */
function noResources(err: unknown): never {
  if (
    typeof err === "object" &&
    err !== null &&
    (err as { kurentoType?: unknown }).kurentoType === "NOT_ENOUGH_RESOURCES"
  ) {
    throw new MediaUnavailableError((err as Error).message);
  }
  throw err;
}
