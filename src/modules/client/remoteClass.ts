/**
 * One remote class of a kmd descriptor as a kurento-client class file, in the shape of Kurento's module creator
 * template `client-js/templates/remoteClass_class.ftl` for a module other than core/elements/filters: the parent
 * comes from kurento-client's registry (`register.abstracts.X` / `register.classes.X`), every property gets a getter
 * (and a setter unless read-only), every method takes an optional leading Transaction and trailing callback and
 * returns a disguised promise, and `constructorParams`, `events` and `check` are what kurento-client's
 * MediaObjectCreator and `subscribe` read.
 *
 * Differences from the template, all stricter: method parameters are checked with kurento-client's `checkType`
 * (the template has those lines commented out), and a plain object passed where the module's own REGISTER complex
 * type is expected is converted to it (so its fields are checked and it serialises with `__module__`/`__type__`).
 * Like the template, the generated code is sloppy-mode JavaScript: shifting the Transaction out of `arguments`
 * shifts the named parameters with it.
 */
import type { KmdMethod, KmdParam, KmdProperty, KmdRemoteClass } from "../../kurento/kmd.js";
import { arrayLiteral, banner, docLines, docOf, jsdoc, str } from "./js.js";
import { parseTypeRef, type TypeIndex } from "./types.js";

export interface Ctx {
  cls: KmdRemoteClass;
  types: TypeIndex;
  module: string;
  namepath: string;
}

export const NOOP = `function noop(error, result) {
  if (error) console.trace(error);

  return result;
}`;

/** The path of the class file under `lib/`. */
export function remoteClassPath(cls: KmdRemoteClass): string {
  return `${cls.abstract === true ? "abstracts/" : ""}${cls.name}.js`;
}

function cap(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}

/** `checkType(...)` for one parameter, or "" for a type kurento-client cannot check as declared. */
function checkLine(ctx: Ctx, param: KmdParam | KmdProperty, key: string, value: string, optional: boolean): string {
  const ref = parseTypeRef(param.type);
  ctx.types.resolve(ref.name);
  // kurento-client's checkType knows lists (isArray) but not maps: a map is checked as an Object.
  const options: string[] = [];
  if (ref.isList) {
    options.push("isArray: true");
  }
  if (!optional) {
    options.push("required: true");
  }
  const opts = options.length === 0 ? "" : `, { ${options.join(", ")} }`;
  return `  checkType(${str(ref.isMap ? "Object" : ref.name)}, ${str(key)}, ${value}${opts});`;
}

/** The module creator's `arguments` macro: Transaction, callback, arity check, parameter checks, `params`. */
function argumentsBlock(ctx: Ctx, params: readonly KmdParam[]): string {
  const out = [
    "  var transaction = arguments[0] instanceof Transaction ? Array.prototype.shift.apply(arguments) : undefined;",
    "",
  ];
  if (params.length === 0) {
    out.push("  if (!arguments.length) callback = undefined;", "");
  } else {
    if (params.some((p) => p.optional === true)) {
      const min = params.filter((p) => p.optional !== true).length;
      const max = params.length;
      out.push(
        "  callback = arguments[arguments.length - 1] instanceof Function ? Array.prototype.pop.call(arguments) : undefined;",
        "",
        "  switch (arguments.length) {",
      );
      params.forEach((p, i) => {
        if (p.optional === true) {
          out.push(`    case ${i}:`, `      ${p.name} = undefined;`);
        }
      });
      out.push(
        "      break;",
        "",
        `    case ${max}:`,
        "      break;",
        "",
        "    default:",
        `      var error = new RangeError("Number of params (" + arguments.length + ") not in range [${min}-${max}]");`,
        "      error.length = arguments.length;",
        `      error.min = ${min};`,
        `      error.max = ${max};`,
        "",
        "      throw error;",
        "  }",
        "",
      );
    }
    for (const p of params) {
      const ref = parseTypeRef(p.type);
      if (!ref.isList && !ref.isMap && ctx.types.isOwnRegister(ref.name)) {
        out.push(
          `  if (${p.name} != undefined && !(${p.name} instanceof ${ref.name})) ${p.name} = ${ref.name}(${p.name});`,
        );
      }
    }
    for (const p of params) {
      out.push(checkLine(ctx, p, p.name, p.name, p.optional === true));
    }
    out.push("", "  var params = {", ...params.map((p) => `    ${p.name}: ${p.name},`), "  };", "");
  }
  out.push("  callback = (callback || noop).bind(this);", "");
  return out.join("\n");
}

/** The body's return statement; a remote-class result is turned into a proxy object with `_describe`. */
function invokeReturn(operation: string, hasParams: boolean, returnsObject: boolean): string {
  const params = hasParams ? ", params" : "";
  if (!returnsObject) {
    return `  return disguise(this._invoke(transaction, ${str(operation)}${params}, callback), this);`;
  }
  return [
    "  return disguise(",
    `    this._invoke(transaction, ${str(operation)}${params}, function (error, result) {`,
    "      if (error) return callback(error);",
    "",
    '      this.emit("_describe", result, callback);',
    "    }),",
    "    this,",
    "  );",
  ].join("\n");
}

