/**
 * Import this module FIRST (before tap) in a test file that sends foreign or hostile traffic to a live server:
 *
 * ```ts
 * import "../helpers/loopbackNamespace.js";
 * import t from "tap";
 * ```
 *
 * The first time the file runs, this module re-executes the same file inside a private network namespace that has
 * only a loopback interface (`unshare -n`, then `ip link set lo up`), with the same Node flags (tap's TypeScript
 * loader), arguments and environment, and with stdout/stderr passed through so tap reads the child's TAP stream.
 * The outer process then exits with the child's code and never evaluates the rest of the file: ES modules evaluate
 * sibling imports in order, and this module's top-level await does not settle in the outer process.
 *
 * Inside the namespace (`KORUS_NETNS=1`) it does nothing. Nothing a test does there can reach another address, and
 * fixed ports cannot collide with anything else on the machine.
 */
import { spawn } from "node:child_process";

const MARK = "KORUS_NETNS";

/** True when this process runs inside the loopback-only namespace made by this module. */
export const inLoopbackNamespace = process.env[MARK] === "1";

if (!inLoopbackNamespace) {
  const script = process.argv[1];
  if (script === undefined) {
    throw new Error("loopbackNamespace: no script path in process.argv");
  }
  const args = ["-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', process.execPath];
  args.push(...process.execArgv, script, ...process.argv.slice(2));
  const code = await new Promise<number>((resolve) => {
    const child = spawn("unshare", args, { stdio: "inherit", env: { ...process.env, [MARK]: "1" } });
    const forward = (sig: NodeJS.Signals): void => {
      child.kill(sig);
    };
    process.on("SIGTERM", forward);
    process.on("SIGINT", forward);
    child.on("error", (err) => {
      process.stderr.write(`loopbackNamespace: cannot run unshare (${err.message}); run the tests as root\n`);
      resolve(1);
    });
    child.on("exit", (c, signal) => resolve(c ?? (signal === null ? 1 : 128)));
  });
  process.exit(code);
}
