/**
 * The module-level files of a generated kurento-client module: `lib/index.js` (`name`, `version`, the concrete
 * classes, `abstracts`, `complexTypes`, as the module creator's `model_index.ftl`), the `abstracts/` and
 * `complexTypes/` indexes, `lib/events.js` (the events' JSDoc, `model_events.ftl`), `lib/peer.js`, `package.json`.
 */
import type { KmdModule } from "../../kurento/kmd.js";
import { banner, docLines, docOf, jsdoc, str } from "./js.js";
import { parseTypeRef, type TypeIndex } from "./types.js";

function byName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.name.localeCompare(b.name));
}

/** `var X = require("./X");` … `exports.X = X;` for `names`. */
function requiresAndExports(names: readonly string[]): string {
  return `${names.map((n) => `var ${n} = require(${str(`./${n}`)});`).join("\n")}\n\n${names.map((n) => `exports.${n} = ${n};`).join("\n")}`;
}

function moduleDoc(module: string): string {
  return jsdoc([" * Media API for the Kurento Web SDK", " *", ` * @module ${module}`]);
}

/** `lib/index.js`. `constants` are extra read-only exports (e.g. a singleton's object id). */
export function renderIndex(kmd: KmdModule, constants: Readonly<Record<string, string>>): string {
  const concrete = byName(kmd.remoteClasses.filter((c) => c.abstract !== true)).map((c) => c.name);
  const parts = [
    banner(kmd.name),
    moduleDoc(kmd.name),
    [
      `Object.defineProperty(exports, "name", { value: ${str(kmd.name)} });`,
      `Object.defineProperty(exports, "version", { value: ${str(kmd.version)} });`,
      ...Object.entries(constants).map(([k, v]) => `Object.defineProperty(exports, ${str(k)}, { value: ${str(v)} });`),
    ].join("\n"),
  ];
  if (concrete.length > 0) {
    parts.push(requiresAndExports(concrete));
  }
  const tail: string[] = [];
  if (kmd.remoteClasses.some((c) => c.abstract === true)) {
    tail.push('exports.abstracts = require("./abstracts");');
  }
  if (kmd.complexTypes.length > 0) {
    tail.push('exports.complexTypes = require("./complexTypes");');
  }
  if ((kmd.extensions ?? []).length > 0) {
    // Not exported: kurento-client.register() would take an exported value for a class or a type list.
    tail.push('require("./extensions");');
  }
  if (tail.length > 0) {
    parts.push(tail.join("\n"));
  }
  return `${parts.join("\n\n")}\n`;
}

/** `lib/abstracts/index.js` or `lib/complexTypes/index.js`. */
export function renderSubIndex(module: string, sub: "abstracts" | "complexTypes", names: readonly string[]): string {
  return `${[banner(module), moduleDoc(`${module}/${sub}`), requiresAndExports([...names].sort())].join("\n\n")}\n`;
}

/** `lib/events.js`: documentation only, as in Kurento's modules (kurento-client reads `Class.events`). */
export function renderEvents(kmd: KmdModule, types: TypeIndex): string {
  const blocks = byName(kmd.events).map((e) =>
    jsdoc([
      ...docLines(docOf(e)),
      ...(docOf(e) === undefined ? [] : [" *"]),
      ` * @event module:${kmd.name}#${e.name}`,
      ...(e.properties.length === 0
        ? []
        : [
            ...(e.extends === undefined ? [] : [" *", ` * @type {module:${kmd.name}#event:${e.extends}}`]),
            " *",
            ...e.properties.flatMap((p) => {
              const ref = parseTypeRef(p.type);
              return [
                ` * @property {${types.namepath(ref.name)}${ref.isList ? "[]" : ""}} ${p.name}`,
                ...docLines(docOf(p), 1),
              ];
            }),
          ]),
    ]),
  );
  return `${[banner(kmd.name), ...blocks].join("\n\n")}\n`;
}

/**
 * `lib/peer.js`: the application's kurento-client. A generated Kurento module does `require('kurento-client')`;
 * that finds another copy (and another class registry) when the module is installed as a symlink (`file:` or
 * `npm link`), because Node resolves a symlinked package's requires from its real location. So the copy is looked
 * up from the module that required this package first.
 */
export function renderPeer(kmd: KmdModule, nodeName: string): string {
  return `${banner(kmd.name)}

/*
 * The application's kurento-client, resolved as a peer dependency.
 *
 * kurento-client keeps its class registry in module state, so this module must extend the very copy the
 * application uses. npm installs \`file:\` and \`npm link\` dependencies as symlinks, and Node resolves a symlinked
 * package's own \`require('kurento-client')\` from its real location (outside the application): the copy is therefore
 * looked up from the module that required this package first, then by a plain require, then from the working
 * directory. inherits is loaded through kurento-client's own resolution.
 */
var Module = require("module");
var path = require("path");

var PACKAGE_DIR = path.resolve(__dirname, "..");

function requester() {
  // module.parent chain: the first module outside this package that loaded it (the application).
  var m = module.parent;
  while (m && typeof m.filename === "string" && m.filename.indexOf(PACKAGE_DIR + path.sep) === 0) {
    m = m.parent;
  }
  return m && typeof m.filename === "string" ? m.filename : undefined;
}

function resolveKurentoClient() {
  var froms = [];
  var parent = requester();
  if (parent) froms.push(parent);
  froms.push(__filename);
  if (require.main && require.main.filename) froms.push(require.main.filename);
  froms.push(path.join(process.cwd(), "package.json"));
  for (var i = 0; i < froms.length; i++) {
    try {
      return Module.createRequire(froms[i]).resolve("kurento-client");
    } catch (error) {
      if (error.code !== "MODULE_NOT_FOUND") throw error;
    }
  }
  throw new Error(
    ${str(`${nodeName}: cannot find the peer dependency 'kurento-client' (install kurento-client 7.x in the application)`)},
  );
}

var main = resolveKurentoClient();
var req = Module.createRequire(main);

exports.kurentoClient = req(main);
exports.inherits = req("inherits");
`;
}

interface ImportRef {
  name?: unknown;
  npmVersion?: unknown;
}

/** `package.json`: kurento-client is a peer dependency, in the range of the `core` import. */
export function renderPackageJson(kmd: KmdModule, nodeName: string, description: string): string {
  const core = (kmd.imports ?? []).find((i): i is ImportRef => (i as ImportRef | null)?.name === "core");
  const range = typeof core?.npmVersion === "string" ? core.npmVersion : ">=7.3.0 <8.0.0";
  const pkg = {
    name: nodeName,
    version: kmd.version,
    description,
    main: "lib/index.js",
    keywords: ["Kurento", "module", "plugin", kmd.name],
    files: ["lib/", "README.md"],
    peerDependencies: { "kurento-client": range },
  };
  return `${JSON.stringify(pkg, null, 2)}\n`;
}
