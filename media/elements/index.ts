/**
 * Kurento's own element types (modules core and elements), registered at worker start-up through the same
 * {@link ElementRegistry} a module's worker entry uses. Each class lives in its own file named after the type
 * (architecture.md §5.1). The control plane has already checked the type against the kmd descriptors; a type that
 * is described but registered by no one is answered with UnsupportedError. Korus's SIP types enter as the "korus"
 * module (sipModule.ts).
 */
import type { ElementRegistry } from "../sdk/ElementRegistry.js";
import { Composite } from "./Composite.js";
import { Dispatcher } from "./Dispatcher.js";
import { DispatcherOneToMany } from "./DispatcherOneToMany.js";
import { HubPort } from "./HubPort.js";
import { PassThrough } from "./PassThrough.js";
import { PlayerEndpoint } from "./PlayerEndpoint.js";
import { RecorderEndpoint } from "./RecorderEndpoint.js";
import { RtpEndpoint } from "./RtpEndpoint.js";
import { WebRtcEndpoint } from "./WebRtcEndpoint.js";

export function registerBuiltinElements(registry: ElementRegistry): void {
  registry.register("PassThrough", PassThrough, "core");
  registry.register("Composite", Composite, "elements");
  registry.register("Dispatcher", Dispatcher, "elements");
  registry.register("DispatcherOneToMany", DispatcherOneToMany, "elements");
  registry.register("HubPort", HubPort, "core");
  registry.register("RtpEndpoint", RtpEndpoint, "elements");
  registry.register("WebRtcEndpoint", WebRtcEndpoint, "elements");
  registry.register("PlayerEndpoint", PlayerEndpoint, "elements");
  registry.register("RecorderEndpoint", RecorderEndpoint, "elements");
}
