/**
 * Module configuration sections (src/config/sections.ts): a module declares its section as a TypeBox schema and gets
 * the typed value with defaults, or the same ConfigError as Korus's own keys.
 */
import { Type } from "@sinclair/typebox";
import t from "tap";
import { ConfigError, DEFAULT_CONFIG, validateConfig } from "../../../../src/config/schema.js";
import {
  registerSection,
  registeredSections,
  unregisterSection,
  validateSection,
} from "../../../../src/config/sections.js";

const AudioLevel = Type.Object(
  {
    intervalMs: Type.Integer({ minimum: 20, maximum: 10_000, default: 200, description: "event period" }),
    thresholdDbov: Type.Number({ minimum: -127, maximum: 0, default: -50, description: "silence below" }),
  },
  { additionalProperties: false, default: {} },
);

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConfigError ? err.message : `not a ConfigError: ${String(err)}`;
  }
  return "no error";
};

t.test("validateSection: typed value with defaults, errors with the path, expected and given", async (t) => {
  const v = validateSection("audioLevel", AudioLevel, { intervalMs: 100 });
  t.same(v, { intervalMs: 100, thresholdDbov: -50 });
  t.same(validateSection("audioLevel", AudioLevel, undefined), { intervalMs: 200, thresholdDbov: -50 });
  t.same(validateSection("audioLevel", AudioLevel, null), { intervalMs: 200, thresholdDbov: -50 }, "null = absent");
  t.same(validateSection("audioLevel", AudioLevel, { intervalMs: null }).intervalMs, 200, "key: null = default");
  t.equal(
    errorOf(() => validateSection("audioLevel", AudioLevel, { intervalMs: 5 })),
    "config: audioLevel.intervalMs: must be an integer from 20 to 10000, got 5",
  );
  t.equal(
    errorOf(() => validateSection("audioLevel", AudioLevel, { interval: 5 })),
    "config: audioLevel.interval: unknown key (known: intervalMs, thresholdDbov)",
  );
  t.equal(
    errorOf(() => validateSection("audioLevel", AudioLevel, 7)),
    "config: audioLevel: must be a mapping, got 7",
  );
  const given = { intervalMs: 300 };
  validateSection("audioLevel", AudioLevel, given);
  t.same(given, { intervalMs: 300 }, "the value as written is not changed");
});

t.test("registerSection: validateConfig accepts and checks the module's key", async (t) => {
  t.equal(
    errorOf(() => validateConfig({ audioLevel: {} })),
    `config: audioLevel: unknown section (known: ${Object.keys(DEFAULT_CONFIG).join(", ")})`,
    "unknown before registration",
  );
  const section = registerSection("audioLevel", AudioLevel);
  t.teardown(() => unregisterSection("audioLevel"));
  t.equal(section.name, "audioLevel");
  t.same(
    registeredSections().map((s) => s.name),
    ["audioLevel"],
  );
  const cfg = validateConfig({ audioLevel: { intervalMs: 500 }, modules: ["korus-audio-level"] });
  t.same(cfg.modules, ["korus-audio-level"]);
  t.notOk("audioLevel" in cfg, "KorusConfig keeps only Korus's own sections");
  t.equal(
    errorOf(() => validateConfig({ audioLevel: { intervalMs: "fast" } })),
    'config: audioLevel.intervalMs: must be an integer from 20 to 10000, got "fast"',
  );
  t.equal(
    errorOf(() => validateConfig({})),
    "no error",
    "an absent module section takes its defaults",
  );
  t.equal(
    errorOf(() => registerSection("audioLevel", AudioLevel)),
    "config: audioLevel: this configuration section is already declared",
  );
  t.equal(
    errorOf(() => registerSection("sip", AudioLevel)),
    "config: sip: this configuration section is already declared",
  );
  t.match(
    errorOf(() => registerSection("bad name", AudioLevel)),
    /^config: bad name: a section name must be/,
  );
  t.ok(unregisterSection("audioLevel"));
  t.notOk(unregisterSection("audioLevel"));
});

t.test("modules: a list of package names or paths, default []", async (t) => {
  t.same(DEFAULT_CONFIG.modules, []);
  t.same(validateConfig({ modules: ["./examples/audio-level", "@acme/korus-filter"] }).modules, [
    "./examples/audio-level",
    "@acme/korus-filter",
  ]);
  t.equal(
    errorOf(() => validateConfig({ modules: "korus-audio-level" })),
    'config: modules: must be a list of package names or paths, got "korus-audio-level"',
  );
  t.equal(
    errorOf(() => validateConfig({ modules: [""] })),
    'config: modules[0]: must be a non-empty string, got ""',
  );
});
