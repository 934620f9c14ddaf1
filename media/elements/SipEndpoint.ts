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
import type { JsonObject, JsonValue } from "../channel/protocol.js";
import type { Operation } from "../core/MediaObject.js";
import { MediaOperationError } from "../errors.js";
import { RtpEndpoint, RtpNegotiation, type DtmfMode } from "./RtpEndpoint.js";

const DTMF_MODES: readonly string[] = ["rfc4733", "inband", "info"];

export class SipEndpoint extends RtpEndpoint {
  protected override operations(): Record<string, Operation> {
    const base = super.operations();
    const call = (name: string, args: JsonObject): JsonValue | Promise<JsonValue> => {
      const op = base[name];
      if (op === undefined) {
        throw new MediaOperationError("MEDIA_OBJECT_OPERATION_NOT_SUPPORTED", `RtpEndpoint lacks ${name}`);
      }
      return op(args);
    };
    return {
      ...base,
      sipOffer: (a) =>
        this.state === RtpNegotiation.New
          ? call("generateOffer", {
              options: { __module__: "kurento", __type__: "OfferOptions", offerToReceiveVideo: a["video"] === true },
            })
          : call("getLocalSessionDescriptor", {}),
      sipAnswer: (a) =>
        this.state === RtpNegotiation.Offered ? call("processAnswer", { answer: a["answer"] ?? "" }) : null,
      sipProcessOffer: (a) => call("processOffer", { offer: a["offer"] ?? "" }),
      sipDtmfMode: (a) => {
        const mode = a["mode"];
        if (typeof mode !== "string" || !DTMF_MODES.includes(mode)) {
          throw new MediaOperationError(
            "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
            `unknown DTMF mode ${JSON.stringify(mode)}`,
          );
        }
        this.setDtmfMode(mode as DtmfMode);
        return null;
      },
      sipInjectDtmf: (a) => {
        const digit = a["digit"];
        const duration = a["durationMs"];
        if (typeof digit !== "string" || typeof duration !== "number") {
          throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "sipInjectDtmf needs digit and durationMs");
        }
        try {
          this.injectDtmf(digit, duration);
        } catch (err) {
          throw new MediaOperationError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", String(err));
        }
        return null;
      },
    };
  }
}