function getter(ctx: Ctx, p: KmdProperty): string {
  const name = `get${cap(p.name)}`;
  const ref = parseTypeRef(p.type);
  const resultType = ref.isMap ? `Object.<string, ${ctx.types.namepath(ref.name)}>` : ctx.types.namepath(ref.name);
  const doc = jsdoc([
    ...docLines(docOf(p)),
    ...(docOf(p) === undefined ? [] : [" *"]),
    ` * @alias ${ctx.namepath}#${name}`,
    " *",
    ` * @param {${ctx.namepath}~${name}Callback} [callback]`,
    " *",
    " * @return {external:Promise}",
  ]);
  const body =
    ctx.types.isRemoteClass(ref.name) && !ref.isList && !ref.isMap
      ? invokeReturn(name, false, true)
      : invokeReturn(name, false, false);
  return `${doc}\n${ctx.cls.name}.prototype.${name} = function (callback) {\n${argumentsBlock(ctx, [])}\n${body}\n};\n${jsdoc(
    [
      ` * @callback ${ctx.namepath}~${name}Callback`,
      " * @param {external:Error} error",
      ` * @param {${resultType}${ref.isList ? "[]" : ""}} result`,
    ],
  )}`;
}

function setter(ctx: Ctx, p: KmdProperty): string {
  const name = `set${cap(p.name)}`;
  const param: KmdParam = { name: p.name, type: p.type };
  const doc = jsdoc([
    ...docLines(docOf(p)),
    ...(docOf(p) === undefined ? [] : [" *"]),
    ` * @alias ${ctx.namepath}#${name}`,
    " *",
    ` * @param {${ctx.types.namepath(parseTypeRef(p.type).name)}} ${p.name}`,
    ` * @param {${ctx.namepath}~${name}Callback} [callback]`,
    " *",
    " * @return {external:Promise}",
  ]);
  return `${doc}\n${ctx.cls.name}.prototype.${name} = function (${p.name}, callback) {\n${argumentsBlock(ctx, [param])}\n${invokeReturn(name, true, false)}\n};\n${jsdoc([` * @callback ${ctx.namepath}~${name}Callback`, " * @param {external:Error} error"])}`;
}

export function method(ctx: Ctx, m: KmdMethod): string {
  const paramDocs = m.params.flatMap((p) => {
    const ref = parseTypeRef(p.type);
    const type = ref.isMap ? `Object.<string, ${ctx.types.namepath(ref.name)}>` : ctx.types.namepath(ref.name);
    return [
      " *",
      ` * @param {${type}}${ref.isList ? "[]" : ""} ${p.optional === true ? `[${p.name}]` : p.name}`,
      ...docLines(docOf(p), 1),
    ];
  });
  const doc = jsdoc([
    ...docLines(docOf(m)),
    ...(docOf(m) === undefined ? [] : [" *"]),
    ` * @alias ${ctx.namepath}.${m.name}`,
    ...paramDocs,
    " *",
    ` * @param {${ctx.namepath}~${m.name}Callback} [callback]`,
    " *",
    " * @return {external:Promise}",
  ]);
  const ret = m.return === undefined ? undefined : parseTypeRef(m.return.type);
  const returnsObject = ret !== undefined && !ret.isList && !ret.isMap && ctx.types.isRemoteClass(ret.name);
  const args = [...m.params.map((p) => p.name), "callback"].join(", ");
  const cb = [` * @callback ${ctx.namepath}~${m.name}Callback`, " * @param {external:Error} error"];
  if (ret !== undefined) {
    cb.push(` * @param {${ctx.types.namepath(ret.name)}${ret.isList ? "[]" : ""}} result`);
  }
  return `${doc}\n${ctx.cls.name}.prototype.${m.name} = function (${args}) {\n${argumentsBlock(ctx, m.params)}\n${invokeReturn(m.name, m.params.length > 0, returnsObject)}\n};\n${jsdoc(cb)}`;
}

