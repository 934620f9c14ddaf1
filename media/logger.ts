/**
 * Logging for the media plane.
 *
 * media/ never imports a logging library: it defines this small interface and an installable factory. The worker
 * entry (mediaWorker.ts) installs a factory that forwards lines to the main thread as `log` channel messages, where
 * src/logging writes them through pino with the per-object context (pipeline id, element id).
 */

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";

export type LogContext = Record<string, string | number | boolean | undefined>;

export interface Logger {
  trace(msg: string, ctx?: LogContext): void;
  debug(msg: string, ctx?: LogContext): void;
  info(msg: string, ctx?: LogContext): void;
  warn(msg: string, ctx?: LogContext): void;
  error(msg: string, ctx?: LogContext): void;
  /** A logger whose lines carry `bindings` as well (e.g. `{ elementId }`). */
  child(bindings: LogContext): Logger;
}

export type LoggerFactory = (namespace: string, bindings?: LogContext) => Logger;

const noop = (): void => undefined;
const noopLogger: Logger = {
  trace: noop,
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  child: () => noopLogger,
};

let factory: LoggerFactory = () => noopLogger;

/** Installs the factory used by every later {@link createLogger} call. */
export function installLoggerFactory(f: LoggerFactory): void {
  factory = f;
}

export function createLogger(namespace: string, bindings?: LogContext): Logger {
  return factory(namespace, bindings);
}

/**
 * Logs at most `perWindow` lines per `windowMs` for one key, then one summary line with the number suppressed.
 * Bad input from the network (malformed RTP, foreign SSRCs) is logged through this so a flood cannot flood the log.
 */
export class RateLimitedLog {
  readonly #logger: Logger;
  readonly #perWindow: number;
  readonly #windowMs: number;
  readonly #state = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(logger: Logger, perWindow = 5, windowMs = 10_000) {
    this.#logger = logger;
    this.#perWindow = perWindow;
    this.#windowMs = windowMs;
  }

  warn(key: string, msg: string, ctx?: LogContext): void {
    const now = Date.now();
    let s = this.#state.get(key);
    if (s === undefined || now - s.start >= this.#windowMs) {
      if (s !== undefined && s.suppressed > 0) {
        this.#logger.warn(`${key}: ${s.suppressed} similar lines suppressed`);
      }
      s = { start: now, count: 0, suppressed: 0 };
      this.#state.set(key, s);
      if (this.#state.size > 1000) {
        // Bounded: forget the oldest key rather than grow without limit.
        const first = this.#state.keys().next();
        if (first.done !== true) {
          this.#state.delete(first.value);
        }
      }
    }
    if (s.count < this.#perWindow) {
      s.count++;
      this.#logger.warn(msg, ctx);
    } else {
      s.suppressed++;
    }
  }
}
