/**
 * Structured JSON logs through pino. Every line may carry per-object context (sessionId, pipelineId, elementId);
 * media workers' lines arrive over the channel and are written here with the worker index.
 */
import { pino, type Logger as PinoLogger } from "pino";
import type { LogLevel } from "../config/schema.js";

export type Logger = PinoLogger;

export function createRootLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid, service: "korus" },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}
