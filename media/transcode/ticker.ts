/**
 * One 20 ms timer for every transcoder of the worker (a timer per element, or per chain, would wake the event loop
 * 50 times a second per call leg): it runs while at least one transcoder is registered, and stops by itself when
 * the last one leaves. What a tick does (jitter-buffer flush, keep-alive silence) is the transcoder's.
 */

/** Interval of the keep-alive / jitter-flush timer. */
export const TICK_MS = 20;

export interface Ticking {
  tick(): void;
}

const ticking = new Set<Ticking>();
let sharedTimer: NodeJS.Timeout | undefined;

/** Registers `t` (idempotent); starts the timer if it was not running. */
export function startTicking(t: Ticking): void {
  ticking.add(t);
  if (sharedTimer === undefined) {
    sharedTimer = setInterval(() => {
      for (const x of ticking) {
        x.tick();
      }
      if (ticking.size === 0) {
        clearInterval(sharedTimer);
        sharedTimer = undefined;
      }
    }, TICK_MS);
    sharedTimer.unref();
  }
}

/** Unregisters `t`; the timer stops at its next tick if nobody is left. */
export function stopTicking(t: Ticking): void {
  ticking.delete(t);
}
