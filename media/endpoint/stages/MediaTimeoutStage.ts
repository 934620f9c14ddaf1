/**
 * The media timeout of one m-line as a datagram stage: once {@link arm}ed (by each remote description), no valid
 * RTP for `timeoutMs` calls `timeout()` once; the next valid RTP calls `resume()`.
 *
 * - What counts: every RTP datagram the transport finds valid (parsed, a negotiated payload type; with SRTP,
 *   authenticated), whether or not it reaches the RTP stages (RTP on hold, or held back by the receive stream,
 *   counts). RTCP does not count, and neither does what the socket or the transport drops (a foreign source, a
 *   failed authentication, an unknown payload type).
 * - What re-arms it: {@link arm} (every remote description applied, hold included) restarts the wait from now and
 *   allows one more `timeout()`. Silence is measured from the later of the last valid RTP and the last arm.
 * - Cost per packet: one field write ({@link rtpValid}); a coarse interval (a quarter of the timeout, 50 ms to 1 s,
 *   unref'd) compares. No timer is reset per packet. {@link close} stops the interval; `timeoutMs` 0 disables it.
 * - A hook that throws is logged at a bounded rate and never reaches the socket's receive path or the timer.
 */
import type { RateLimitedLog } from "../../logger.js";
import type { DatagramStage } from "./DatagramStage.js";

export interface MediaTimeoutHooks {
  readonly elementId: string;
  readonly log: RateLimitedLog;
  /** No valid RTP for the timeout since it was armed or since the last one. */
  timeout(): void;
  /** Valid RTP again after a timeout. */
  resume(): void;
}

/** The clock and the interval timer the stage runs on (a fake one in tests). */
export interface MediaClock {
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

/** performance.now() and an unref'd setInterval: the timer never keeps the worker alive. */
export const realClock: MediaClock = {
  now: () => performance.now(),
  every: (ms, fn) => {
    const timer = setInterval(fn, ms);
    timer.unref();
    return () => clearInterval(timer);
  },
};

export class MediaTimeoutStage implements DatagramStage {
  readonly timeoutMs: number;
  readonly #hooks: MediaTimeoutHooks;
  readonly #clock: MediaClock;
  #stop: (() => void) | undefined;
  #closed = false;
  #armedAt = 0;
  /** When the last valid RTP arrived (the one field written per packet). */
  #lastMs = 0;
  #timedOut = false;

  /** @param timeoutMs 0 (or less) disables the timeout. */
  constructor(timeoutMs: number, hooks: MediaTimeoutHooks, clock: MediaClock = realClock) {
    this.timeoutMs = timeoutMs;
    this.#hooks = hooks;
    this.#clock = clock;
  }

  /** True after `timeout()` until valid RTP comes again or the next arm. */
  get timedOut(): boolean {
    return this.#timedOut;
  }

  /** A remote description was applied: the wait starts now (again), and one more `timeout()` may come. */
  arm(): void {
    const timeout = this.timeoutMs;
    if (timeout <= 0 || this.#closed) {
      return;
    }
    this.#armedAt = this.#clock.now();
    this.#timedOut = false;
    this.#stop ??= this.#clock.every(Math.max(50, Math.min(1000, Math.floor(timeout / 4))), this.#check);
  }

  rtpValid(nowMs: number): void {
    this.#lastMs = nowMs;
    if (this.#timedOut) {
      this.#timedOut = false;
      this.#call("resume");
    }
  }

  /** Stops the interval; later arms do nothing. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stop?.();
    this.#stop = undefined;
  }

  /** The coarse check (one bound function for the life of the stage). */
  readonly #check = (): void => {
    const last = Math.max(this.#lastMs, this.#armedAt);
    if (!this.#timedOut && !this.#closed && this.#clock.now() - last > this.timeoutMs) {
      this.#timedOut = true;
      this.#call("timeout");
    }
  };

  #call(hook: "timeout" | "resume"): void {
    try {
      this.#hooks[hook]();
    } catch (err) {
      this.#hooks.log.warn("media-timeout-hook", `media timeout ${hook} hook failed`, {
        elementId: this.#hooks.elementId,
        error: String(err),
      });
    }
  }
}
