/**
 * Hold as an API (issue 15 §2): SipEndpoint.hold() and resume() on a connected call, and the HoldStateChanged event
 * {local, remote} that reports both sides' hold state (ours once the peer answered our offer, the peer's when its
 * re-INVITE or UPDATE put us on hold or took us off). The SIP work is sip/ua's (SessionHold.ts): a re-INVITE or
 * UPDATE whose streams are `sendonly`, `inactive` when the peer holds us too, then `sendrecv` again.
 */
import type { JsonObject } from "../../media/index.js";
import type { HoldState, InviteSession } from "../../sip/index.js";

/** Sends the hold (`held`) or resume offer, by UPDATE when the trunk asks for it (and the peer allows UPDATE). */
export async function holdCall(
  session: InviteSession,
  held: boolean,
  method: "reinvite" | "update" | undefined,
): Promise<void> {
  const options = { update: method === "update" };
  await (held ? session.hold(options) : session.unhold(options));
}

/** The data of a HoldStateChanged event. */
export function holdStateEvent(state: HoldState): JsonObject {
  return { local: state.local, remote: state.remote };
}
