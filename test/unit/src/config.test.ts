/**
 * Configuration: defaults, environment overrides (public contract), and start-up validation that names the field.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import t from "tap";
import { configPathFromArgs, loadConfig } from "../../../src/config/load.js";
import { ConfigError, DEFAULT_CONFIG, validateConfig } from "../../../src/config/schema.js";

const dir = mkdtempSync(join(tmpdir(), "korus-config-"));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
/** The field a ConfigError names, or "no error". */
const fieldOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return err instanceof ConfigError ? err.field : `not a ConfigError: ${String(err)}`;
  }
  return "no error";
};
const DEFAULT_YAML = fileURLToPath(new URL("../../../config/default.yaml", import.meta.url));

t.test("config/default.yaml equals the built-in defaults", async (t) => {
  t.same(loadConfig(DEFAULT_YAML, {}), DEFAULT_CONFIG);
});

t.test("KORUS_* environment variables override the file", async (t) => {
  const cfg = loadConfig(DEFAULT_YAML, {
    KORUS_WS_PORT: "9999",
    KORUS_SIP_PORT: "5070",
    KORUS_RTP_MIN: "30000",
    KORUS_RTP_MAX: "30999",
    KORUS_DATA_DIR: "/tmp/korus-data",
    KORUS_LOG_LEVEL: "debug",
    KORUS_MEDIA_WORKERS: "3",
  });
  t.equal(cfg.server.port, 9999);
  t.equal(cfg.sip.port, 5070);
  t.same(cfg.rtp, { portMin: 30000, portMax: 30999 });
  t.equal(cfg.data.dir, "/tmp/korus-data");
  t.equal(cfg.log.level, "debug");
  t.equal(cfg.media.workers, 3);
  t.equal(
    fieldOf(() => loadConfig(DEFAULT_YAML, { KORUS_WS_PORT: "eighty" })),
    "server.port",
  );
});

t.test("validation names the field and the reason", async (t) => {
  t.throws(
    () => validateConfig({ server: { port: 70000 } }),
    new ConfigError("server.port", "must be an integer from 0 to 65535, got 70000"),
  );
  t.equal(
    fieldOf(() => validateConfig({ log: { level: "loud" } })),
    "log.level",
  );
  t.equal(
    fieldOf(() => validateConfig({ webrtc: { interfaces: ["not-an-ip"] } })),
    "webrtc.interfaces[0]",
  );
  t.equal(
    fieldOf(() => validateConfig({ servr: {} })),
    "servr",
  );
  t.equal(
    fieldOf(() => validateConfig({ server: { prot: 1 } })),
    "server.prot",
  );
  t.equal(
    fieldOf(() => validateConfig({ rtp: { portMin: 40000, portMax: 40001 } })),
    "rtp.portMax",
  );
  t.throws(() => loadConfig(file("bad.yaml", "server: [1, 2"), {}), ConfigError);
  t.throws(() => loadConfig(join(dir, "missing.yaml"), {}), ConfigError);
});

t.test("--config FILE selects the file", async (t) => {
  t.equal(configPathFromArgs(["--config", "a.yaml"], "d.yaml"), "a.yaml");
  t.equal(configPathFromArgs(["--config=b.yaml"], "d.yaml"), "b.yaml");
  t.equal(configPathFromArgs([], "d.yaml"), "d.yaml");
  t.throws(() => configPathFromArgs(["--config"], "d.yaml"), ConfigError);
});

t.test("the server exits non-zero on an invalid config, naming the field", async (t) => {
  const main = fileURLToPath(new URL("../../../dist/src/main.js", import.meta.url));
  const bad = file("invalid.yaml", "media:\n  workers: -1\n");
  const r = spawnSync(process.execPath, [main, "--config", bad], { encoding: "utf8", timeout: 20_000 });
  t.equal(r.status, 2);
  t.match(r.stderr, /media\.workers: must be an integer from 0 to 256, got -1/);
});

t.test("hardening keys: auth tokens, WSS files, file roots, HTTP allow-list, SIP connection limits", async (t) => {
  const ok = validateConfig({
    kurento: { auth: "tokens", tokens: [{ application: "app-1", token: "0123456789abcdef" }] },
  });
  t.same(ok.kurento.tokens, [{ application: "app-1", token: "0123456789abcdef" }]);
  t.equal(
    fieldOf(() => validateConfig({ kurento: { auth: "tokens" } })),
    "kurento.tokens",
  );
  t.equal(
    fieldOf(() => validateConfig({ kurento: { tokens: [{ application: "a b", token: "0123456789abcdef" }] } })),
    "kurento.tokens[0].application",
  );
  t.equal(
    fieldOf(() => validateConfig({ kurento: { tokens: [{ application: "a", token: "short" }] } })),
    "kurento.tokens[0].token",
  );
  const dup = { application: "a", token: "0123456789abcdef" };
  t.equal(
    fieldOf(() => validateConfig({ kurento: { tokens: [dup, { ...dup, application: "b" }] } })),
    "kurento.tokens[1].token",
  );
  t.equal(
    fieldOf(() => validateConfig({ kurento: { tokens: [{ ...dup, extra: 1 }] } })),
    "kurento.tokens[0].extra",
  );
  t.equal(
    fieldOf(() => validateConfig({ kurento: { isolation: "none" } })),
    "kurento.isolation",
  );
  t.equal(
    fieldOf(() => validateConfig({ server: { tlsCertFile: "/x.pem" } })),
    "server.tlsKeyFile",
  );
  t.equal(
    fieldOf(() => validateConfig({ httpMedia: { allowNetworks: ["10.0.0.0"] } })),
    "httpMedia.allowNetworks[0]",
  );
  t.equal(
    fieldOf(() => validateConfig({ httpMedia: { allowHosts: ["http://x"] } })),
    "httpMedia.allowHosts[0]",
  );
  t.same(validateConfig({ httpMedia: { allowHosts: ["*.example.org"] } }).httpMedia.allowHosts, ["*.example.org"]);
  t.equal(
    fieldOf(() => validateConfig({ files: { mediaRoots: [""] } })),
    "files.mediaRoots[0]",
  );
  t.equal(
    fieldOf(() => validateConfig({ sip: { connections: { maxPerSource: 0 } } })),
    "sip.connections.maxPerSource",
  );
  t.equal(validateConfig({ sip: { connections: { idleTimeoutS: 30 } } }).sip.connections.maxTotal, 4096);
});
