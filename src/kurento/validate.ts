/**
 * Validation of `constructorParams` and `operationParams` against the kmd types, applying kmd defaults.
 *
 * Failures are {@link KurentoError} MARSHALL_ERROR (40001) whose message names the field, in KMS's words
 * (`'x' parameter should be a String`). Remote-object parameters are id strings; `resolveObject` checks they exist
 * (40101) and are of the declared class.
 */
import type { JsonObject, JsonValue } from "../../media/index.js";
import { clip, KurentoError } from "./errors.js";
import type { KmdParam, KmdRegistry } from "./kmd.js";

/** Resolves an object id to its class name, or undefined when unknown. */
export type ObjectResolver = (id: string) => string | undefined;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export class ParamValidator {
  readonly #kmd: KmdRegistry;

  constructor(kmd: KmdRegistry) {
    this.#kmd = kmd;
  }

  /**
   * Checks `given` against `params`, fills defaults of absent optional ones, and drops unknown keys.
   * @throws KurentoError MARSHALL_ERROR naming the field; MEDIA_OBJECT_NOT_FOUND for an unknown object id.
   */
  params(params: readonly KmdParam[], given: unknown, resolve: ObjectResolver, what: string): JsonObject {
    if (given !== undefined && given !== null && !isObj(given)) {
      throw new KurentoError("MARSHALL_ERROR", `'${what}' should be an object`);
    }
    const src: Record<string, unknown> = given ?? {};
    const out: JsonObject = {};
    for (const p of params) {
      const v = src[p.name];
      if (v === undefined || v === null) {
        if (p.optional === true) {
          if (p.defaultValue !== undefined) {
            out[p.name] = p.defaultValue as JsonValue;
          }
          continue;
        }
        throw new KurentoError("MARSHALL_ERROR", `'${p.name}' parameter is required`);
      }
      out[p.name] = this.value(p.type, v, p.name, resolve);
    }
    return out;
  }

  /** Validates one value of kmd type `type`. */
  value(type: string, v: unknown, field: string, resolve: ObjectResolver): JsonValue {
    if (type.endsWith("[]")) {
      if (!Array.isArray(v)) {
        throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be an array of ${type.slice(0, -2)}`);
      }
      return v.map((x, i) => this.value(type.slice(0, -2), x, `${field}[${i}]`, resolve));
    }
    if (type.endsWith("<>")) {
      if (!isObj(v)) {
        throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a map of ${type.slice(0, -2)}`);
      }
      const out: JsonObject = {};
      for (const [k, x] of Object.entries(v)) {
        out[k] = this.value(type.slice(0, -2), x, `${field}.${clip(k)}`, resolve);
      }
      return out;
    }
    switch (type) {
      case "String": {
        if (typeof v !== "string") {
          throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a String`);
        }
        return v;
      }
      case "boolean": {
        if (typeof v !== "boolean") {
          throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a boolean`);
        }
        return v;
      }
      case "int":
      case "int64": {
        if (typeof v !== "number" || !Number.isInteger(v)) {
          throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be an integer`);
        }
        if (type === "int" && (v > 2147483647 || v < -2147483648)) {
          throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter is out of the int range`);
        }
        return v;
      }
      case "float":
      case "double": {
        if (typeof v !== "number" || !Number.isFinite(v)) {
          throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a ${type}`);
        }
        return v;
      }
      default: {
        return this.#named(type, v, field, resolve);
      }
    }
  }

  #named(type: string, v: unknown, field: string, resolve: ObjectResolver): JsonValue {
    if (this.#kmd.isRemoteClass(type)) {
      if (typeof v !== "string") {
        throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a ${type} id`);
      }
      const cls = resolve(v);
      if (cls === undefined) {
        throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${clip(v)}' not found`);
      }
      const info = this.#kmd.classByType(cls);
      if (info === undefined || !this.#kmd.isA(info, type)) {
        throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a ${type}, '${clip(v)}' is a ${cls}`);
      }
      return v;
    }
    const complex = this.#kmd.complexType(type);
    if (complex === undefined) {
      throw new KurentoError("UNEXPECTED_ERROR", `type '${type}' of '${field}' is not described`);
    }
    if (complex.typeFormat === "ENUM") {
      if (typeof v !== "string" || !(complex.values ?? []).includes(v)) {
        throw new KurentoError(
          "MARSHALL_ERROR",
          `'${field}' parameter should be a ${type} (${(complex.values ?? []).join("|")})`,
        );
      }
      return v;
    }
    if (!isObj(v)) {
      throw new KurentoError("MARSHALL_ERROR", `'${field}' parameter should be a ${type}`);
    }
    const declared = v["__type__"];
    if (declared !== undefined && declared !== type && !this.#extendsType(declared, type)) {
      throw new KurentoError(
        "UNEXPECTED_ERROR",
        `'${field}' has __type__ '${clip(JSON.stringify(declared) ?? "")}', expected ${type}`,
      );
    }
    const out: JsonObject = { __module__: v["__module__"] === "korus" ? "korus" : "kurento", __type__: type };
    for (const p of this.#allProperties(type)) {
      const x = v[p.name];
      if (x === undefined || x === null) {
        if (p.optional === true) {
          if (p.defaultValue !== undefined) {
            out[p.name] = p.defaultValue as JsonValue;
          }
          continue;
        }
        throw new KurentoError("MARSHALL_ERROR", `'${field}.${p.name}' parameter is required`);
      }
      out[p.name] = this.value(p.type, x, `${field}.${p.name}`, resolve);
    }
    return out;
  }

  #extendsType(name: unknown, base: string): boolean {
    let t = typeof name === "string" ? this.#kmd.complexType(name) : undefined;
    while (t?.extends !== undefined) {
      if (t.extends === base) {
        return true;
      }
      t = this.#kmd.complexType(t.extends);
    }
    return false;
  }

  #allProperties(type: string): { name: string; type: string; optional?: boolean; defaultValue?: unknown }[] {
    const t = this.#kmd.complexType(type);
    if (t === undefined) {
      return [];
    }
    return [...(t.extends !== undefined ? this.#allProperties(t.extends) : []), ...(t.properties ?? [])];
  }
}
