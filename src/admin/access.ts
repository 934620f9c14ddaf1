/**
 * Who may use the admin console (issue 16 §2): a client address on loopback or inside `admin.allowNetworks`, which
 * then presents the admin token (`admin.token`) either as `Authorization: Bearer <token>` or through a login: `POST
 * /admin/api/login` with the token in the body sets an HttpOnly, SameSite=Strict session cookie (so `<audio>` and
 * downloads work without the token in a URL).
 *
 * The token is compared by its SHA-256 digest with `timingSafeEqual` (as src/rpc/auth.ts does). Sessions are kept
 * by the digest of their random id, at most {@link MAX_SESSIONS} (the oldest goes first), each for
 * {@link SESSION_TTL_MS}. An address that sends {@link MAX_LOGIN_FAILURES} wrong tokens within a minute is
 * refused (429) for the rest of that minute.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { BlockList, isIP } from "node:net";
import { isLoopbackAddress } from "../rpc/auth.js";

export const SESSION_COOKIE = "korus_admin";
export const MAX_SESSIONS = 32;
export const SESSION_TTL_MS = 12 * 3600_000;
/** Wrong tokens one address may try per {@link FAILURE_WINDOW_MS}; further logins get 429 until the window ends. */
export const MAX_LOGIN_FAILURES = 10;
export const FAILURE_WINDOW_MS = 60_000;
/** Addresses whose failures are remembered at most (the oldest is forgotten first). */
const MAX_FAILING_ADDRESSES = 1024;

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** `networks` (IPv4 CIDRs, validated by the config schema) as a BlockList. */
export function networkList(networks: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of networks) {
    const [addr = "", bits = "32"] = cidr.split("/");
    list.addSubnet(addr, Number(bits), "ipv4");
  }
  return list;
}

/** True when a client at `address` may reach the console: loopback, or inside `allowed`. */
export function sourceAllowed(address: string, allowed: BlockList): boolean {
  if (isLoopbackAddress(address)) {
    return true;
  }
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  const family = isIP(a);
  return family !== 0 && allowed.check(a, family === 6 ? "ipv6" : "ipv4");
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

export class AdminAccess {
  readonly #token: Buffer;
  readonly #networks: BlockList;
  readonly #now: () => number;
  /** Session id digest (hex) → expiry (epoch ms), oldest first. */
  readonly #sessions = new Map<string, number>();
  /** Client address → wrong tokens since `since` (epoch ms). */
  readonly #failures = new Map<string, { count: number; since: number }>();

  constructor(token: string, allowNetworks: readonly string[], now: () => number = Date.now) {
    this.#token = digest(token);
    this.#networks = networkList(allowNetworks);
    this.#now = now;
  }

  /** Whether the request comes from an address that may use the console. */
  allowedSource(req: IncomingMessage): boolean {
    return sourceAllowed(req.socket.remoteAddress ?? "", this.#networks);
  }

  /** Whether `presented` is the admin token (constant time in the token's content). */
  tokenMatches(presented: string | undefined): boolean {
    if (presented === undefined || presented === "" || presented.length > 4096) {
      return false;
    }
    return timingSafeEqual(digest(presented), this.#token);
  }

  /** True when `address` sent too many wrong tokens lately: its logins are refused without a look at the token. */
  throttled(address: string): boolean {
    const failed = this.#failures.get(address);
    if (failed !== undefined && this.#now() - failed.since >= FAILURE_WINDOW_MS) {
      this.#failures.delete(address);
      return false;
    }
    return failed !== undefined && failed.count >= MAX_LOGIN_FAILURES;
  }

  /**
   * A new session for a client that presented the right token: the cookie value; null for a wrong token, or while
   * `address` is {@link throttled}.
   */
  login(presented: string | undefined, address = ""): string | null {
    if (this.throttled(address)) {
      return null;
    }
    const now = this.#now();
    const failed = this.#failures.get(address);
    if (!this.tokenMatches(presented)) {
      if (failed === undefined) {
        if (this.#failures.size >= MAX_FAILING_ADDRESSES) {
          const oldest = this.#failures.keys().next().value;
          if (oldest !== undefined) {
            this.#failures.delete(oldest);
          }
        }
        this.#failures.set(address, { count: 1, since: now });
      } else {
        failed.count++;
      }
      return null;
    }
    this.#expire();
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) {
        break;
      }
      this.#sessions.delete(oldest);
    }
    const id = randomBytes(32).toString("base64url");
    this.#sessions.set(digest(id).toString("hex"), this.#now() + SESSION_TTL_MS);
    return id;
  }

  logout(req: IncomingMessage): void {
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id !== undefined) {
      this.#sessions.delete(digest(id).toString("hex"));
    }
  }

  /** Whether the request carries the admin token (bearer header) or a live session cookie. */
  authenticated(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (typeof header === "string" && header !== "") {
      // Never `?access_token=`: the console keeps tokens out of URLs (and so out of logs and histories).
      return this.tokenMatches(/^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1]);
    }
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (id === undefined || id.length > 64) {
      return false;
    }
    const key = digest(id).toString("hex");
    const expiry = this.#sessions.get(key);
    if (expiry === undefined) {
      return false;
    }
    if (expiry <= this.#now()) {
      this.#sessions.delete(key);
      return false;
    }
    return true;
  }

  get sessions(): number {
    return this.#sessions.size;
  }

  #expire(): void {
    const now = this.#now();
    for (const [k, exp] of this.#sessions) {
      if (exp <= now) {
        this.#sessions.delete(k);
      }
    }
  }
}
