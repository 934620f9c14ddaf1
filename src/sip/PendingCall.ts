/**
 * An inbound call between its INVITE and its claim by a SipEndpoint (an application's, or the dial plan's), with the
 * media handler the user agent negotiates through, bound to the SipEndpoint's media when the call is claimed.
 */
import type { IncomingCall, InviteSession, MediaHandler } from "../../sip/index.js";
import type { TrunkDefinition } from "../../sip/trunk/index.js";
import type { CdrTracking } from "./SipCdr.js";
import { SipLegError } from "./SipLeg.js";

/** A media handler whose target is set when an application (or the dial plan) claims the call. */
export class ClaimableMedia implements MediaHandler {
  target: MediaHandler | undefined;
  #need(): MediaHandler {
    if (this.target === undefined) {
      throw new SipLegError("the call has not been claimed by a SipEndpoint");
    }
    return this.target;
  }
  getOffer(request: Parameters<MediaHandler["getOffer"]>[0]): Promise<string> | string {
    return this.#need().getOffer(request);
  }
  setAnswer(sdp: string): Promise<void> | void {
    return this.#need().setAnswer(sdp);
  }
  processOffer(sdp: string): Promise<string> | string {
    return this.#need().processOffer(sdp);
  }
  close(): void {
    this.target?.close();
  }
}

/** An inbound call announced with IncomingCall and not claimed yet. */
export interface PendingCall {
  readonly callId: string;
  readonly session: InviteSession;
  readonly call: IncomingCall;
  readonly trunk: TrunkDefinition | undefined;
  readonly media: ClaimableMedia;
  /** The call's CDR tracking, handed to the SipEndpoint that claims it. */
  readonly tracking: CdrTracking;
  timer: NodeJS.Timeout | undefined;
}
