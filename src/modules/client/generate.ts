/**
 * `korus module client <module>`: generates the kurento-client JavaScript module of a Korus module from its kmd
 * descriptor, as Kurento's module creator (`kurento-module-creator --codegen js`) does for a KMS module. The output
 * has the layout of Kurento's generated modules (kurento-client-elements, kurento-module-*):
 *
 *   package.json, README.md
 *   lib/index.js                 name, version, the concrete classes, abstracts, complexTypes
 *   lib/<Class>.js               one file per remote class (lib/abstracts/<Class>.js if abstract)
 *   lib/complexTypes/<Type>.js   enums (their checker) and registers (constructor + check)
 *   lib/events.js                the events' documentation
 *   lib/peer.js                  the application's kurento-client (see moduleFiles.ts renderPeer)
 *
 * The descriptor: `korus` (Korus's own, src/kurento/korusKmd.ts), a kmd JSON file, or a module folder whose
 * package.json names its kmd file in its `korus` field (`"korus": {"kmd": "x.kmd.json", …}` or `"korus": "x.kmd.json"`).
 */
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { KmdRegistry, type KmdModule } from "../../kurento/kmd.js";
import { KORUS_KMD } from "../../kurento/korusKmd.js";
import { renderComplexType } from "./complexType.js";
import { renderEvents, renderIndex, renderPackageJson, renderPeer, renderSubIndex } from "./moduleFiles.js";
import { renderReadme } from "./readme.js";
import { remoteClassPath, renderRemoteClass } from "./remoteClass.js";
import { TypeIndex } from "./types.js";

export interface ClientOptions {
  /** Descriptors the module's types may refer to (default: Kurento's core, elements, filters and Korus's own). */
  known?: readonly KmdModule[];
  /** Extra read-only exports of lib/index.js (e.g. the object id of a singleton). */
  constants?: Readonly<Record<string, string>>;
  /** Markdown appended to the generated README (the module's usage text). */
  usage?: string;
}

/** A module descriptor with what the generator needs besides it. */
export interface ClientSource {
  kmd: KmdModule;
  options: ClientOptions;
}

interface JsCode {
  nodeName?: unknown;
  npmDescription?: unknown;
}

function jsCode(kmd: KmdModule): JsCode {
  const code = kmd.code as { api?: { js?: JsCode } } | undefined;
  return code?.api?.js ?? {};
}

/** The npm name of the generated package: `code.api.js.nodeName`, else `kurento-module-<name>`. */
export function nodeNameOf(kmd: KmdModule): string {
  const n = jsCode(kmd).nodeName;
  return typeof n === "string" && n !== "" ? n : `kurento-module-${kmd.name.toLowerCase()}`;
}

/**
 * The generated module's files, keyed by path relative to the output folder.
 * @throws TypeError when the descriptor refers to an unknown type or a class has no parent
 */
export function generateClient(kmd: KmdModule, options: ClientOptions = {}): Map<string, string> {
  const types = new TypeIndex(kmd, options.known ?? KmdRegistry.load().modules);
  const nodeName = nodeNameOf(kmd);
  const desc = jsCode(kmd).npmDescription;
  const description = typeof desc === "string" && desc !== "" ? desc : `Korus module ${kmd.name}`;
  const files = new Map<string, string>();
  files.set("package.json", renderPackageJson(kmd, nodeName, description));
  files.set("README.md", renderReadme(kmd, nodeName, description, options.usage));
  files.set("lib/index.js", renderIndex(kmd, options.constants ?? {}));
  files.set("lib/peer.js", renderPeer(kmd, nodeName));
  for (const cls of kmd.remoteClasses) {
    files.set(`lib/${remoteClassPath(cls)}`, renderRemoteClass(cls, types));
  }
  const abstracts = kmd.remoteClasses.filter((c) => c.abstract === true).map((c) => c.name);
  if (abstracts.length > 0) {
    files.set("lib/abstracts/index.js", renderSubIndex(kmd.name, "abstracts", abstracts));
  }
  for (const t of kmd.complexTypes) {
    files.set(`lib/complexTypes/${t.name}.js`, renderComplexType(t, types));
  }
  if (kmd.complexTypes.length > 0) {
    files.set(
      "lib/complexTypes/index.js",
      renderSubIndex(
        kmd.name,
        "complexTypes",
        kmd.complexTypes.map((t) => t.name),
      ),
    );
  }
  if (kmd.events.length > 0) {
    files.set("lib/events.js", renderEvents(kmd, types));
  }
  return files;
}

