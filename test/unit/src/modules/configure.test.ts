/**
 * Modules declare their own configuration section (issue 10 §3): the manifest's `korus.config` names a JSON Schema
 * file, the section is the top-level key named after the module, and configureStart validates it with Korus's own
 * keys, giving each module its value with defaults (src/modules/configure.ts, sectionSchema.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { ConfigError, DEFAULT_CONFIG } from "../../../../src/config/schema.js";
import { registeredSections } from "../../../../src/config/sections.js";
import { loadConfig } from "../../../../src/config/load.js";
import { configureStart, ModuleError, workerModules } from "../../../../src/modules/index.js";
import { sectionSchema } from "../../../../src/modules/sectionSchema.js";
import { validateSection } from "../../../../src/config/sections.js";

const dir = mkdtempSync(path.join(os.tmpdir(), "korus-configure-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const LEVEL_SCHEMA = {
  type: "object",
  properties: {
    period: { type: "integer", minimum: 20, maximum: 10000, default: 200, description: "event period" },
    mode: { enum: ["rms", "peak"], default: "rms" },
    tags: { type: "array", items: { type: "string", minLength: 1 }, default: [] },
    name: { type: "string" },
  },
  required: ["name"],
};

/** A module folder `name` with one filter class; `schema`: the JSON written as its config schema file. */
function mod(name: string, schema?: unknown): string {
  const d = path.join(dir, name);
  mkdirSync(d, { recursive: true });
  const kmd = {
    name,
    version: "1.0.0",
    remoteClasses: [
      {
        name: `${name}Filter`,
        extends: "Filter",
        constructor: { params: [{ name: "mediaPipeline", type: "MediaPipeline" }] },
      },
    ],
    complexTypes: [],
    events: [],
  };
  writeFileSync(path.join(d, "m.kmd.json"), JSON.stringify(kmd));
  writeFileSync(path.join(d, "worker.js"), "export default function register() {}\n");
  const korus: Record<string, unknown> = { kmd: "./m.kmd.json", worker: "./worker.js" };
  if (schema !== undefined) {
    writeFileSync(path.join(d, "config.schema.json"), typeof schema === "string" ? schema : JSON.stringify(schema));
    korus["config"] = "./config.schema.json";
  }
  writeFileSync(path.join(d, "package.json"), JSON.stringify({ name, korus }));
  return d;
}

const messageOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return `${(err as Error).name}: ${(err as Error).message}`;
  }
  return "no error";
};

t.test("a module's section is validated with Korus's keys and handed to the module with its defaults", async (t) => {
  const level = mod("level", LEVEL_SCHEMA);
  const plain = mod("plain");
  const { config, modules } = configureStart(
    { modules: [level, plain], log: { level: "warn" }, level: { period: 500, name: "x" } },
    dir,
  );
  t.equal(config.log.level, "warn", "Korus's own keys are validated as before");
  t.same(config.modules, [level, plain]);
  t.notOk("level" in config, "KorusConfig holds only Korus's sections");
  t.same(modules[0]?.settings, { period: 500, mode: "rms", tags: [], name: "x" }, "the value with its defaults");
  t.same(modules[1]?.settings, {}, "a module without a section gets {}");
  t.same(
    workerModules(modules).map((m) => m.settings),
    [{ period: 500, mode: "rms", tags: [], name: "x" }, {}],
    "the workers receive the values (workerData)",
  );
  t.same(registeredSections(), [], "sections are registered for the call only");
  const again = configureStart({ modules: [level], level: { name: "y" } }, dir);
  t.same(again.modules[0]?.settings, { period: 200, mode: "rms", tags: [], name: "y" }, "it runs again");
  t.same(configureStart(DEFAULT_CONFIG, dir).modules, [], "a validated KorusConfig is a document too");
});

