/**
 * Who may use the control plane (issue 9, "a control plane that keeps strangers out"):
 *
 * - `kurento.auth` resolves to "none" (KMS behaviour: anyone who reaches the port) or "tokens" (every WebSocket
 *   upgrade, and the admin routes, present one application's token as `Authorization: Bearer <token>` or
 *   `?access_token=<token>`, which kurento-client sends when given the `access_token` option).
 * - "auto" is "none" on a loopback-only listener, else "tokens" when tokens are configured, else "none" with a loud
 *   warning at start-up ({@link resolveAuth}).
 *
 * Tokens are compared by their SHA-256 digests with `timingSafeEqual`, against every configured token, so the time
 * taken tells nothing about how much of a guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { isIP } from "node:net";

export interface TokenEntry {
  application: string;
  token: string;
}

export interface ResolvedAuth {
  mode: "none" | "tokens";
  /** True when the listener is reachable from other hosts and nothing keeps strangers out: warn loudly. */
  exposed: boolean;
}

/** True for an address of this host only: 127.0.0.0/8, ::1 and their IPv4-mapped forms. */
export function isLoopbackAddress(address: string): boolean {
  const a = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(a) === 4) {
    return a.startsWith("127.");
  }
  return a === "::1";
}

/** True when a listener bound to `host` is reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || isLoopbackAddress(host);
}

/** Resolves `kurento.auth` for a listener on `host` with `tokens` configured. */
export function resolveAuth(
  auth: "auto" | "none" | "tokens",
  host: string,
  tokens: readonly TokenEntry[],
): ResolvedAuth {
  const loopback = isLoopbackHost(host);
  const mode = auth === "auto" ? (loopback || tokens.length === 0 ? "none" : "tokens") : auth;
  return { mode, exposed: mode === "none" && !loopback };
}

const digest = (s: string): Buffer => createHash("sha256").update(s, "utf8").digest();

/** The bearer token a request presents: the Authorization header first, else the `access_token` query parameter. */
export function presentedToken(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === "string") {
    const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
    if (m?.[1] !== undefined) {
      return m[1];
    }
  }
  const url = req.url ?? "";
  const q = url.indexOf("?");
  if (q < 0) {
    return undefined;
  }
  const t = new URLSearchParams(url.slice(q + 1)).get("access_token");
  return t === null || t === "" ? undefined : t;
}

export class TokenAuth {
  readonly mode: "none" | "tokens";
  readonly #tokens: { application: string; digest: Buffer }[];

  constructor(mode: "none" | "tokens", tokens: readonly TokenEntry[]) {
    this.mode = mode;
    this.#tokens = tokens.map((t) => ({ application: t.application, digest: digest(t.token) }));
  }

  /**
   * The application `req` authenticates as: "" when authentication is off, the token's application, or null when
   * the request must be refused (no token, or an unknown one).
   */
  authenticate(req: IncomingMessage): string | null {
    if (this.mode === "none") {
      return "";
    }
    const token = presentedToken(req);
    if (token === undefined || token.length > 4096) {
      return null;
    }
    const d = digest(token);
    let found: string | null = null;
    for (const t of this.#tokens) {
      if (timingSafeEqual(d, t.digest) && found === null) {
        found = t.application;
      }
    }
    return found;
  }
}
