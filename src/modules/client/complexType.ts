/**
 * One complex type of a kmd descriptor as a kurento-client file under `lib/complexTypes/`, in the shape of Kurento's
 * module creator template `client-js/templates/complexType_class.ftl`:
 *
 * - ENUM: the module exports its checker, `check<Name>(key, value)`, which throws a SyntaxError unless the value is
 *   one of the enum's strings (kurento-client registers it as the type's checker);
 * - REGISTER: a constructor usable with or without `new`, extending kurento-client-core's ComplexType (or the
 *   declared parent), whose fields are enumerable own properties and whose prototype carries the enumerable
 *   `__module__`/`__type__` the server needs to rebuild it; `check` is its checker.
 *
 * Stricter than the template, whose field checks are commented out: each field is checked with kurento-client's
 * `checkType`, and an unknown field throws (a misspelt option must not be dropped silently).
 */
import type { KmdComplexType } from "../../kurento/kmd.js";
import { arrayLiteral, banner, docLines, docOf, jsdoc, str } from "./js.js";
import { parseTypeRef, type TypeIndex } from "./types.js";

const KURENTO_MODULES = new Set(["core", "elements", "filters"]);

/** A JSDoc type for a kmd type reference: `T`, `T[]` or `Object.<string, T>`. */
export function docType(ref: string, types: TypeIndex): string {
  const r = parseTypeRef(ref);
  const name = types.namepath(r.name);
  return r.isMap ? `Object.<string, ${name}>` : `${name}${r.isList ? "[]" : ""}`;
}

function checker(name: string, namepath: string, ns: string, body: string): string {
  return `${jsdoc([
    ` * Checker for {@link ${namepath}}`,
    " *",
    ` * @memberof module:${ns}`,
    " *",
    " * @param {external:String} key",
    ` * @param {${namepath}} value`,
  ])}\nfunction check${name}(key, value) {\n${body}\n}`;
}

function renderEnum(t: KmdComplexType, module: string): string {
  const ns = `${module}/complexTypes`;
  const namepath = `module:${ns}.${t.name}`;
  const values = t.values ?? [];
  if (values.length === 0) {
    throw new TypeError(`kmd: enum '${t.name}' of module '${module}' has no values`);
  }
  return [
    banner(module),
    arrayLiteral(values.map(str), "var VALUES = ", ";"),
    jsdoc([
      ...docLines(docOf(t)),
      ...(docOf(t) === undefined ? [] : [" *"]),
      ` * @typedef ${ns}.${t.name}`,
      " *",
      ` * @type {(${values.join("|")})}`,
    ]),
    checker(
      t.name,
      namepath,
      ns,
      [
        '  if (typeof value != "string") throw SyntaxError(key + " param should be a String, not " + typeof value);',
        "",
        "  if (VALUES.indexOf(value) < 0)",
        '    throw SyntaxError(key + " param is not one of [" + VALUES.join("|") + "] (" + value + ")");',
      ].join("\n"),
    ),
    `module.exports = check${t.name};`,
  ].join("\n\n");
}

