#!/usr/bin/env node
/**
 * The `korus` command-line tool (package.json `bin`).
 *
 *   korus start [--config FILE]
 *
 * Runs the server (src/main.ts) until SIGTERM/SIGINT; the configuration defaults to config/default.yaml of the
 * installation.
 *
 *   korus config check FILE
 *   korus config print-default
 *
 * Validates a configuration file and prints the effective configuration (src/config/cli.ts), or prints the defaults.
 *
 *   korus cdr export [--since ISO] [--until ISO] [--format csv|jsonl] [--data-dir DIR] [--output FILE]
 *                    [--config FILE]
 *
 * Exports the call detail records whose end time is in [since, until) from `<data dir>/cdr.sqlite`, opened
 * read-only, so it works while the server runs. The data directory is `--data-dir`, else `KORUS_DATA_DIR`, else
 * `data.dir` of the config file (`--config`, default config/default.yaml of the installation).
 *
 *   korus module client <module> [--out DIR]
 *
 * Generates the kurento-client JavaScript module of a Korus module (src/modules/client/, docs/module-client.md).
 *
 * Exit status: 0 done, 1 the command failed (no database, I/O error, bad descriptor, invalid configuration), 2 bad
 * usage.
 */
import { createWriteStream, existsSync, realpathSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { EXPORT_FORMATS, exportLines, type ExportFormat } from "./cdr/export.js";
import { SqliteCdrStore } from "./cdr/SqliteCdrStore.js";
import { CONFIG_USAGE, configCheck, configDefault } from "./config/cli.js";
import { loadConfig } from "./config/load.js";
import { MODULE_CLIENT_USAGE, moduleClient, parseModuleClientArgs } from "./modules/client/cli.js";

/** Bad command-line usage; the message is printed with the usage text and the exit status is 2. */
export class CliUsageError extends Error {
  override readonly name = "CliUsageError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** `korus cdr export`'s synopsis and description (after "usage: " or the other commands' lines). */
const CDR_EXPORT_USAGE = `korus cdr export [--since ISO] [--until ISO] [--format csv|jsonl] [--data-dir DIR]
                        [--output FILE] [--config FILE]

  Exports call detail records whose end time is in [since, until) (UTC ISO 8601, e.g. 2026-11-23T00:00:00Z;
  defaults: the beginning of time, now + 1 day). CSV is RFC 4180 with a header row; jsonl is one JSON record
  per line. Works while the server runs (the database is opened read-only).
`;

export const USAGE = `usage: korus start [--config FILE]
${CONFIG_USAGE}       ${CDR_EXPORT_USAGE}${MODULE_CLIENT_USAGE}`;

export interface ExportArgs {
  sinceMs: number;
  untilMs: number;
  format: ExportFormat;
  dataDir: string | null;
  output: string | null;
  config: string | null;
}

function parseTime(flag: string, v: string): number {
  // Full ISO date or date-time; a time without a zone would be local time, which a CDR export must not guess.
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/.test(v)) {
    throw new CliUsageError(`${flag} must be an ISO 8601 date or UTC/offset date-time, got ${JSON.stringify(v)}`);
  }
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) {
    throw new CliUsageError(`${flag}: invalid date ${JSON.stringify(v)}`);
  }
  return ms;
}

