/**
 * Loads the configuration: YAML file (default config/default.yaml, or `--config FILE`), then the KORUS_*
 * environment variables, then validation. The variable names are part of the public contract (README).
 */
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { KindGuard, type TSchema } from "@sinclair/typebox";
import { annotation } from "../../sip/index.js";
import { ConfigError, ConfigSchema, validateConfig, type KorusConfig } from "./schema.js";

/** Environment variable → [section, key, kind], from the `env:` annotations of the schema. */
export const ENV_OVERRIDES: Readonly<Record<string, readonly [string, string, "int" | "string"]>> = envOverrides();

function envOverrides(): Record<string, readonly [string, string, "int" | "string"]> {
  const out: Record<string, readonly [string, string, "int" | "string"]> = {};
  for (const [section, schema] of Object.entries(ConfigSchema.properties)) {
    if (!KindGuard.IsObject(schema)) {
      continue;
    }
    const fields: Record<string, TSchema> = schema.properties;
    for (const [key, field] of Object.entries(fields)) {
      const name = annotation(field, "env");
      if (name !== undefined) {
        out[name] = [section, key, KindGuard.IsInteger(field) ? "int" : "string"];
      }
    }
  }
  return out;
}

/**
 * @throws ConfigError for an unreadable or invalid file, or a bad environment value (naming the variable).
 */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): KorusConfig {
  return validateConfig(loadConfigDocument(file, env));
}

/**
 * The configuration document as written, with the environment overrides applied and nothing validated: the module
 * loader reads `modules` and the modules' own sections from it (see sections.ts).
 * @throws ConfigError for an unreadable file, invalid YAML or a bad environment value.
 */
export function loadConfigDocument(file: string, env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(file, `cannot read the file (${(err as Error).message})`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(file, `is not valid YAML (${(err as Error).message})`);
  }
  const raw = (typeof doc === "object" && doc !== null ? doc : {}) as Record<string, Record<string, unknown>>;
  for (const [name, [section, key, kind]] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined || v === "") {
      continue;
    }
    let value: unknown = v;
    if (kind === "int") {
      if (!/^\d+$/.test(v)) {
        throw new ConfigError(`${section}.${key}`, `environment ${name} must be an integer, got "${v}"`);
      }
      value = Number(v);
    }
    const sec = raw[section];
    raw[section] = { ...(typeof sec === "object" && sec !== null ? sec : {}), [key]: value };
  }
  return raw;
}

/** Returns the value of `--config FILE` / `--config=FILE`, or the default path. */
export function configPathFromArgs(argv: readonly string[], fallback: string): string {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--config") {
      const next = argv[i + 1];
      if (next === undefined) {
        throw new ConfigError("--config", "needs a file name");
      }
      return next;
    }
    if (a?.startsWith("--config=") === true) {
      return a.slice("--config=".length);
    }
  }
  return fallback;
}