function renderRegister(t: KmdComplexType, types: TypeIndex): string {
  const module = types.module;
  const ns = `${module}/complexTypes`;
  const namepath = `module:${ns}.${t.name}`;
  const dict = `${t.name.charAt(0).toLowerCase()}${t.name.slice(1)}Dict`;
  const own = t.properties ?? [];
  const fields = types.registerFields(t.name);
  let parent = "ComplexType";
  let parentExpr = "kurentoClient.register.complexTypes.ComplexType";
  if (t.extends !== undefined) {
    const p = types.resolve(t.extends);
    if (p.kind !== "register") {
      throw new TypeError(`kmd: complex type '${t.name}' extends '${t.extends}', which is not a REGISTER type`);
    }
    parent = t.extends;
    parentExpr =
      p.module === module ? `require(${str(`./${parent}`)})` : `kurentoClient.register.complexTypes.${parent}`;
  }
  const checks = fields.map((f) => {
    const ref = parseTypeRef(f.type);
    types.resolve(ref.name);
    const opts = [...(ref.isList ? ["isArray: true"] : []), ...(f.optional === true ? [] : ["required: true"])];
    const type = ref.isMap ? "Object" : ref.name;
    return `    checkType(${str(type)}, ${str(`${dict}.${f.name}`)}, ${dict}.${f.name}${opts.length === 0 ? "" : `, { ${opts.join(", ")} }`});`;
  });
  const props = own.map((f) =>
    [
      `    ${f.name}: {`,
      ...(f.final === true || f.readOnly === true ? [] : ["      writable: true,"]),
      "      enumerable: true,",
      `      value: ${dict}.${f.name},`,
      "    },",
    ].join("\n"),
  );
  const ctor = [
    `function ${t.name}(${dict}) {`,
    `  if (!(this instanceof ${t.name})) return new ${t.name}(${dict});`,
    "",
    `  ${dict} = ${dict} || {};`,
    "",
    "  // Check the fields once, in the most derived type (a parent's constructor sees the child's fields too)",
    `  if (this.constructor === ${t.name}) {`,
    `    Object.keys(${dict}).forEach(function (key) {`,
    "      if (FIELDS.indexOf(key) < 0)",
    `        throw new SyntaxError(${str(`${t.name} has no field '`)} + key + "' (fields: " + FIELDS.join(", ") + ")");`,
    "    });",
    ...checks,
    "  }",
    "",
    "  // Init parent class",
    `  ${t.name}.super_.call(this, ${dict});`,
    ...(props.length === 0
      ? []
      : ["", "  // Set object properties", "  Object.defineProperties(this, {", ...props, "  });"]),
    "}",
    `inherits(${t.name}, ${parent});`,
  ].join("\n");
  return [
    banner(module),
    `var peer = require("../peer");\n\nvar inherits = peer.inherits;\n\nvar kurentoClient = peer.kurentoClient;\n\nvar checkType = kurentoClient.checkType;\nvar ChecktypeError = checkType.ChecktypeError;\n\nvar ${parent} = ${parentExpr};`,
    arrayLiteral(
      fields.map((f) => str(f.name)),
      "var FIELDS = ",
      ";",
    ),
    `${jsdoc([
      ...docLines(docOf(t)),
      ...(docOf(t) === undefined ? [] : [" *"]),
      ` * @constructor ${namepath}`,
      ...(own.length === 0 ? [] : [" *"]),
      ...own.flatMap((f) => [
        ` * @property {${docType(f.type, types)}} ${f.optional === true ? `[${f.name}]` : f.name}`,
        ...docLines(docOf(f), 1),
      ]),
      ...(t.extends === undefined ? [] : [" *", ` * @extends ${types.namepath(parent)}`]),
    ])}\n${ctor}`,
    [
      "// Private identifiers to allow re-construction of the complexType on the server",
      "// They need to be enumerable so JSON.stringify() can access to them",
      `Object.defineProperties(${t.name}.prototype, {`,
      "  __module__: {",
      "    enumerable: true,",
      `    value: ${str(KURENTO_MODULES.has(module) ? "kurento" : module)},`,
      "  },",
      "  __type__: {",
      "    enumerable: true,",
      `    value: ${str(t.name)},`,
      "  },",
      "});",
    ].join("\n"),
    checker(t.name, namepath, ns, `  if (!(value instanceof ${t.name})) throw ChecktypeError(key, ${t.name}, value);`),
    `module.exports = ${t.name};\n\n${t.name}.check = check${t.name};`,
  ].join("\n\n");
}

/** The file's text. */
export function renderComplexType(t: KmdComplexType, types: TypeIndex): string {
  return `${t.typeFormat === "ENUM" ? renderEnum(t, types.module) : renderRegister(t, types)}\n`;
}
