/**
 * Worker entry of Korus's own "korus" module (descriptor src/kurento/korusKmd.ts, control hooks src/sip): it
 * registers SipEndpoint and WebSocketEndpoint (issue 14) exactly as a third-party module's entry registers its types (docs/modules.md). The main
 * thread lists it first among the modules every worker loads. SipGateway is a control-plane singleton with no
 * worker class.
 */
import type { WorkerSdk } from "../sdk/index.js";
import { SipEndpoint } from "./SipEndpoint.js";
import { WebSocketEndpoint } from "./websocket/WebSocketEndpoint.js";

export default function register(sdk: WorkerSdk): void {
  sdk.registerElement("SipEndpoint", SipEndpoint);
  sdk.registerElement("WebSocketEndpoint", WebSocketEndpoint);
}
