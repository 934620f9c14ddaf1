/**
 * Shape check of a module's descriptor (Kurento's kmd JSON format, as in kurento-client-core's `core.kmd.json`).
 * The semantic checks (names unique across modules, `extends` resolvable) are KmdRegistry's; this one makes sure
 * the registry is handed something of the right shape, naming the offending field.
 */
import type { KmdModule } from "../kurento/kmd.js";
import { ModuleError } from "./ModuleError.js";

const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function list(module: string, o: Record<string, unknown>, key: string): Record<string, unknown>[] {
  const v = o[key];
  if (v === undefined) {
    return [];
  }
  if (!Array.isArray(v) || !v.every(isObj)) {
    throw new ModuleError(module, `descriptor: '${key}' must be an array of objects`);
  }
  return v;
}

function named(module: string, where: string, o: Record<string, unknown>): string {
  const n = o["name"];
  if (typeof n !== "string" || !NAME.test(n)) {
    throw new ModuleError(module, `descriptor: ${where} has no valid 'name' (${JSON.stringify(n)})`);
  }
  return n;
}

function params(module: string, where: string, v: unknown): void {
  if (v === undefined) {
    return;
  }
  if (!Array.isArray(v)) {
    throw new ModuleError(module, `descriptor: ${where} 'params' must be an array`);
  }
  for (const p of v) {
    if (!isObj(p) || typeof p["type"] !== "string") {
      throw new ModuleError(module, `descriptor: every parameter of ${where} needs a 'name' and a 'type'`);
    }
    named(module, `a parameter of ${where}`, p);
  }
}

/** A descriptor as written: the three lists may be absent. */
type RawKmd = Omit<KmdModule, "remoteClasses" | "complexTypes" | "events"> &
  Partial<Pick<KmdModule, "remoteClasses" | "complexTypes">> & {
    events?: (Omit<KmdModule["events"][number], "properties"> & {
      properties?: KmdModule["events"][number]["properties"];
    })[];
  };

/**
 * Checks `json` as the descriptor of the module loaded from `source` and returns it with its lists filled in.
 * @throws ModuleError naming the module (or `source` when the name itself is missing) and the field.
 */
export function checkDescriptor(json: unknown, source: string): KmdModule {
  assertDescriptor(json, source);
  return {
    ...json,
    remoteClasses: json.remoteClasses ?? [],
    complexTypes: json.complexTypes ?? [],
    events: (json.events ?? []).map((e) => ({ ...e, properties: e.properties ?? [] })),
  };
}

function assertDescriptor(json: unknown, source: string): asserts json is RawKmd {
  if (!isObj(json)) {
    throw new ModuleError(source, "descriptor: not a JSON object");
  }
  const n = json["name"];
  if (typeof n !== "string" || !NAME.test(n)) {
    throw new ModuleError(source, `descriptor: 'name' must be an identifier, got ${JSON.stringify(n)}`);
  }
  if (typeof json["version"] !== "string") {
    throw new ModuleError(n, "descriptor: 'version' must be a string");
  }
  for (const c of list(n, json, "remoteClasses")) {
    const cn = named(n, "a remote class", c);
    if (c["extends"] !== undefined && typeof c["extends"] !== "string") {
      throw new ModuleError(n, `descriptor: class '${cn}' 'extends' must be a string`);
    }
    // Own property only: every object inherits a `constructor`.
    const ctor: unknown = Object.hasOwn(c, "constructor")
      ? Object.getOwnPropertyDescriptor(c, "constructor")?.value
      : undefined;
    if (ctor !== undefined) {
      if (!isObj(ctor)) {
        throw new ModuleError(n, `descriptor: class '${cn}' 'constructor' must be an object`);
      }
      params(n, `the constructor of '${cn}'`, ctor["params"]);
    }
    for (const m of list(n, c, "methods")) {
      params(n, `method '${named(n, `a method of '${cn}'`, m)}'`, m["params"]);
    }
    for (const p of list(n, c, "properties")) {
      if (typeof p["type"] !== "string") {
        throw new ModuleError(n, `descriptor: property '${named(n, `a property of '${cn}'`, p)}' needs a 'type'`);
      }
    }
    const ev = c["events"];
    if (ev !== undefined && !(Array.isArray(ev) && ev.every((e) => typeof e === "string"))) {
      throw new ModuleError(n, `descriptor: class '${cn}' 'events' must be an array of names`);
    }
  }
  for (const t of list(n, json, "complexTypes")) {
    const tn = named(n, "a complex type", t);
    if (t["typeFormat"] !== "ENUM" && t["typeFormat"] !== "REGISTER") {
      throw new ModuleError(n, `descriptor: complex type '${tn}' 'typeFormat' must be ENUM or REGISTER`);
    }
  }
  for (const e of list(n, json, "events")) {
    named(n, "an event", e);
    list(n, e, "properties");
  }
}
