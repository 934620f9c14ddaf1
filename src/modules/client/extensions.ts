/**
 * `lib/extensions.js`: a module's additions to classes other modules describe (the kmd `extensions` key, Korus's
 * addition to the format, e.g. `sendDtmf`, `DtmfReceived` and `mediaTimeoutMs` on Kurento's RtpEndpoint). Kurento's
 * module creator has no such thing: the generated file patches the registered class when the module is loaded,
 * once (a second copy of the module finds the additions in place): methods on its prototype, parameters in its
 * `constructorParams` (which kurento-client's MediaObjectCreator checks and sends), names in its `events` (which
 * `on()` checks before subscribing).
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

/** The file's text, or undefined when the module extends no class. */
export function renderExtensions(kmd: KmdModule, types: TypeIndex): string | undefined {
  const exts = kmd.extensions ?? [];
  if (exts.length === 0) {
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
  ].join("\n\n")}\n`;
}
