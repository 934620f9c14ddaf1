/**
 * The call state a SipEndpoint reports (korus kmd CallState, event CallStateChanged):
 *
 * ```
 *  outbound: IDLE ──call()──► CALLING ──180──► RINGING ──183+SDP──► EARLY_MEDIA ──2xx──► CONNECTED ──BYE──► TERMINATED
 *  inbound:  IDLE ──claimed (180 sent)──► RINGING ──answer()──► CONNECTED
 *            any state ─────────── failure, CANCEL, reject(), hangup(), BYE, worker death ──────────► TERMINATED
 * ```
 * CALLING may skip to EARLY_MEDIA or CONNECTED; a 180 after a 183 keeps EARLY_MEDIA (the media already flows).
 */
export enum CallState {
  Idle = "IDLE",
  Calling = "CALLING",
  Ringing = "RINGING",
  EarlyMedia = "EARLY_MEDIA",
  Connected = "CONNECTED",
  Terminated = "TERMINATED",
}

const NEXT: Readonly<Record<CallState, readonly CallState[]>> = {
  [CallState.Idle]: [CallState.Calling, CallState.Ringing, CallState.Terminated],
  [CallState.Calling]: [CallState.Ringing, CallState.EarlyMedia, CallState.Connected, CallState.Terminated],
  [CallState.Ringing]: [CallState.EarlyMedia, CallState.Connected, CallState.Terminated],
  [CallState.EarlyMedia]: [CallState.Connected, CallState.Terminated],
  [CallState.Connected]: [CallState.Terminated],
  [CallState.Terminated]: [],
};

/** True when `from → to` is a move of the diagram above. */
export function callStateAllows(from: CallState, to: CallState): boolean {
  return NEXT[from].includes(to);
}
