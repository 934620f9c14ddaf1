/**
 * Entry of a media worker thread (node:worker_threads). Gets its {@link WorkerSettings} by value in `workerData`,
 * installs a logger that forwards lines to the main thread, registers the element types (Kurento's, then each
 * module's worker entry from `settings.modules`, docs/modules.md), and serves the channel.
 *
 * An exception escaping any callback (a socket, a timer, a library) is logged, not allowed to end the worker: a
 * fault in one pipeline must not take down the others that share the thread.
 */
import { parentPort, workerData } from "node:worker_threads";
import { WorkerDispatcher } from "./channel/WorkerDispatcher.js";
import { registerBuiltinElements } from "./elements/index.js";
import { ElementRegistry } from "./sdk/ElementRegistry.js";
import { loadWorkerModules } from "./sdk/index.js";
import type { FromWorker, WorkerSettings } from "./channel/protocol.js";
import { installLoggerFactory, type LogContext, type Logger, type LogLevel } from "./logger.js";

const LEVELS: Record<LogLevel, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

async function start(): Promise<void> {
  const port = parentPort;
  if (port === null) {
    throw new TypeError("mediaWorker must run in a worker thread");
  }
  const settings = workerData as WorkerSettings;
  const post = (msg: FromWorker): void => port.postMessage(msg);
  const threshold = LEVELS[settings.logLevel];

  const makeLogger = (namespace: string, bindings: LogContext): Logger => {
    const line =
      (level: LogLevel) =>
      (message: string, ctx?: LogContext): void => {
        if (LEVELS[level] >= threshold) {
          post({ kind: "log", level, namespace, message, context: { ...bindings, ...ctx } });
        }
      };
    return {
      trace: line("trace"),
      debug: line("debug"),
      info: line("info"),
      warn: line("warn"),
      error: line("error"),
      child: (more) => makeLogger(namespace, { ...bindings, ...more }),
    };
  };
  installLoggerFactory((namespace, bindings) => makeLogger(namespace, bindings ?? {}));
  const log = makeLogger("media.worker", { worker: settings.workerIndex });

  // Kurento's types, then each module's, in the order the main thread resolved (dependencies first). A module that
  // fails rejects start(): the worker ends with an error naming it, and the main thread's start-up fails. So the
  // handlers below, which keep a running worker alive, are installed only after.
  const registry = new ElementRegistry();
  registerBuiltinElements(registry);
  await loadWorkerModules(registry, settings.modules ?? [], log);

  process.on("uncaughtException", (err) => {
    log.error("uncaught exception in media worker", { error: err.stack ?? String(err) });
  });
  process.on("unhandledRejection", (reason) => {
    log.error("unhandled rejection in media worker", { error: String(reason) });
  });

  const dispatcher = new WorkerDispatcher(settings, post, registry);
  port.on("message", (msg: unknown) => dispatcher.handle(msg));
  port.on("close", () => dispatcher.close());
  post({ kind: "ready", types: registry.types() });
}

await start();
