/**
 * SipEndpoint (module korus): the media half of a SIP call leg. It is an {@link RtpEndpoint} whose SDP is negotiated
 * over SIP by the control plane (src/sip), which drives it through three internal operations that tolerate the
 * repetitions SIP produces (issue 5 §1):
 *
 * - `sipOffer {refresh}`: our offer, audio only (initial INVITE, or the offer in a 2xx to an offerless INVITE); once
 *   negotiated, the current description (a session refresh or re-offer that changes nothing, RFC 3264 §8);
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
import type { Operation } from "../core/MediaObject.js";
import { NegotiationState } from "../endpoint/SdpEndpoint.js";
import { MediaOperationError } from "../errors.js";
import { RtpEndpoint, type DtmfMode } from "./RtpEndpoint.js";

const DTMF_MODES: readonly string[] = ["rfc4733", "inband", "info"];

export class SipEndpoint extends RtpEndpoint {
  /**
   * Our offer (audio, plus video when asked): generateOffer while NEW; afterwards the current local description.
   * @throws MediaOperationError as SdpEndpoint.generateOffer.
   */
  async sipOffer(video: boolean): Promise<string> {
    if (this.negotiationState !== NegotiationState.New) {
      return this.localSessionDescriptor();
    }
    return this.generateOffer({ __module__: "kurento", __type__: "OfferOptions", offerToReceiveVideo: video });
  }

  /** The peer's answer to our offer; null once negotiated (a repeated or refresh answer changes nothing). */
  async sipAnswer(answer: string): Promise<string | null> {
    return this.negotiationState === NegotiationState.Offered ? this.processAnswer(answer) : null;
  }

  /** The peer's (re-)offer. @throws MediaOperationError as SdpEndpoint.processOffer. */
  sipProcessOffer(offer: string): Promise<string> {
    return this.processOffer(offer);
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
      sipOffer: (a) => this.sipOffer(a["video"] === true),
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
