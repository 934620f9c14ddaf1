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
 *   lib/extensions.js            additions to other modules' classes (kmd `extensions`, Korus's), if any
 *   lib/peer.js                  the application's kurento-client (see moduleFiles.ts renderPeer)
 *
 * The descriptor: `korus` (Korus's own, src/kurento/korusKmd.ts), a kmd JSON file, or a module (a folder or an
 * installed npm package whose package.json names its kmd file in `korus.kmd`, read as the server reads a `modules:`
 * entry: src/modules/manifest.ts).
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { KmdRegistry, type KmdModule } from "../../kurento/kmd.js";
import { KORUS_KMD } from "../../kurento/korusKmd.js";
import { checkDescriptor } from "../descriptor.js";
import { readModule } from "../manifest.js";
import { ModuleError } from "../ModuleError.js";
import { renderComplexType } from "./complexType.js";
import { renderExtensions } from "./extensions.js";
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
  const types = new TypeIndex(kmd, options.known ?? [...KmdRegistry.official(), KORUS_KMD]);
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
  const extensions = renderExtensions(kmd, types);
  if (extensions !== undefined) {
    files.set("lib/extensions.js", extensions);
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
        // The object id of the SipGateway singleton (src/sip: SIP_GATEWAY_ID), for getMediaobjectById.
        constants: { SIP_GATEWAY_ID: "korus_SipGateway" },
        ...(korusUsage === undefined ? {} : { usage: korusUsage }),
      },
    };
  }
  if (spec.endsWith(".json")) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(spec, "utf8"));
    } catch (err) {
      throw new ModuleError(
        spec,
        `descriptor is not readable JSON: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return { kmd: checkDescriptor(json, spec), options: {} };
  }
  // A module folder or an installed npm package, read as the server reads a `modules:` entry.
  return { kmd: readModule(existsSync(spec) ? path.resolve(spec) : spec).kmd, options: {} };
}
