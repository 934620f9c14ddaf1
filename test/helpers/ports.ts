/**
 * Port pickers for tests that start real servers. Everything binds 127.0.0.1 only.
 *
 * - {@link freeTcpPort}: binds port 0, reads the port the kernel chose, closes. A tiny race remains until the
 *   caller binds it; {@link startKorus} retries on EADDRINUSE.
 * - {@link reserveRtpRange}: a UDP range for one server, unique across concurrently running test processes. The
 *   ranges are slots of {@link RTP_SLOT_SIZE} ports in 20000–32599, below Linux's ephemeral range (32768–60999)
 *   so client sockets bound to port 0 never land in a server's range. A slot is claimed with an exclusive lock
 *   file in `$TMPDIR/korus-test-rtp/` holding the owner's pid (a dead owner's lock is taken over), then probed by
 *   binding every port of it.
 */
import dgram from "node:dgram";
import { mkdirSync, openSync, readFileSync, rmSync, writeSync, closeSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export const RTP_BASE = 20_000;
export const RTP_SLOT_SIZE = 200;
export const RTP_SLOTS = 63; // 20000 .. 32599

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function udpPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = dgram.createSocket("udp4");
    s.once("error", () => {
      s.close();
      resolve(false);
    });
    s.bind({ address: "127.0.0.1", port, exclusive: true }, () => s.close(() => resolve(true)));
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const LOCK_DIR = path.join(os.tmpdir(), "korus-test-rtp");

function tryLock(slot: number): boolean {
  mkdirSync(LOCK_DIR, { recursive: true });
  const file = path.join(LOCK_DIR, `slot-${slot}.lock`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw err;
      }
      let owner = NaN;
      try {
        owner = Number(readFileSync(file, "utf8"));
      } catch {
        // Removed meanwhile: try again.
      }
      if (Number.isInteger(owner) && owner > 0 && pidAlive(owner)) {
        return false;
      }
      rmSync(file, { force: true });
    }
  }
  return false;
}

export interface RtpRange {
  min: number;
  max: number;
  /** Gives the slot back (also done automatically when the process exits). */
  release(): void;
}

const held = new Set<number>();
process.once("exit", () => {
  for (const slot of held) {
    rmSync(path.join(LOCK_DIR, `slot-${slot}.lock`), { force: true });
  }
});

/** Claims a free RTP slot, starting at one derived from the pid so parallel test files rarely probe the same. */
export async function reserveRtpRange(): Promise<RtpRange> {
  const start = process.pid % RTP_SLOTS;
  for (let i = 0; i < RTP_SLOTS; i++) {
    const slot = (start + i) % RTP_SLOTS;
    if (held.has(slot) || !tryLock(slot)) {
      continue;
    }
    const min = RTP_BASE + slot * RTP_SLOT_SIZE;
    const max = min + RTP_SLOT_SIZE - 1;
    const free = await Promise.all(Array.from({ length: RTP_SLOT_SIZE }, (_, k) => udpPortFree(min + k)));
    if (free.every(Boolean)) {
      held.add(slot);
      return {
        min,
        max,
        release: () => {
          if (held.delete(slot)) {
            rmSync(path.join(LOCK_DIR, `slot-${slot}.lock`), { force: true });
          }
        },
      };
    }
    rmSync(path.join(LOCK_DIR, `slot-${slot}.lock`), { force: true });
  }
  throw new Error("no free RTP port slot for the test server");
}
