/**
 * The SDK types a module author gets from an installed Korus (issue 10 §2, docs/modules.md §1): `korus/sdk` (worker
 * side) and `korus/sdk/control` (control side) resolve through package.json `exports` to the declarations
 * `npm run build` emits (tsconfig.sdk.json). The example module's JS, copied to a folder outside the repository
 * whose `node_modules/korus` is a link to this checkout, is type-checked against them (`// @ts-check`, `checkJs`),
 * so the documented API cannot drift from the real one. Needs `npm run build` first.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { ROOT } from "../helpers/server.js";

/** The compiler's module itself: tap's child-process tracking would load the extension-less `bin/tsc` as CommonJS. */
const TSC = path.join(ROOT, "node_modules/typescript7/lib/tsc.js");
const EXAMPLE = path.join(ROOT, "examples/korus-module-audiolevel");

/** A module folder next to `node_modules/korus`, with the example's files and a checkJs tsconfig. */
function authorFolder(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), "korus-sdk-types-"));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(path.join(root, "node_modules"));
  symlinkSync(ROOT, path.join(root, "node_modules/korus"), "dir");
  const dir = path.join(root, "korus-module-audiolevel");
  cpSync(EXAMPLE, dir, { recursive: true });
  const compilerOptions = {
    module: "NodeNext",
    moduleResolution: "NodeNext",
    target: "ES2022",
    allowJs: true,
    checkJs: true,
    noEmit: true,
    strict: true,
    skipLibCheck: true,
    types: ["node"],
    typeRoots: [path.join(ROOT, "node_modules/@types")],
  };
  writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions, include: ["*.js"] }));
  return dir;
}

const tsc = (dir: string): { status: number | null; output: string } => {
  const r = spawnSync(process.execPath, [TSC, "-p", path.join(dir, "tsconfig.json")], {
    cwd: dir,
    encoding: "utf8",
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
};

t.test("the example module's JS type-checks against korus/sdk as an installed package", async (t) => {
  t.ok(existsSync(path.join(ROOT, "dist/types/media/sdk/index.d.ts")), "npm run build emitted the SDK declarations");
  const dir = authorFolder();
  const ok = tsc(dir);
  t.equal(ok.status, 0, `tsc --checkJs passes on worker.js and control.js\n${ok.output}`);

  // The check is real: a misuse of either side's API is an error naming the SDK's types.
  writeFileSync(
    path.join(dir, "misuse.js"),
    [
      "// @ts-check",
      '/** @param {import("korus/sdk").WorkerSdk} sdk */',
      'export default function register(sdk) { sdk.registerElment("X", sdk.Element); }',
      '/** @param {import("korus/sdk/control").ControlApi} api */',
      'export function control(api) { return api.invoke("id", "op", 3); }',
      "",
    ].join("\n"),
  );
  const bad = tsc(dir);
  t.not(bad.status, 0, "a misuse fails the check");
  t.match(
    bad.output,
    /misuse\.js\(3,\d+\): error TS2551: Property 'registerElment' does not exist on type 'WorkerSdk'/,
  );
  t.match(bad.output, /misuse\.js\(5,\d+\): error TS2345: .*'JsonObject'/);
});
