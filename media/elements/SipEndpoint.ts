/**
 * SipEndpoint (module korus): the media half of a SIP call leg. It is an {@link RtpEndpoint} whose SDP is negotiated
 * over SIP by the control plane (src/sip), which drives it through three internal operations that tolerate the
 * repetitions SIP produces (issue 5 §1):
 *
 * - `sipOffer {refresh, direction}`: our offer, audio only (initial INVITE, or the offer in a 2xx to an offerless
 *   INVITE); once negotiated, the description last sent (a session refresh or re-offer that changes nothing,
 *   RFC 3264 §8), or with `direction` a hold (`sendonly`, `inactive`) or resume (`sendrecv`) offer: the current
 *   description with that direction on every stream and the next `o=` version (RFC 3264 §8.4);
 * - `sipAnswer {answer}`: the peer's answer; ignored once negotiated (a 200 repeating the SDP of a 183 early-media
 *   answer, or a refresh answer);
 * - `sipProcessOffer {offer}`: the peer's offer, initial or a re-INVITE/UPDATE (hold, resume, new address or codec),
 *   which RtpEndpoint applies to the same sockets without touching the pipeline graph;
 * - `sipDtmfMode {mode}`: the trunk's DTMF mode (`rfc4733`, `inband`, `info`, see {@link DtmfMode});
 * - `sipInjectDtmf {digit, durationMs}`: a digit the peer sent by SIP INFO, forwarded into the pipeline as RFC 4733.
 *
 * The Kurento SdpEndpoint methods (generateOffer, processOffer, processAnswer) are refused by the control plane for
 * this type: an application cannot renegotiate under a live SIP dialog.
 */
import { answerDirection, isDirection, SessionDescription, type Direction } from "../../sdp/index.js";
import type { Operation } from "../core/MediaObject.js";
import { NegotiationState } from "../endpoint/SdpEndpoint.js";
import { MediaOperationError } from "../errors.js";
import { RtpEndpoint, type DtmfMode } from "./RtpEndpoint.js";

const DTMF_MODES: readonly string[] = ["rfc4733", "inband", "info"];

export class SipEndpoint extends RtpEndpoint {
  /** The description we last sent over SIP, and its `o=` version (versions we send only grow, RFC 3264 §8). */
  #sent: { readonly sdp: string; readonly version: bigint } | undefined;
  /** Our hold direction (`sendonly` or `inactive`) while we hold the peer. */
  #hold: Direction | undefined;

  /**
   * Our offer (audio, plus video when asked): generateOffer while NEW; afterwards the description last sent, or with
   * `direction` a hold or resume offer.
   * @throws MediaOperationError as SdpEndpoint.generateOffer.
   */
  async sipOffer(video: boolean, direction?: Direction): Promise<string> {
    if (this.negotiationState === NegotiationState.New) {
      const offer = await this.generateOffer({
        __module__: "kurento",
        __type__: "OfferOptions",
        offerToReceiveVideo: video,
      });
      return this.#send(SessionDescription.parse(offer));
    }
    if (direction === undefined) {
      return this.#sent?.sdp ?? this.localSessionDescriptor();
    }
    this.#hold = direction === "sendrecv" ? undefined : direction;
    const sdp = SessionDescription.parse(this.localSessionDescriptor());
    for (const m of sdp.media) {
      if (!m.isRejected && (m.kind === "audio" || m.kind === "video")) {
        m.direction = direction;
      }
    }
    return this.#send(sdp);
  }

  /** Records `sdp` as sent, its `o=` version raised above the last one sent. */
  #send(sdp: SessionDescription): string {
    const last = this.#sent?.version;
    let version = BigInt(sdp.origin.sessionVersion);
    // Bounded: our own versions run at most a few hold offers ahead of the endpoint's.
    for (let i = 0; last !== undefined && version <= last && i < 1000; i++) {
      sdp.incrementVersion();
      version += 1n;
    }
    const text = sdp.toString();
    this.#sent = { sdp: text, version };
    return text;
  }

  /** The peer's answer to our offer; null once negotiated (a repeated or refresh answer changes nothing). */
  async sipAnswer(answer: string): Promise<string | null> {
    return this.negotiationState === NegotiationState.Offered ? this.processAnswer(answer) : null;
  }

  /**
   * The peer's (re-)offer; while we hold the peer, our answer keeps the hold (RFC 3264 §6.1 from our `sendonly` or
   * `inactive` wish). @throws MediaOperationError as SdpEndpoint.processOffer.
   */
  async sipProcessOffer(offer: string): Promise<string> {
    const answer = SessionDescription.parse(await this.processOffer(offer));
    const hold = this.#hold;
    if (hold !== undefined) {
      const offered = SessionDescription.parse(offer).media;
      for (const [index, m] of answer.media.entries()) {
        const o = offered[index];
        if (o !== undefined && !m.isRejected && (m.kind === "audio" || m.kind === "video")) {
          m.direction = answerDirection(o.direction, hold);
        }
      }
    }
    return this.#send(answer);
  }

  /** The trunk's DTMF mode. @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR for an unknown mode. */
  sipDtmfMode(mode: unknown): void {
    if (typeof mode !== "string" || !isDtmfMode(mode)) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `unknown DTMF mode ${JSON.stringify(mode)}`);
    }
    this.setDtmfMode(mode);
  }

  /** A digit the peer sent by SIP INFO. @throws MediaOperationError MEDIA_OBJECT_ILLEGAL_PARAM_ERROR. */
  sipInjectDtmf(digit: unknown, durationMs: unknown): void {
    if (typeof digit !== "string" || typeof durationMs !== "number") {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "sipInjectDtmf needs digit and durationMs");
    }
    try {
      this.injectDtmf(digit, durationMs);
    } catch (err) {
      throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", String(err));
    }
  }

  /** The internal operations the control plane invokes through the worker channel (see the module comment). */
  protected override operations(): Record<string, Operation> {
    return {
      ...super.operations(),
      sipOffer: (a) => {
        const direction = a["direction"];
        return this.sipOffer(
          a["video"] === true,
          typeof direction === "string" && isDirection(direction) ? direction : undefined,
        );
      },
      sipAnswer: (a) => this.sipAnswer(typeof a["answer"] === "string" ? a["answer"] : ""),
      sipProcessOffer: (a) => this.sipProcessOffer(typeof a["offer"] === "string" ? a["offer"] : ""),
      sipDtmfMode: (a) => {
        this.sipDtmfMode(a["mode"]);
        return null;
      },
      sipInjectDtmf: (a) => {
        this.sipInjectDtmf(a["digit"], a["durationMs"]);
        return null;
      },
    };
  }
}

function isDtmfMode(mode: string): mode is DtmfMode {
  return DTMF_MODES.includes(mode);
}
