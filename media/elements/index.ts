/**
 * The element factory: Kurento type string → class. Each class lives in its own file named after the type
 * (architecture.md §5.1). The control plane has already checked the type against the kmd descriptors; a type
 * that is described but absent here is answered with UnsupportedError.
 */
import type { ElementClass } from "../core/MediaPipeline.js";
import { PassThrough } from "./PassThrough.js";
import { RtpEndpoint } from "./RtpEndpoint.js";
import { SipEndpoint } from "./SipEndpoint.js";
import { WebRtcEndpoint } from "./WebRtcEndpoint.js";
import { Composite } from "./Composite.js";
import { HubPort } from "./HubPort.js";
import { PlayerEndpoint } from "./PlayerEndpoint.js";

export const ELEMENT_CLASSES: Readonly<Record<string, ElementClass>> = {
  PassThrough,
  RtpEndpoint,
  SipEndpoint,
  WebRtcEndpoint,
  Composite,
  HubPort,
  PlayerEndpoint,
};
