/**
 * A private PostgreSQL cluster for tests (Debian package `postgresql`, binaries in /usr/lib/postgresql/<v>/bin).
 *
 * {@link startPostgres} runs `initdb` in a fresh temp dir owned by the `postgres` user (via `runuser` when the
 * tests run as root, since PostgreSQL refuses to run as root), starts the server with `pg_ctl -w` listening only
 * on 127.0.0.1 on a free port with its unix socket inside the temp dir, and returns a connection URL. `stop()`
 * stops it (`pg_ctl stop -m fast`, then SIGKILL of the postmaster if that fails) and removes the directory; a
 * process `exit` hook kills a cluster a crashed test left running.
 */
import { execFile } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { freeTcpPort } from "./ports.js";

export interface TestPostgres {
  host: "127.0.0.1";
  port: number;
  /** Superuser `postgres`, trust authentication, database `postgres`. */
  url: string;
  dir: string;
  stop(): Promise<void>;
}

/** The newest /usr/lib/postgresql/<version>/bin that has initdb. */
export function postgresBin(): string {
  const base = "/usr/lib/postgresql";
  const versions = existsSync(base)
    ? readdirSync(base)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, "bin", "initdb")))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions[0] === undefined) {
    throw new Error("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)");
  }
  return join(base, versions[0], "bin");
}

const isRoot = (): boolean => userInfo().uid === 0;

function run(bin: string, args: string[], timeoutMs: number): Promise<string> {
  const [cmd, argv] = isRoot() ? ["runuser", ["-u", "postgres", "--", bin, ...args]] : [bin, args];
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { timeout: timeoutMs, cwd: "/" }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`${bin} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      } else {
        resolve(stdout);
      }
    });
  });
}

function postmasterPid(data: string): number | null {
  try {
    const pid = Number(readFileSync(join(data, "postmaster.pid"), "utf8").split("\n")[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Starts a throw-away cluster; always call `stop()` (e.g. in `t.teardown`). */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), "korus-pg-"));
  if (isRoot()) {
    const uid = Number((await execFileText("id", ["-u", "postgres"])).trim());
    const gid = Number((await execFileText("id", ["-g", "postgres"])).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, "data");
  const onExit = (): void => {
    const pid = postmasterPid(data);
    if (pid !== null) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  };
  process.once("exit", onExit);
  const cleanup = (): void => {
    onExit();
    process.removeListener("exit", onExit);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await run(join(bin, "initdb"), ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"], 60_000);
    let port = 0;
    for (let attempt = 0; ; attempt++) {
      port = await freeTcpPort();
      const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=20`;
      try {
        await run(
          join(bin, "pg_ctl"),
          ["-D", data, "-o", opts, "-l", join(dir, "log"), "-w", "-t", "30", "start"],
          40_000,
        );
        break;
      } catch (err) {
        if (attempt >= 2) {
          throw err;
        }
      }
    }
    let stopped = false;
    return {
      host: "127.0.0.1",
      port,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      dir,
      stop: async () => {
        if (stopped) {
          return;
        }
        stopped = true;
        try {
          await run(join(bin, "pg_ctl"), ["-D", data, "-m", "fast", "-w", "-t", "20", "stop"], 30_000);
        } catch {
          // fall through to SIGKILL in cleanup
        }
        cleanup();
      },
    };
  } catch (err) {
    cleanup();
    throw err;
  }
}

function execFileText(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout) => {
      if (err !== null) {
        reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}`));
      } else {
        resolve(stdout);
      }
    });
  });
}