/** Parses the arguments after `cdr export`. @throws CliUsageError */
export function parseExportArgs(argv: readonly string[], nowMs: number): ExportArgs {
  const out: ExportArgs = {
    sinceMs: 0,
    untilMs: nowMs + 86_400_000,
    format: "csv",
    dataDir: null,
    output: null,
    config: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    let value: string | undefined;
    const take = (): string => {
      if (eq > 0 && arg.startsWith("--")) {
        return arg.slice(eq + 1);
      }
      const next = argv[++i];
      if (next === undefined) {
        throw new CliUsageError(`${flag} needs a value`);
      }
      return next;
    };
    switch (flag) {
      case "--since":
        out.sinceMs = parseTime(flag, take());
        break;
      case "--until":
        out.untilMs = parseTime(flag, take());
        break;
      case "--format":
        value = take();
        if (!(EXPORT_FORMATS as readonly string[]).includes(value)) {
          throw new CliUsageError(`--format must be csv or jsonl, got ${JSON.stringify(value)}`);
        }
        out.format = value as ExportFormat;
        break;
      case "--data-dir":
        out.dataDir = take();
        break;
      case "--output":
        out.output = take();
        break;
      case "--config":
        out.config = take();
        break;
      default:
        throw new CliUsageError(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  if (out.untilMs <= out.sinceMs) {
    throw new CliUsageError("--until must be after --since");
  }
  return out;
}

const ROOT = new URL("../", import.meta.url).pathname.endsWith("/dist/")
  ? new URL("../../", import.meta.url)
  : new URL("../", import.meta.url);

/** The data directory: --data-dir, else KORUS_DATA_DIR, else data.dir of the config file. */
export function resolveDataDir(args: ExportArgs, env: NodeJS.ProcessEnv): string {
  if (args.dataDir !== null) {
    return args.dataDir;
  }
  const file = args.config ?? fileURLToPath(new URL("config/default.yaml", ROOT));
  if (args.config === null && !existsSync(file)) {
    return env["KORUS_DATA_DIR"] ?? "./data";
  }
  return loadConfig(file, env).data.dir;
}

/** Runs `korus cdr export`. */
export async function cdrExport(args: ExportArgs, env: NodeJS.ProcessEnv): Promise<void> {
  const store = SqliteCdrStore.open(resolveDataDir(args, env), { readonly: true });
  try {
    const source = Readable.from(
      exportLines(store.query({ sinceMs: args.sinceMs, untilMs: args.untilMs }), args.format),
    );
    if (args.output === null) {
      await pipeline(source, process.stdout);
    } else {
      await pipeline(source, createWriteStream(args.output));
    }
  } finally {
    store.close();
  }
}

/** `korus config check FILE` / `korus config print-default`. @throws CliUsageError, ConfigError, ModuleError */
function configCommand(sub: string | undefined, rest: readonly string[], env: NodeJS.ProcessEnv): number {
  if (sub === "print-default" && rest.length === 0) {
    process.stdout.write(configDefault());
    return 0;
  }
  if (sub === "check" && rest.length === 1 && rest[0] !== undefined && !rest[0].startsWith("-")) {
    process.stdout.write(configCheck(rest[0], env));
    return 0;
  }
  throw new CliUsageError(`usage: korus config check FILE | korus config print-default`);
}

/** Entry point; returns the exit status. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || (cmd === "cdr" && (sub === "--help" || sub === "-h"))) {
    process.stdout.write(USAGE);
    return cmd === undefined ? 2 : 0;
  }
  try {
    if (cmd === "start") {
      const args = argv.slice(1);
      if (args.includes("--help") || args.includes("-h")) {
        process.stdout.write(USAGE);
        return 0;
      }
      if (args.some((a, i) => a !== "--config" && !a.startsWith("--config=") && args[i - 1] !== "--config")) {
        throw new CliUsageError(`korus start takes only --config FILE, got ${JSON.stringify(args.join(" "))}`);
      }
      const { runServer } = await import("./main.js");
      await runServer(args);
      return 0;
    }
    if (cmd === "config") {
      return configCommand(sub, rest, env);
    }
    if (cmd === "module" && sub === "client") {
      if (rest.includes("--help") || rest.includes("-h")) {
        process.stdout.write(USAGE);
        return 0;
      }
      const out = moduleClient(
        parseModuleClientArgs(rest, (m) => new CliUsageError(m)),
        ROOT,
      );
      process.stdout.write(`korus: wrote ${out}\n`);
      return 0;
    }
    if (cmd !== "cdr" || sub !== "export") {
      throw new CliUsageError(`unknown command ${JSON.stringify([cmd, sub].filter(Boolean).join(" "))}`);
    }
    if (rest.includes("--help") || rest.includes("-h")) {
      process.stdout.write(`usage: ${CDR_EXPORT_USAGE}`);
      return 0;
    }
    await cdrExport(parseExportArgs(rest, Date.now()), env);
    return 0;
  } catch (err) {
    if (err instanceof CliUsageError) {
      process.stderr.write(`korus: ${err.message}\n${USAGE}`);
      return 2;
    }
    if ((err as NodeJS.ErrnoException).code === "EPIPE") {
      return 0;
    }
    process.stderr.write(`korus: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

/** True when this file is the process entry, also when run through the npm `bin` symlink. */
function isEntry(): boolean {
  const argv1 = process.argv[1];
  if (argv1 === undefined) {
    return false;
  }
  try {
    return realpathSync(argv1) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  process.stdout.on("error", () => undefined);
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
