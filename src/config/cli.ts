/**
 * `korus config check FILE` and `korus config print-default` (issue 16 §3).
 *
 * `check` reads FILE as the server would (the document, the environment overrides, its modules and their sections,
 * every key validated by the one schema, src/config/schema.ts) and prints the effective configuration as YAML, with
 * secrets (tokens, passwords, secrets) masked. An invalid file prints the error, which names the bad key's path, and
 * fails. `print-default` prints the configuration every key's default makes.
 */
import { stringify } from "yaml";
import { configureStart } from "../modules/configure.js";
import { loadConfigDocument } from "./load.js";
import { validateConfig } from "./schema.js";

export const CONFIG_USAGE = `       korus config check FILE
       korus config print-default

  check validates FILE (and the KORUS_* environment overrides) as \`korus start\` would and prints the effective
  configuration, secrets masked; an error names the key and the exit status is 1. print-default prints the defaults.
`;

const SECRET_KEY = /token|password|secret|passphrase|postgresUrl/i;
export const MASK = "********";

/**
 * A copy of `v` with every non-empty string under a secret-looking key (or in a list under one) replaced by
 * {@link MASK}; `kurento.tokens` keeps its application names and masks the tokens.
 */
export function maskSecrets(v: unknown, secret = false): unknown {
  if (Array.isArray(v)) {
    return v.map((x) => maskSecrets(x, secret));
  }
  if (typeof v === "object" && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskSecrets(x, SECRET_KEY.test(k))]));
  }
  return secret && typeof v === "string" && v !== "" ? MASK : v;
}

const header = (what: string): string => `# ${what}\n`;

/** The effective configuration of `file`, as YAML text. @throws ConfigError, ModuleError */
export function configCheck(file: string, env: NodeJS.ProcessEnv): string {
  const doc = loadConfigDocument(file, env);
  const { config, modules } = configureStart(doc);
  const out: Record<string, unknown> = { ...config };
  for (const m of modules) {
    out[m.name] = m.settings;
  }
  return header(`korus: ${file} is valid; the effective configuration:`) + stringify(maskSecrets(out));
}

/** The configuration every default makes, as YAML text. */
export function configDefault(): string {
  return header("korus: the default configuration (every key at its default)") + stringify(validateConfig({}));
}
