/**
 * Logging seam of the SIP layer (architecture.md §4, "Logging across layers").
 *
 * `sip/` cannot import `src/logging`, so it declares this small interface and an installable factory. The default
 * factory is a no-op; `src/logging` installs the real one at start-up. Loggers returned by {@link getLogger} look the
 * factory up on every call, so modules may create them at load time, before a factory is installed.
 */

/** Minimal structured logger. `fields` are extra context (ids, addresses), never message bodies with secrets. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Creates a logger for a namespace such as `"sip:transaction"`. */
export type LoggerFactory = (namespace: string) => Logger;

const noop = (): void => undefined;

/** The logger that drops everything. */
export const noopLogger: Logger = Object.freeze({ debug: noop, info: noop, warn: noop, error: noop });

let factory: LoggerFactory = () => noopLogger;
// Bumped on every install so cached per-namespace loggers are rebuilt lazily.
let generation = 0;

/**
 * Installs the factory used by every SIP logger, including those created earlier.
 * Pass `undefined` to restore the no-op default.
 */
export function setLoggerFactory(next: LoggerFactory | undefined): void {
  factory = next ?? ((): Logger => noopLogger);
  generation++;
}

/** Returns a logger for `namespace` that forwards to the currently installed factory. */
export function getLogger(namespace: string): Logger {
  let cached: Logger = noopLogger;
  let cachedGeneration = -1;
  const current = (): Logger => {
    if (cachedGeneration !== generation) {
      cached = factory(namespace);
      cachedGeneration = generation;
    }
    return cached;
  };
  return {
    debug: (message, fields) => current().debug(message, fields),
    info: (message, fields) => current().info(message, fields),
    warn: (message, fields) => current().warn(message, fields),
    error: (message, fields) => current().error(message, fields),
  };
}