t.test("an invalid section refuses start with its key path, like any other config error", async (t) => {
  const level = mod("level", LEVEL_SCHEMA);
  const refuse = (doc: Record<string, unknown>): string =>
    messageOf(() => configureStart({ modules: [level], ...doc }, dir));
  t.equal(
    refuse({ level: { period: 5, name: "x" } }),
    "ConfigError: config: level.period: must be an integer from 20 to 10000, got 5",
  );
  t.equal(
    refuse({ level: { name: "x", perod: 300 } }),
    "ConfigError: config: level.perod: unknown key (known: period, mode, tags, name)",
    "an unknown key in a module's section is refused",
  );
  t.match(refuse({ level: { name: "x", mode: "loud" } }), /^ConfigError: config: level\.mode: /);
  t.match(refuse({ level: { name: "x", tags: [""] } }), /^ConfigError: config: level\.tags\[0\]: /);
  t.match(refuse({}), /^ConfigError: config: level\.name: /, "a required key without a default");
  t.match(refuse({ level: { name: "x" }, servr: {} }), /^ConfigError: config: servr: unknown section/);
  t.match(
    messageOf(() => configureStart({ modules: [mod("plain")], plain: {} }, dir)),
    /^ConfigError: config: plain: unknown section/,
    "a module without a schema has no section",
  );
  t.match(
    messageOf(() => configureStart({ modules: "level" }, dir)),
    /^ConfigError: config: modules: /,
  );
  t.same(registeredSections(), [], "a failed start leaves no section registered");
});

t.test("a bad schema or a taken section name refuses start, naming the module", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["notjson", "{ nope", /module 'notjson': config schema .* is not valid JSON/],
    ["toplist", { type: "array", items: { type: "string" } }, /module 'toplist': config schema: the top must be/],
    [
      "nulltype",
      { type: "object", properties: { a: { type: "null" } } },
      /module 'nulltype': config schema: \.a: type/,
    ],
    ["badprops", { type: "object", properties: [] }, /module 'badprops': config schema: the top: properties/],
  ];
  for (const [name, schema, why] of cases) {
    const err = messageOf(() => configureStart({ modules: [mod(name, schema)] }, dir));
    t.match(err, /^ModuleError: /, name);
    t.match(err, why, name);
  }
  const clash = mod("sip", { type: "object", properties: {} });
  t.match(
    messageOf(() => configureStart({ modules: [clash] }, dir)),
    /^ModuleError: module 'sip': its configuration section 'sip' is a key of Korus's/,
  );
  t.ok(new ModuleError("m", "x") instanceof Error && !(new ModuleError("m", "x") instanceof ConfigError));
});

t.test("sectionSchema keeps JSON Schema's meaning", async (t) => {
  const s = sectionSchema("m", {
    type: "object",
    properties: { open: { type: "object", additionalProperties: true }, n: { type: "number", exclusiveMinimum: 0 } },
  });
  t.same(validateSection("m", s, undefined), {}, "an absent section is {}");
  t.same(validateSection("m", s, { open: { any: 1 } }), { open: { any: 1 } }, "additionalProperties: true is kept");
  t.match(
    messageOf(() => validateSection("m", s, { n: 0 })),
    /^ConfigError: config: m\.n: /,
    "exclusiveMinimum",
  );
  t.same(validateSection("m", s, { n: 0.5 }), { n: 0.5 });
});

t.test("loadConfig (every command's reader) accepts a file with a module's section", async (t) => {
  const level = mod("level", LEVEL_SCHEMA);
  const file = path.join(dir, "korus.yaml");
  writeFileSync(file, `modules: [${JSON.stringify(level)}]\nlevel:\n  name: x\ndata:\n  dir: /tmp/korus-x\n`);
  t.equal(loadConfig(file, {}).data.dir, "/tmp/korus-x");
  writeFileSync(file, "level:\n  name: x\n");
  t.match(
    messageOf(() => loadConfig(file, {})),
    /^ConfigError: config: level: unknown section/,
  );
});
