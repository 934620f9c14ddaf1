/**
 * Configuration sections declared by modules (issue 10 §2, §3), the same way as Korus's own: a TypeBox schema whose
 * keywords give the type, the defaults (`default:`), the checks and the descriptions. A module's section is a
 * top-level key of the configuration file named after the section:
 *
 *     modules: [korus-audio-level]
 *     audioLevel: { intervalMs: 200 }
 *
 * `registerSection` makes `validateConfig` accept and check that key; `validateSection` returns the typed value with
 * its defaults, or throws the same {@link ConfigError} as every other key (path, what was expected, what was given).
 * See docs/configuration.md.
 */
import type { Static, TSchema } from "@sinclair/typebox";
import { checkSchema } from "../../sip/index.js";
import { ConfigError } from "./errors.js";

/** A registered section: its top-level key and its schema. */
export interface ConfigSection<S extends TSchema = TSchema> {
  readonly name: string;
  readonly schema: S;
}

const registry = new Map<string, ConfigSection>();
/** Top-level keys of Korus's own schema; set by schema.ts so that a module cannot take one. */
let reserved: readonly string[] = [];

/** @internal schema.ts declares its top-level keys. */
export function reserveSectionNames(names: readonly string[]): void {
  reserved = names;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * Declares the top-level key `name` with its schema. Register before the configuration is validated.
 * @throws ConfigError naming the section when the name is malformed, one of Korus's own or already registered.
 */
export function registerSection<S extends TSchema>(name: string, schema: S): ConfigSection<S> {
  if (!NAME.test(name)) {
    throw new ConfigError(name, "a section name must be 1-64 characters of A-Z a-z 0-9 _ -, starting with a letter");
  }
  if (reserved.includes(name) || registry.has(name)) {
    throw new ConfigError(name, "this configuration section is already declared");
  }
  const section: ConfigSection<S> = { name, schema };
  registry.set(name, section);
  return section;
}

/** Forgets a registered section (tests, or a module that failed to load). */
export function unregisterSection(name: string): boolean {
  return registry.delete(name);
}

/** The registered sections, in registration order. */
export function registeredSections(): readonly ConfigSection[] {
  return [...registry.values()];
}

/**
 * Fills the defaults into `value` (the section as written, `undefined` when absent) and checks it.
 * @returns the typed value (a copy: `value` is not changed).
 * @throws ConfigError naming the first bad key under `name`.
 */
export function validateSection<S extends TSchema>(name: string, schema: S, value: unknown): Static<S> {
  const checked = checkSchema(schema, value, name);
  if (!checked.ok) {
    throw new ConfigError(checked.issue.path, checked.issue.reason);
  }
  return checked.value;
}
