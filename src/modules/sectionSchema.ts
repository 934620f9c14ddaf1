/**
 * A module's configuration section schema (docs/modules.md §7): the manifest's `korus.config` names a JSON Schema
 * file. TypeBox schemas are JSON Schema, but TypeBox's checker needs its own kind marks, so the file is rebuilt here
 * with TypeBox's builders, keyword for keyword, from the subset Korus's own schema uses:
 *
 * - `type`: `object` (`properties`, `required`, `additionalProperties`), `integer`, `number`, `string`, `boolean`,
 *   `array` (`items`); or `enum` of strings/numbers without `type`;
 * - the other keywords (`default`, `minimum`, `maximum`, `minLength`, `pattern`, `minItems`, `description`, …) are
 *   kept as written and checked by TypeBox as JSON Schema defines them.
 *
 * Korus's rules for a section: its top is an `object` (absent in the file: `{}`, so the defaults apply), and an
 * object refuses unknown keys unless it says `"additionalProperties": true` (unknown keys are usually typos).
 */
import { Type, type TSchema } from "@sinclair/typebox";
import { ModuleError } from "./ModuleError.js";

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/** Keywords the builders below consume; every other keyword is passed on as an option. */
const STRUCTURAL = new Set(["type", "properties", "required", "additionalProperties", "items", "enum", "$schema"]);

function options(json: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(json)) {
    if (!STRUCTURAL.has(k)) {
      out[k] = v;
    }
  }
  return out;
}

function convert(module: string, json: unknown, at: string): TSchema {
  const where = at === "" ? "the top" : at;
  if (!isObj(json)) {
    throw new ModuleError(module, `config schema: ${where} must be a JSON Schema object`);
  }
  const opts = options(json);
  const values = json["enum"];
  if (json["type"] === undefined && Array.isArray(values)) {
    if (values.length === 0 || !values.every((v) => typeof v === "string" || typeof v === "number")) {
      throw new ModuleError(module, `config schema: ${where}: enum must list strings or numbers`);
    }
    return Type.Union(
      values.map((v) => Type.Literal(v)),
      opts,
    );
  }
  switch (json["type"]) {
    case "integer":
      return Type.Integer(opts);
    case "number":
      return Type.Number(opts);
    case "string":
      return Type.String(opts);
    case "boolean":
      return Type.Boolean(opts);
    case "array":
      return Type.Array(convert(module, json["items"], `${at}[]`), opts);
    case "object": {
      const props = json["properties"] ?? {};
      const required = json["required"] ?? [];
      if (!isObj(props) || !Array.isArray(required)) {
        throw new ModuleError(module, `config schema: ${where}: properties must be an object and required a list`);
      }
      const fields: Record<string, TSchema> = {};
      for (const [key, sub] of Object.entries(props)) {
        const field = convert(module, sub, `${at}.${key}`);
        fields[key] = required.includes(key) ? field : Type.Optional(field);
      }
      return Type.Object(fields, { ...opts, additionalProperties: json["additionalProperties"] === true });
    }
    default:
      throw new ModuleError(
        module,
        `config schema: ${where}: type must be object, integer, number, string, boolean or array (or an enum), got ${JSON.stringify(json["type"])}`,
      );
  }
}

/**
 * The TypeBox schema of module `module`'s section, from the JSON Schema `json` its manifest names.
 * @throws ModuleError naming the module and the schema's path when the schema is outside the subset above.
 */
export function sectionSchema(module: string, json: unknown): TSchema {
  if (!isObj(json) || json["type"] !== "object") {
    throw new ModuleError(module, 'config schema: the top must be { "type": "object", … } (a section is a mapping)');
  }
  return convert(module, json["default"] === undefined ? { ...json, default: {} } : json, "");
}
