/**
 * Start-up configuration with the modules' own sections (issue 10 §3, docs/configuration.md "A module's section"):
 *
 * 1. the document as written (`loadConfigDocument`: YAML and environment) is given;
 * 2. its `modules` key is checked alone and each entry's manifest read (manifest.ts);
 * 3. each module with a `korus.config` schema registers its section, named by the module (sections.ts);
 * 4. `validateConfig` checks Korus's keys and refuses unknown ones (a module's key is known once registered);
 * 5. `validateSection` gives each module its value with defaults, carried on its definition as `settings`, by value
 *    to its control entry (`ControlApi.config`) and to its worker entry through workerData (`WorkerSdk.config`).
 *
 * Sections are registered for this call only, so that it can run again (tests, a second in-process server).
 */
import type { JsonObject } from "../../media/index.js";
import { ConfigError, ConfigSchema, validateConfig, type KorusConfig } from "../config/schema.js";
import { registerSection, unregisterSection, validateSection } from "../config/sections.js";
import { readModule, type ModuleDefinition } from "./manifest.js";
import { ModuleError } from "./ModuleError.js";

export interface ConfiguredStart {
  /** Korus's own configuration (no module section in it). */
  readonly config: KorusConfig;
  /** The `modules:` entries read, in configuration order, each with its `settings`. */
  readonly modules: readonly ModuleDefinition[];
}

/**
 * @param doc the configuration document, as `loadConfigDocument` returns it (or an already validated KorusConfig).
 * @throws ConfigError naming the key path of the first bad value (Korus's or a module's section).
 * @throws ModuleError naming a module that cannot be read, or whose section name is taken.
 */
export function configureStart(doc: Readonly<Record<string, unknown>>, cwd: string = process.cwd()): ConfiguredStart {
  const specs = validateSection("modules", ConfigSchema.properties.modules, doc["modules"]);
  const read = specs.map((s) => readModule(s, cwd));
  const registered: string[] = [];
  try {
    for (const m of read) {
      if (m.configSchema === undefined) {
        continue;
      }
      try {
        registerSection(m.name, m.configSchema);
      } catch (err) {
        const why = err instanceof ConfigError ? "is a key of Korus's or of another module" : String(err);
        throw new ModuleError(m.name, `its configuration section '${m.name}' ${why}`, { cause: err });
      }
      registered.push(m.name);
    }
    const config = validateConfig(doc);
    const modules = read.map((m) => ({
      ...m,
      settings:
        m.configSchema === undefined ? {} : (validateSection(m.name, m.configSchema, doc[m.name]) as JsonObject),
    }));
    return { config, modules };
  } finally {
    for (const name of registered) {
      unregisterSection(name);
    }
  }
}
