/**
 * SIP timer values, all in one table (RFC 3261 §17 and Table 4 of Appendix A; RFC 6026 §8.11 for Timers L and M),
 * and the clock seam the transactions schedule them on.
 *
 * | Timer | Value            | Section        | Meaning                                             |
 * |-------|------------------|----------------|-----------------------------------------------------|
 * | T1    | 500 ms           | §17.1.1.1      | RTT estimate                                        |
 * | T2    | 4 s              | §17.1.2.2      | Maximum retransmit interval for non-INVITE requests and INVITE responses |
 * | T4    | 5 s              | §17.1.2.2      | Maximum duration a message will remain in the network |
 * | A     | initially T1     | §17.1.1.2      | INVITE request retransmit interval, UDP only        |
 * | B     | 64·T1            | §17.1.1.2      | INVITE transaction timeout                          |
 * | C     | > 3 min          | §16.6 bullet 11| proxy INVITE transaction timeout (opt-in, B2BUA no-answer guard) |
 * | D     | > 32 s UDP, 0 reliable | §17.1.1.2 | Wait time for response retransmits                  |
 * | E     | initially T1     | §17.1.2.2      | non-INVITE request retransmit interval, UDP only    |
 * | F     | 64·T1            | §17.1.2.2      | non-INVITE transaction timeout                      |
 * | G     | initially T1     | §17.2.1        | INVITE response retransmit interval                 |
 * | H     | 64·T1            | §17.2.1        | Wait time for ACK receipt                           |
 * | I     | T4 UDP, 0 reliable | §17.2.1      | Wait time for ACK retransmits                       |
 * | J     | 64·T1 UDP, 0 reliable | §17.2.2   | Wait time for non-INVITE request retransmits        |
 * | K     | T4 UDP, 0 reliable | §17.1.2.2    | Wait time for response retransmits                  |
 * | L     | 64·T1            | RFC 6026 §8.11 | Wait time for accepted INVITE request retransmits   |
 * | M     | 64·T1            | RFC 6026 §8.11 | Wait time for retransmission of 2xx to INVITE       |
 * @see https://www.rfc-editor.org/rfc/rfc3261#appendix-A
 * @see https://www.rfc-editor.org/rfc/rfc6026#section-8.11
 */

/** Base timer values in milliseconds; T1 may be tuned (RFC 3261 §17.1.1.1: "T1 ... MAY be chosen larger"). */
export interface TimerBase {
  readonly T1: number;
  readonly T2: number;
  readonly T4: number;
}

/** RFC 3261 defaults. */
export const DEFAULT_TIMER_BASE: TimerBase = { T1: 500, T2: 4000, T4: 5000 };

/** Every timer value of one configuration, in milliseconds. */
export interface TimerTable extends TimerBase {
  readonly TIMER_A: number;
  readonly TIMER_B: number;
  readonly TIMER_C: number;
  readonly TIMER_D: number;
  readonly TIMER_E: number;
  readonly TIMER_F: number;
  readonly TIMER_G: number;
  readonly TIMER_H: number;
  readonly TIMER_I: number;
  readonly TIMER_J: number;
  readonly TIMER_K: number;
  readonly TIMER_L: number;
  readonly TIMER_M: number;
  /**
   * Not a lettered timer: the INVITE server transaction sends 100 Trying itself if the TU has not answered within
   * 200 ms (RFC 3261 §17.2.1).
   */
  readonly TRYING_DELAY: number;
}

/**
 * Computes the timer table for a transport. Timers D, I, J and K are zero on reliable transports: there are no
 * retransmissions to absorb (RFC 3261 §17.1.1.2, §17.1.2.2, §17.2.1, §17.2.2).
 */
export function timerTable(reliable: boolean, base: TimerBase = DEFAULT_TIMER_BASE): TimerTable {
  const { T1, T2, T4 } = base;
  return {
    T1,
    T2,
    T4,
    TIMER_A: T1,
    TIMER_B: 64 * T1,
    // §16.6 bullet 11: "The timer MUST be larger than 3 minutes." 3 min 1 s, as SIP.js and PJSIP choose.
    TIMER_C: 181000,
    // §17.1.1.2: "Timer D ... MUST be set to a value of at least 32 seconds for unreliable transports".
    TIMER_D: reliable ? 0 : Math.max(32000, 64 * T1),
    TIMER_E: T1,
    TIMER_F: 64 * T1,
    TIMER_G: T1,
    TIMER_H: 64 * T1,
    TIMER_I: reliable ? 0 : T4,
    TIMER_J: reliable ? 0 : 64 * T1,
    TIMER_K: reliable ? 0 : T4,
    TIMER_L: 64 * T1,
    TIMER_M: 64 * T1,
    TRYING_DELAY: 200,
  };
}

/** Handle of a scheduled callback. */
export type TimerHandle = unknown;

/**
 * Where transactions schedule timers. Production uses {@link systemClock}; unit tests inject a fake clock and
 * advance it by hand (architecture.md §8).
 */
export interface Clock {
  /** Milliseconds since an arbitrary origin. */
  now(): number;
  /** Runs `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a scheduled callback; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock (Node timers, unref'd so pending SIP timers never keep the process alive). */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout: (callback, ms) => {
    const t = setTimeout(callback, ms);
    t.unref();
    return t;
  },
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};
