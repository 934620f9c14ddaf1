/**
 * The control plane's answers to operations on Korus's SIP objects (issue 5 §1): the SipGateway singleton's getRoom
 * and getTrunks, and a SipEndpoint's call control (call, answer, reject, hangup) and getters, each a typed call on
 * its {@link SipLeg}. SDP operations are refused: a SipEndpoint negotiates over SIP.
 */
import type { JsonObject, JsonValue } from "../../media/index.js";
import { hasControlChar, SessionStateError } from "../../sip/index.js";
import type { TrunkDefinition } from "../../sip/trunk/index.js";
import { KurentoError } from "../kurento/errors.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { DialPlan } from "./DialPlan.js";
import { SIP_GATEWAY_ID } from "./InboundCalls.js";
import { InternalRpcError } from "./InternalClient.js";
import type { OutboundCalls } from "./OutboundCalls.js";
import { SipLegError, type SipLeg } from "./SipLeg.js";

/** What the operations reach. */
export interface SipOperationContext {
  readonly legs: ReadonlyMap<string, SipLeg>;
  readonly dialPlan: DialPlan;
  readonly trunks: readonly TrunkDefinition[];
  readonly outbound: OutboundCalls;
}

/** A runner for `op` on `obj` when it is a SIP object's operation the control plane answers, else undefined. */
export function sipOperation(
  ctx: SipOperationContext,
  obj: KObject,
  op: string,
  args: JsonObject,
): (() => JsonValue | Promise<JsonValue>) | undefined {
  if (obj.id === SIP_GATEWAY_ID) {
    if (op === "getRoom") {
      return async () => {
        try {
          return (await ctx.dialPlan.room(typeof args["name"] === "string" ? args["name"] : "")).composite;
        } catch (err) {
          throw err instanceof InternalRpcError
            ? new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", err.message)
            : err;
        }
      };
    }
    return op === "getTrunks" ? () => ctx.trunks.map((t) => t.name) : undefined;
  }
  const leg = ctx.legs.get(obj.id);
  if (leg === undefined) {
    return undefined;
  }
  const guarded = (fn: () => JsonValue | Promise<JsonValue>) => async (): Promise<JsonValue> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof SipLegError || err instanceof SessionStateError) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", err.message);
      }
      throw err;
    }
  };
  switch (op) {
    case "call":
      return guarded(() => ctx.outbound.call(leg, typeof args["uri"] === "string" ? args["uri"] : "", args["options"]));
    case "answer":
      return guarded(async () => {
        await leg.answer();
        return null;
      });
    case "reject":
      return guarded(() => {
        const status = typeof args["status"] === "number" ? args["status"] : 486;
        const reason = args["reason"];
        if (typeof reason === "string" && hasControlChar(reason)) {
          // It becomes the text of the Reason header (RFC 3326).
          throw new KurentoError("MARSHALL_ERROR", "'reason' holds CR, LF, NUL or another control character");
        }
        leg.reject(status, typeof reason === "string" ? reason : undefined);
        return null;
      });
    case "hold":
    case "resume":
      return guarded(async () => {
        await leg.hold(op === "hold");
        return null;
      });
    case "hangup":
      return guarded(() => {
        leg.hangup();
        return null;
      });
    case "getCallState":
      return () => leg.state;
    case "getSipCallId":
      return () => leg.sipCallId;
    case "getRemoteIdentity":
      return () => leg.remoteIdentity;
    case "generateOffer":
    case "processOffer":
    case "processAnswer":
      return () => {
        throw new KurentoError(
          "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED",
          `${op}: a SipEndpoint negotiates its SDP over SIP (use call/answer)`,
        );
      };
    default:
      return undefined;
  }
}
