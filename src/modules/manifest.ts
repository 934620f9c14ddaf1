/**
 * A module's manifest: the `korus` field of its `package.json` (docs/modules.md).
 *
 *     "korus": {
 *       "kmd": "./audiolevel.kmd.json",   descriptor, Kurento's kmd JSON format (its `name` is the module's name)
 *       "worker": "./worker.js",          ESM; default export register(sdk: WorkerSdk), run in every media worker
 *       "control": "./control.js",        optional; ESM; default export (api: ControlApi) => ControlHooks
 *       "dependencies": ["other"]         optional; names of modules that must load first
 *     }
 *
 * A `modules:` entry is a path (absolute, or starting with `.`: relative to the working directory) to the folder
 * holding that package.json, or the name of an installed npm package.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";
import type { KmdModule } from "../kurento/kmd.js";
import { checkDescriptor } from "./descriptor.js";
import { ModuleError } from "./ModuleError.js";

/** A module ready to load: its descriptor read and checked, its entries located. */
export interface ModuleDefinition {
  /** The kmd `name`. */
  readonly name: string;
  /** Where it came from (the `modules:` entry, or "built-in"). */
  readonly source: string;
  readonly kmd: KmdModule;
  /** `file:` URL of the worker entry. */
  readonly worker: string;
  /** `file:` URL of the control entry, if any. */
  readonly control: string | undefined;
  /** Modules that must load first: the manifest's `dependencies` and the kmd's `imports`. */
  readonly dependencies: readonly string[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function isPath(spec: string): boolean {
  return path.isAbsolute(spec) || spec.startsWith(".");
}

/** The folder of module `spec`. @throws ModuleError when it cannot be found. */
function moduleDir(spec: string, cwd: string): string {
  if (isPath(spec)) {
    const dir = path.resolve(cwd, spec);
    if (!existsSync(path.join(dir, "package.json"))) {
      throw new ModuleError(spec, `no package.json in ${dir}`);
    }
    return dir;
  }
  const require = createRequire(path.join(cwd, "noop.js"));
  try {
    return path.dirname(require.resolve(`${spec}/package.json`, { paths: [cwd, import.meta.dirname] }));
  } catch (err) {
    throw new ModuleError(spec, `npm package not found (${String(err)})`, { cause: err });
  }
}

function file(module: string, dir: string, manifest: Record<string, unknown>, key: string): string {
  const rel = manifest[key];
  if (typeof rel !== "string" || rel === "") {
    throw new ModuleError(module, `package.json: korus.${key} must name a file`);
  }
  const p = path.resolve(dir, rel);
  if (!existsSync(p) || !statSync(p).isFile()) {
    throw new ModuleError(module, `package.json: korus.${key} file ${p} does not exist`);
  }
  return p;
}

/**
 * Reads and checks module `spec`.
 * @throws ModuleError naming the module (or `spec` before its name is known).
 */
export function readModule(spec: string, cwd: string = process.cwd()): ModuleDefinition {
  const dir = moduleDir(spec, cwd);
  let pkg: unknown;
  try {
    pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
  } catch (err) {
    throw new ModuleError(spec, `package.json is not readable JSON: ${String(err)}`, { cause: err });
  }
  const manifest = isObj(pkg) ? pkg["korus"] : undefined;
  if (!isObj(manifest)) {
    throw new ModuleError(spec, "package.json has no 'korus' object (not a Korus module)");
  }
  const kmdFile = file(spec, dir, manifest, "kmd");
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(kmdFile, "utf8"));
  } catch (err) {
    throw new ModuleError(spec, `descriptor ${kmdFile} is not valid JSON: ${String(err)}`, { cause: err });
  }
  const kmd = checkDescriptor(json, spec);
  const name = kmd.name;
  const deps = manifest["dependencies"] ?? [];
  if (!Array.isArray(deps) || !deps.every((d) => typeof d === "string")) {
    throw new ModuleError(name, "package.json: korus.dependencies must be an array of module names");
  }
  const imports = (kmd.imports ?? []).map((i) => (isObj(i) && typeof i["name"] === "string" ? i["name"] : ""));
  return {
    name,
    source: spec,
    kmd,
    worker: pathToFileURL(file(name, dir, manifest, "worker")).href,
    control: manifest["control"] === undefined ? undefined : pathToFileURL(file(name, dir, manifest, "control")).href,
    dependencies: [...new Set([...deps, ...imports.filter((i) => i !== "")])],
  };
}