function constructorParams(ctx: Ctx): string {
  const params = [...(ctx.cls.constructor?.params ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  if (params.length === 0) {
    return `${ctx.cls.name}.constructorParams = {};`;
  }
  const entries = params.map((p) => {
    const ref = parseTypeRef(p.type);
    // kurento-client's checkParams knows lists (isArray) but not maps: a map is checked as an Object.
    const lines = [`    type: ${str(ref.isMap ? "Object" : ctx.types.qualifiedName(ref.name))},`];
    if (ref.isList) {
      lines.push("    isArray: true,");
    }
    if (p.optional !== true) {
      lines.push("    required: true,");
    }
    return `  ${p.name}: {\n${lines.join("\n")}\n  },`;
  });
  return `${ctx.cls.name}.constructorParams = {\n${entries.join("\n")}\n};`;
}

/** The parent class expression and, for a class of the same module, the `require` path. */
function parentOf(ctx: Ctx): { name: string; expr: string } {
  const parent = ctx.cls.extends;
  if (parent === undefined) {
    throw new TypeError(`kmd: remote class '${ctx.cls.name}' of module '${ctx.module}' extends nothing`);
  }
  const t = ctx.types.resolve(parent);
  if (t.kind !== "remoteClass") {
    throw new TypeError(`kmd: remote class '${ctx.cls.name}' extends '${parent}', which is not a remote class`);
  }
  if (t.module === ctx.module) {
    const from = ctx.cls.abstract === true ? "abstracts/" : "";
    const to = t.abstract ? "abstracts/" : "";
    const rel = from === to ? "./" : from === "" ? "./abstracts/" : "../";
    return { name: parent, expr: `require(${str(`${rel}${parent}`)})` };
  }
  return { name: parent, expr: `kurentoClient.register.${t.abstract ? "abstracts" : "classes"}.${parent}` };
}

/** The class file's text. */
export function renderRemoteClass(cls: KmdRemoteClass, types: TypeIndex): string {
  const module = types.module;
  const ns = `${module}${cls.abstract === true ? "/abstracts" : ""}`;
  const ctx: Ctx = { cls, types, module, namepath: `module:${ns}.${cls.name}` };
  const parent = parentOf(ctx);
  const props = [...(cls.properties ?? [])].filter((p) => p.name !== "id").sort((a, b) => a.name.localeCompare(b.name));
  const methods = [...(cls.methods ?? [])].sort((a, b) => a.name.localeCompare(b.name));
  const events = [...(cls.events ?? [])].sort();
  const peer = cls.abstract === true ? "../peer" : "./peer";
  const own = new Set<string>();
  for (const m of methods) {
    for (const p of m.params) {
      const ref = parseTypeRef(p.type);
      if (!ref.isList && !ref.isMap && types.isOwnRegister(ref.name)) {
        own.add(ref.name);
      }
    }
  }
  const parts: string[] = [
    banner(module),
    `var peer = require(${str(peer)});\n\nvar inherits = peer.inherits;\n\nvar kurentoClient = peer.kurentoClient;\n\nvar disguise = kurentoClient.disguise;\n\nvar checkType = kurentoClient.checkType;\nvar ChecktypeError = checkType.ChecktypeError;\n\nvar Transaction = kurentoClient.TransactionsManager.Transaction;`,
    `var ${parent.name} = ${parent.expr};`,
  ];
  if (own.size > 0) {
    const dir = cls.abstract === true ? "../complexTypes/" : "./complexTypes/";
    parts.push(
      [...own]
        .sort()
        .map((n) => `var ${n} = require(${str(`${dir}${n}`)});`)
        .join("\n"),
    );
  }
  parts.push(NOOP);
  const classDoc = jsdoc([
    ...(docOf(cls) === undefined ? [] : [" * @classdesc", ...docLines(docOf(cls), 1), " *"]),
    ...(cls.abstract === true ? [" * @abstract"] : []),
    ` * @extends ${types.namepath(parent.name)}`,
    " *",
    ` * @constructor ${ctx.namepath}`,
    ...(events.length === 0 ? [] : [" *", ...events.map((e) => ` * @fires {@link module:${module}#event:${e} ${e}}`)]),
  ]);
  parts.push(
    `${classDoc}\nfunction ${cls.name}() {\n  ${cls.name}.super_.call(this);\n}\ninherits(${cls.name}, ${parent.name});`,
  );
  if (props.length > 0) {
    parts.push("//\n// Public properties\n//");
    for (const p of props) {
      parts.push(getter(ctx, p));
      if (p.final !== true && p.readOnly !== true) {
        parts.push(setter(ctx, p));
      }
    }
  }
  if (methods.length > 0) {
    parts.push("//\n// Public methods\n//");
    for (const m of methods) {
      parts.push(method(ctx, m));
    }
  }
  parts.push(
    `${jsdoc([` * @alias ${ctx.namepath}.constructorParams`])}\n${constructorParams(ctx)}`,
    `${jsdoc([` * @alias ${ctx.namepath}.events`, " *", ` * @extends ${types.namepath(parent.name)}.events`])}\n${
      events.length === 0
        ? `${cls.name}.events = ${parent.name}.events;`
        : arrayLiteral(events.map(str), `${cls.name}.events = ${parent.name}.events.concat(`, ");")
    }`,
    `${jsdoc([
      ` * Checker for {@link ${ctx.namepath}}`,
      " *",
      ` * @memberof module:${ns}`,
      " *",
      " * @param {external:String} key",
      ` * @param {${ctx.namepath}} value`,
    ])}\nfunction check${cls.name}(key, value) {\n  if (!(value instanceof ${cls.name})) throw ChecktypeError(key, ${cls.name}, value);\n}`,
    `module.exports = ${cls.name};\n\n${cls.name}.check = check${cls.name};`,
  );
  return `${parts.join("\n\n")}\n`;
}