/**
 * Writes `files` under `outDir`. `lib/` is emptied first (a class removed from the descriptor must not leave its
 * file behind); anything else in `outDir` (examples, a .gitignore) is kept.
 */
export function writeClient(outDir: string, files: ReadonlyMap<string, string>): void {
  rmSync(path.join(outDir, "lib"), { recursive: true, force: true });
  for (const [rel, text] of files) {
    const file = path.join(outDir, rel);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, text);
  }
}

function isStringArray(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/** Checks the shape of a parsed kmd file. @throws TypeError naming `where` */
export function asKmd(value: unknown, where: string): KmdModule {
  const v = value as Partial<Record<keyof KmdModule, unknown>> | null;
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new TypeError(`${where}: a kmd descriptor must be a JSON object`);
  }
  if (typeof v.name !== "string" || !/^[A-Za-z][A-Za-z0-9_]*$/.test(v.name)) {
    throw new TypeError(`${where}: kmd 'name' must be a module name`);
  }
  if (typeof v.version !== "string") {
    throw new TypeError(`${where}: kmd 'version' must be a string`);
  }
  for (const key of ["remoteClasses", "complexTypes", "events"] as const) {
    const list = v[key];
    if (
      list !== undefined &&
      !(Array.isArray(list) && list.every((x) => typeof (x as { name?: unknown }).name === "string"))
    ) {
      throw new TypeError(`${where}: kmd '${key}' must be a list of named entries`);
    }
  }
  for (const c of (v.remoteClasses ?? []) as { name: string; events?: unknown }[]) {
    if (c.events !== undefined && !isStringArray(c.events)) {
      throw new TypeError(`${where}: kmd class '${c.name}' events must be a list of event names`);
    }
  }
  return {
    ...(v as KmdModule),
    remoteClasses: (v.remoteClasses ?? []) as KmdModule["remoteClasses"],
    complexTypes: (v.complexTypes ?? []) as KmdModule["complexTypes"],
    events: (v.events ?? []) as KmdModule["events"],
  };
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as unknown;
  } catch (err) {
    throw new TypeError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The kmd file a module folder names in its package.json `korus` field. @throws TypeError */
function kmdFileOfFolder(dir: string): string {
  const pkgFile = path.join(dir, "package.json");
  const pkg = readJson(pkgFile) as { korus?: unknown } | null;
  const field = pkg?.korus;
  const kmd = typeof field === "string" ? field : (field as { kmd?: unknown } | null | undefined)?.kmd;
  if (typeof kmd !== "string") {
    throw new TypeError(
      `${pkgFile}: no "korus" field naming the module's kmd file (e.g. "korus": {"kmd": "x.kmd.json"})`,
    );
  }
  return path.resolve(dir, kmd);
}

/**
 * The descriptor named on the command line: `korus`, a kmd JSON file or a module folder. `korusUsage` is the README
 * usage text of Korus's own module.
 * @throws TypeError when it cannot be read or is not a kmd descriptor
 */
export function loadClientSource(spec: string, korusUsage?: string): ClientSource {
  if (spec === "korus") {
    return {
      kmd: KORUS_KMD,
      options: {
        constants: { SIP_GATEWAY_ID: "korus_SipGateway" },
        ...(korusUsage === undefined ? {} : { usage: korusUsage }),
      },
    };
  }
  let file = path.resolve(spec);
  try {
    if (statSync(file).isDirectory()) {
      file = kmdFileOfFolder(file);
    }
  } catch (err) {
    if (err instanceof TypeError) {
      throw err;
    }
    throw new TypeError(`${spec}: no such module folder or kmd file`);
  }
  return { kmd: asKmd(readJson(file), file), options: {} };
}
