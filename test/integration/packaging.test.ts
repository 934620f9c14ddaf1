/**
 * Packaging (issue 16 §3): the systemd unit passes `systemd-analyze verify` and has the directives the README
 * promises; the Dockerfile is multi-stage and builds (only where a docker daemon answers: `docker info`).
 * Each check skips with a message when its tool is missing.
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const UNIT = join(ROOT, "docs/packaging/korus.service");

const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;

/** The `Key=value` settings of a unit file, by key (repeated keys keep every value). */
function unitSettings(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (m?.[1] !== undefined) {
      out.set(m[1], [...(out.get(m[1]) ?? []), m[2] ?? ""]);
    }
  }
  return out;
}

t.test("the systemd unit", async (t) => {
  const text = readFileSync(UNIT, "utf8");
  const s = unitSettings(text);
  t.same(s.get("Restart"), ["on-failure"]);
  t.same(s.get("KillSignal"), ["SIGTERM"]);
  t.ok(Number(s.get("LimitNOFILE")?.[0]) >= 65536, "LimitNOFILE");
  // The server's own drain deadline is 10 s (src/main.ts): the stop timeout must leave it room.
  t.ok(Number(s.get("TimeoutStopSec")?.[0]) > 10, "TimeoutStopSec longer than the drain");
  t.match(s.get("ExecStart")?.[0] ?? "", /cli\.js start --config /);
  if (!has("systemd-analyze", ["--version"])) {
    t.pass("systemd-analyze verify", { skip: "systemd-analyze is not installed: the unit file is not verified" });
    return;
  }
  const verify = (file: string): { status: number | null; out: string } => {
    const r = spawnSync("systemd-analyze", ["verify", file], { encoding: "utf8", timeout: 30_000 });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const ok = verify(UNIT);
  t.equal(ok.status, 0, `systemd-analyze verify: ${ok.out}`);
  t.notMatch(ok.out, /Unknown key|Failed to parse|unknown/i, "no warning");
  // The check can fail: a unit with a bad setting does not pass.
  const dir = mkdtempSync(join(tmpdir(), "korus-unit-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bad = join(dir, "korus.service");
  writeFileSync(bad, text.replace("ExecStart=/usr/bin/node", "ExecStart=relative/node"));
  t.not(verify(bad).status, 0, "a broken unit fails verification");
});

t.test("the Dockerfile", async (t) => {
  const text = readFileSync(join(ROOT, "Dockerfile"), "utf8");
  t.equal(text.match(/^FROM /gm)?.length, 2, "two stages");
  t.match(text, /npm run build:native/, "the build stage makes the N-API addon");
  t.match(text, /^USER (?!root)\S+/m, "a non-root user");
  t.match(text, /^HEALTHCHECK .*/m);
  t.match(text, /\/health/);
  t.match(text, /^EXPOSE .*8888/m);
  t.match(text, /ffmpeg/);
  t.match(text, /libopus0/);
  t.match(text, /^COPY --from=build \S*src\/admin\/ui /m, "the runtime stage has the console's files (not in dist)");
  const ignore = readFileSync(join(ROOT, ".dockerignore"), "utf8");
  t.match(ignore, /^node_modules$/m);
  t.match(ignore, /^dist$/m);
  if (!has("docker", ["info"])) {
    t.pass("docker build", { skip: "no docker daemon answers `docker info`: the image is not built here" });
    return;
  }
  const tag = `korus-test:${process.pid}`;
  t.teardown(() => spawnSync("docker", ["rmi", "-f", tag], { stdio: "ignore" }));
  const built = await new Promise<{ code: number; out: string }>((resolve) => {
    execFile(
      "docker",
      ["build", "-t", tag, ROOT],
      { timeout: 30 * 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => resolve({ code: err === null ? 0 : 1, out: `${stdout}${stderr}`.slice(-4000) }),
    );
  });
  t.equal(built.code, 0, built.out);
  const help = spawnSync("docker", ["run", "--rm", tag, "config", "print-default"], {
    encoding: "utf8",
    timeout: 120_000,
  });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /^server:/m, "the CLI runs in the image");
});
