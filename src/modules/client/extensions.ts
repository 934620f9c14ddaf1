/**
 * `lib/extensions.js`: a module's additions to classes other modules describe (the kmd `extensions` key, Korus's
 * addition to the format, e.g. `sendDtmf`, `DtmfReceived` and `mediaTimeoutMs` on Kurento's RtpEndpoint). Kurento's
 * module creator has no such thing: the generated file patches the registered class when the module is loaded,
 * once (a second copy of the module finds the additions in place): methods on its prototype, parameters in its
 * `constructorParams` (which kurento-client's MediaObjectCreator checks and sends), names in its `events` (which
 * `on()` checks before subscribing). Values a module adds to another module's ENUM (kmd `enumExtensions`, e.g.
 * korus's WAV and OGG recording profiles) are let through the enum's registered checker.
 */
import type { KmdClassExtension, KmdModule } from "../../kurento/kmd.js";
import { arrayLiteral, banner, jsdoc, str } from "./js.js";
import { method, NOOP, type Ctx } from "./remoteClass.js";
import { parseTypeRef, type TypeIndex } from "./types.js";

function extension(ext: KmdClassExtension, types: TypeIndex): string {
  const t = types.resolve(ext.class);
  if (t.kind !== "remoteClass") {
    throw new TypeError(`kmd: module '${types.module}' extends '${ext.class}', which is not a remote class`);
  }
  const name = ext.class;
  const ctx: Ctx = {
    cls: { name, constructor: { params: [] } },
    types,
    module: types.module,
    namepath: types.namepath(name),
  };
  const out = [
    `var ${name} = kurentoClient.register.${t.abstract ? "abstracts" : "classes"}.${name};`,
    ...[...(ext.methods ?? [])].sort((a, b) => a.name.localeCompare(b.name)).map((m) => method(ctx, m)),
  ];
  const params = [...(ext.constructorParams ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  if (params.length > 0) {
    out.push(
      params
        .map((p) => {
          const ref = parseTypeRef(p.type);
          const type = ref.isMap ? "Object" : types.qualifiedName(ref.name);
          const fields = [`type: ${str(type)}`, ...(ref.isList ? ["isArray: true"] : [])];
          if (p.optional !== true) {
            fields.push("required: true");
          }
          return `${name}.constructorParams.${p.name} = { ${fields.join(", ")} };`;
        })
        .join("\n"),
    );
  }
  const events = [...(ext.events ?? [])].sort();
  if (events.length > 0) {
    out.push(
      `${arrayLiteral(events.map(str), "", ".forEach(function (event) {")}\n  if (${name}.events.indexOf(event) < 0) ${name}.events = ${name}.events.concat([event]);\n});`,
    );
  }
  return out.join("\n\n");
}

/** The enum's checker (registered under its plain and qualified names) wrapped to accept the added values. */
function enumExtension(ext: { type: string; values: string[] }, types: TypeIndex): string {
  const names = [...new Set([ext.type, types.qualifiedName(ext.type)])];
  return [
    `${arrayLiteral(names.map(str), "", ".forEach(function (name) {")}`,
    "  var check = checkType[name];",
    "  if (!check || check.korusValues) return;",
    `  var added = ${arrayLiteral(ext.values.map(str), "", "")};`,
    "  var wrapped = function (key, value) {",
    "    if (added.indexOf(value) >= 0) return;",
    "    return check(key, value);",
    "  };",
    "  wrapped.korusValues = added;",
    "  checkType[name] = wrapped;",
    "});",
  ].join("\n");
}

/** The file's text, or undefined when the module extends no class and no enum. */
export function renderExtensions(kmd: KmdModule, types: TypeIndex): string | undefined {
  const exts = kmd.extensions ?? [];
  const enums = kmd.enumExtensions ?? [];
  if (exts.length === 0 && enums.length === 0) {
    return undefined;
  }
  return `${[
    banner(kmd.name),
    jsdoc([
      ` * Module ${kmd.name}'s additions to classes of other modules (kmd \`extensions\`), applied when it is loaded.`,
    ]),
    'var peer = require("./peer");\n\nvar kurentoClient = peer.kurentoClient;\n\nvar disguise = kurentoClient.disguise;\n\nvar checkType = kurentoClient.checkType;\n\nvar Transaction = kurentoClient.TransactionsManager.Transaction;',
    NOOP,
    ...exts.map((e) => extension(e, types)),
    ...enums.map((e) => enumExtension(e, types)),
  ].join("\n\n")}\n`;
}
