/**
 * `korus start`, `korus config check FILE` and `korus config print-default`, run as child processes
 * (`node dist/src/cli.js`; run `npm run build` first).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { parse, stringify } from "yaml";
import { validateConfig } from "../../src/config/schema.js";
import { freeTcpPort, reserveRtpRange } from "../helpers/ports.js";

const CLI = fileURLToPath(new URL("../../dist/src/cli.js", import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function korus(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CLI, ...args],
      { env: { PATH: process.env["PATH"], ...env }, timeout: 20_000 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const dir = mkdtempSync(join(tmpdir(), "korus-cli-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const f = join(dir, name);
  writeFileSync(f, text);
  return f;
};

t.test("config print-default prints every key at its default", async (t) => {
  const r = await korus(["config", "print-default"]);
  t.equal(r.code, 0, r.stderr);
  t.same(parse(r.stdout), validateConfig({}), "the YAML is the schema's defaults");
});

t.test("config check prints the effective configuration, secrets masked", async (t) => {
  const f = file(
    "ok.yaml",
    stringify({
      server: { port: 9999 },
      kurento: { auth: "tokens", tokens: [{ application: "app1", token: "very-secret-token-value" }] },
      metrics: { token: "scrape-token-0123" },
    }),
  );
  const r = await korus(["config", "check", f], { KORUS_MEDIA_WORKERS: "3" });
  t.equal(r.code, 0, r.stderr);
  const cfg = parse(r.stdout) as Record<string, Record<string, unknown>>;
  t.equal(cfg["server"]?.["port"], 9999, "from the file");
  t.equal(cfg["server"]?.["host"], "0.0.0.0", "a default filled in");
  t.equal(cfg["media"]?.["workers"], 3, "the environment override applied");
  t.same(cfg["kurento"]?.["tokens"], [{ application: "app1", token: "********" }]);
  t.equal(cfg["metrics"]?.["token"], "********");
  t.notMatch(r.stdout, /very-secret|scrape-token/, "no secret printed");
});

t.test("config check names the bad key and exits 1", async (t) => {
  const bad = await korus(["config", "check", file("bad.yaml", "rtp:\n  portMin: 70000\n")]);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /rtp\.portMin/);
  t.equal(bad.stdout, "");
  const typo = await korus(["config", "check", file("typo.yaml", "server:\n  prot: 1\n")]);
  t.equal(typo.code, 1);
  t.match(typo.stderr, /server\.prot/);
  const yaml = await korus(["config", "check", file("notyaml.yaml", "server: [\n")]);
  t.equal(yaml.code, 1);
  t.match(yaml.stderr, /YAML/);
  const missing = await korus(["config", "check", join(dir, "missing.yaml")]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /cannot read/);
  t.equal((await korus(["config", "check"])).code, 2, "no file: usage");
  t.equal((await korus(["config", "frobnicate"])).code, 2);
  t.equal((await korus(["start", "--bogus"])).code, 2);
});

t.test("korus start --config runs the server until SIGTERM", async (t) => {
  const rtp = await reserveRtpRange();
  t.teardown(() => rtp.release());
  const port = await freeTcpPort();
  const f = file(
    "start.yaml",
    stringify({
      server: { host: "127.0.0.1", port },
      media: { workers: 1 },
      rtp: { portMin: rtp.min, portMax: rtp.max },
      sip: { enabled: false },
      data: { dir: join(dir, "data") },
      log: { level: "info" },
    }),
  );
  const child = spawn(process.execPath, [CLI, "start", "--config", f], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  t.teardown(() => child.kill("SIGKILL"));
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (status !== 200 && Date.now() < deadline) {
    status = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status,
      () => 0,
    );
    await new Promise((r) => setTimeout(r, 100));
  }
  t.equal(status, 200, `healthy on the configured port\n${out}`);
  child.kill("SIGTERM");
  t.equal(await exited, 0, "a clean exit on SIGTERM");
  t.match(out, /shutdown complete/);
});
