/**
 * Server side of SIP digest authentication (RFC 3261 §22.1, §22.4; RFC 2617 §3.2.1–§3.2.3; RFC 7616 §3.3, §3.5;
 * RFC 8760 §2.4): challenge requests, verify credentials.
 *
 * Nonces are stateless: each carries its issue time and a random part, authenticated with HMAC-SHA-256 under a
 * server secret and the realm, so verifying one needs no per-challenge memory and survives a crash-restart with the
 * same secret. A nonce older than `nonceTtlMs` is answered with a fresh challenge carrying `stale=true` (RFC 2617
 * §3.2.1: "the request was rejected because the nonce value was stale", the client retries without asking the user).
 *
 * ```
 * nonce = base64url( issuedAt (8 octets, ms, big-endian) | random (8) | HMAC-SHA-256(secret, issuedAt|random|realm)[0..16) )
 * ```
 *
 * Each challenge also carries an `opaque` derived from the nonce (HMAC again, so still stateless); credentials that
 * return an opaque must return that one (RFC 7616 §3.3: "SHOULD be returned by the client unchanged"), credentials
 * without one are accepted, since RFC 2617 clients may drop it.
 *
 * Replays (RFC 7616 §5.12, RFC 2617 §4.5) are refused by nonce-count tracking: for each nonce seen with `qop`, the
 * highest `nc` accepted so far is kept in a bounded map ordered by last use. When the map is full the least recently
 * used entry is evicted and its issue time becomes a watermark: a nonce issued at or before the watermark that is no
 * longer tracked is answered `stale=true`, so eviction can never re-open a replay window; the client just fetches a
 * new nonce. Memory is therefore O(maxTrackedNonces) whatever the traffic.
 * @see https://www.rfc-editor.org/rfc/rfc2617#section-3.2.1
 * @see https://www.rfc-editor.org/rfc/rfc7616#section-3.3
 */

import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { SipParseError } from "../errors.js";
import { AuthHeader } from "../message/AuthHeader.js";
import { createResponse } from "../message/responses.js";
import { parseUri } from "../message/uri.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { computeDigestResponse, parseDigestAlgorithm, type DigestAlgorithm } from "./digest.js";
import { UnsupportedDigestAlgorithmError } from "./errors.js";

/** What the credential store returns for a user: a password, or the stored `H(username:realm:password)` per hash. */
export type StoredSecret =
  | { readonly password: string }
  | { readonly ha1: Readonly<Partial<Record<"MD5" | "SHA-256" | "SHA-512-256", string>>> };

/** Options of a {@link DigestServer}. */
export interface DigestServerOptions {
  /** The realm announced in challenges (RFC 3261 §22.1: typically the host or domain). */
  readonly realm: string;
  /** Secret for nonce signatures, at least 16 octets. Share it between processes that must accept each other's nonces. */
  readonly secret: Uint8Array;
  /** Looks a user up; `undefined` for an unknown user (answered exactly like a wrong password). */
  readonly lookup: (username: string, realm: string) => StoredSecret | undefined;
  /** Algorithms offered, in order of preference (default `["SHA-256", "MD5"]`, RFC 8760 §2.4 order). */
  readonly algorithms?: readonly DigestAlgorithm[];
  /** Nonce lifetime in ms (default 300 000). */
  readonly nonceTtlMs?: number;
  /** Bound on nonces whose nonce count is tracked (default 10 000). */
  readonly maxTrackedNonces?: number;
  /** Challenge with 407/Proxy-Authenticate instead of 401/WWW-Authenticate (RFC 3261 §22.3). */
  readonly proxy?: boolean;
  /** Status for wrong credentials (default 403; 401 re-challenges instead). */
  readonly rejectStatus?: 401 | 403;
  /** Accept RFC 2069 answers without qop (default false: they cannot be protected against replay). */
  readonly allowNoQop?: boolean;
  /** Wall clock in ms (default `Date.now`); nonces carry absolute times so they stay valid across restarts. */
  readonly now?: () => number;
}

/** Why a request was not authenticated. */
export type DigestFailure =
  | "missing" // no credentials for this realm
  | "malformed" // credentials unparsable or missing a field
  | "bad-nonce" // nonce not issued by us (bad signature or format)
  | "stale" // nonce expired or no longer tracked
  | "replay" // nc not above the last accepted one
  | "uri-mismatch" // digest-uri differs from the Request-URI (RFC 2617 §3.2.2.5)
  | "algorithm" // an algorithm we did not offer
  | "qop" // qop missing or not "auth"/"auth-int"
  | "unknown-user"
  | "wrong-response";

/** The outcome of {@link DigestServer.authenticate}. */
export type DigestVerdict =
  | { readonly ok: true; readonly username: string; readonly realm: string; readonly algorithm: DigestAlgorithm }
  | { readonly ok: false; readonly reason: DigestFailure; readonly response: SipResponse };

const NONCE_BYTES = 32;
const MAC_BYTES = 16;

export class DigestServer {
  readonly #realm: string;
  readonly #secret: Uint8Array;
  readonly #lookup: DigestServerOptions["lookup"];
  readonly #algorithms: readonly DigestAlgorithm[];
  readonly #ttl: number;
  readonly #maxTracked: number;
  readonly #proxy: boolean;
  readonly #rejectStatus: 401 | 403;
  readonly #allowNoQop: boolean;
  readonly #now: () => number;
  /** nonce → highest accepted nc; Map order is least recently used first. */
  readonly #counts = new Map<string, { readonly issuedAt: number; nc: number }>();
  #watermark = -Infinity;

  /** @throws {TypeError} naming the bad option. */
  constructor(options: DigestServerOptions) {
    if (options.secret.length < 16) {
      throw new TypeError("digest server: secret must be at least 16 octets");
    }
    if (options.realm.length === 0 || /["\\\r\n]/.test(options.realm)) {
      throw new TypeError("digest server: realm must be non-empty without quotes, backslashes or line breaks");
    }
    this.#realm = options.realm;
    this.#secret = options.secret;
    this.#lookup = options.lookup;
    this.#algorithms = options.algorithms ?? ["SHA-256", "MD5"];
    if (this.#algorithms.length === 0) {
      throw new TypeError("digest server: algorithms must not be empty");
    }
    this.#ttl = options.nonceTtlMs ?? 300_000;
    this.#maxTracked = options.maxTrackedNonces ?? 10_000;
    this.#proxy = options.proxy ?? false;
    this.#rejectStatus = options.rejectStatus ?? 403;
    this.#allowNoQop = options.allowNoQop ?? false;
    this.#now = options.now ?? Date.now;
  }

  /** The realm. */
  get realm(): string {
    return this.#realm;
  }

  /** Number of nonces whose nonce count is being tracked (bounded by `maxTrackedNonces`). */
  get trackedNonces(): number {
    return this.#counts.size;
  }

  /** Header carrying challenges / credentials in this mode. */
  get #challengeHeader(): string {
    return this.#proxy ? "Proxy-Authenticate" : "WWW-Authenticate";
  }

  get #credentialsHeader(): string {
    return this.#proxy ? "Proxy-Authorization" : "Authorization";
  }

  /** A fresh signed nonce. */
  createNonce(): string {
    const buf = Buffer.alloc(NONCE_BYTES);
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.#now()))), 0);
    randomBytes(8).copy(buf, 8);
    this.#mac(buf.subarray(0, 16)).copy(buf, 16);
    return buf.toString("base64url");
  }

  #mac(data: Uint8Array): Buffer {
    return createHmac("sha256", this.#secret).update(data).update(this.#realm).digest().subarray(0, MAC_BYTES);
  }

  /** Issue time of a nonce we signed, or undefined when it is not ours. */
  #nonceIssuedAt(nonce: string): number | undefined {
    if (nonce.length !== 43 || !/^[A-Za-z0-9_-]+$/.test(nonce)) {
      return undefined;
    }
    const buf = Buffer.from(nonce, "base64url");
    if (buf.length !== NONCE_BYTES || !timingSafeEqual(buf.subarray(16), this.#mac(buf.subarray(0, 16)))) {
      return undefined;
    }
    return Number(buf.readBigUInt64BE(0));
  }

  /**
   * A 401 (or 407 in proxy mode) carrying one challenge per configured algorithm, strongest first (RFC 8760 §2.4),
   * each with `qop="auth"`, and `stale=true` when asked. The To tag is derived from the request so retransmissions of
   * the same request get the same tag (RFC 3261 §8.2.7 for stateless UASs).
   */
  challenge(request: SipRequest, stale = false): SipResponse {
    const response = createResponse(request, this.#proxy ? 407 : 401, { toTag: this.#statelessTag(request) });
    const nonce = this.createNonce();
    const lines = this.#algorithms.map((algorithm) => {
      const h = new AuthHeader("Digest");
      h.set("realm", this.#realm);
      h.set("nonce", nonce);
      h.set("algorithm", algorithm, false);
      h.set("qop", "auth", true);
      h.set("opaque", this.#opaque(nonce));
      if (stale) {
        h.set("stale", "true", false);
      }
      return h.toString();
    });
    response.setHeader(this.#challengeHeader, lines);
    return response;
  }

  /** The opaque that goes with a nonce. */
  #opaque(nonce: string): string {
    return createHmac("sha256", this.#secret).update("opaque|").update(nonce).digest("base64url").slice(0, 22);
  }

  /** Deterministic To tag for stateless answers: HMAC of the transaction identity. */
  #statelessTag(request: SipRequest): string {
    let id = request.callId;
    try {
      id += `|${request.from.tag ?? ""}|${request.topVia.branch ?? ""}|${request.cseq.seq}`;
    } catch {
      // The parser already validated these headers; a hand-built request may lack some. The Call-ID alone still works.
    }
    return createHmac("sha256", this.#secret).update(id).digest("hex").slice(0, 16);
  }

  #reject(request: SipRequest, status: number, reason: string): SipResponse {
    return createResponse(request, status, {
      toTag: this.#statelessTag(request),
      ...(status === 400 ? { reason: `Bad Request (${reason})` } : {}),
    });
  }

  /**
   * Checks the request's credentials for this realm. Never throws on peer input: every failure becomes a verdict with
   * the response to send (a challenge, 400 for malformed or mismatched credentials, or `rejectStatus`).
   */
  authenticate(request: SipRequest): DigestVerdict {
    const fail = (reason: DigestFailure, response: SipResponse): DigestVerdict => ({ ok: false, reason, response });
    let values: AuthHeader[];
    try {
      values = request.authHeaders(this.#credentialsHeader);
    } catch (error) {
      if (error instanceof SipParseError) {
        return fail("malformed", this.#reject(request, 400, `Malformed ${this.#credentialsHeader}`));
      }
      throw error;
    }
    const creds = values.find((v) => v.isDigest && v.realm === this.#realm);
    if (creds === undefined) {
      return fail("missing", this.challenge(request));
    }
    const username = creds.get("username");
    const nonce = creds.nonce;
    const uri = creds.get("uri");
    const answer = creds.get("response");
    if (username === undefined || nonce === undefined || uri === undefined || answer === undefined) {
      return fail("malformed", this.#reject(request, 400, "Incomplete credentials"));
    }

    let algorithm: DigestAlgorithm;
    try {
      algorithm = parseDigestAlgorithm(creds.get("algorithm"));
    } catch (error) {
      if (error instanceof UnsupportedDigestAlgorithmError) {
        return fail("algorithm", this.challenge(request));
      }
      throw error;
    }
    if (!this.#algorithms.includes(algorithm)) {
      return fail("algorithm", this.challenge(request));
    }

    const issuedAt = this.#nonceIssuedAt(nonce);
    if (issuedAt === undefined) {
      return fail("bad-nonce", this.challenge(request));
    }
    const opaque = creds.get("opaque");
    if (opaque !== undefined && opaque !== this.#opaque(nonce)) {
      return fail("bad-nonce", this.challenge(request));
    }
    const now = this.#now();
    if (now - issuedAt > this.#ttl || issuedAt > now + 60_000) {
      return fail("stale", this.challenge(request, true));
    }

    // RFC 2617 §3.2.2.5: "The authenticating server must assure that the resource designated by the "uri" directive
    // is the same as the resource specified in the Request-Line; if they are not, the server SHOULD return a 400".
    // Compared in canonical form, so escaping or parameter spelling differences between the client's copy and the
    // Request-URI as parsed here do not matter; the response itself is computed over the client's text.
    if (uri !== request.uri.toString() && !sameUri(uri, request.uri.toString())) {
      return fail("uri-mismatch", this.#reject(request, 400, "Digest URI mismatch"));
    }

    const qopRaw = creds.get("qop");
    const qop = qopRaw?.toLowerCase();
    const nc = creds.get("nc");
    const cnonce = creds.get("cnonce");
    if (qop === undefined) {
      if (!this.#allowNoQop || algorithm.endsWith("-sess")) {
        return fail("qop", this.challenge(request));
      }
    } else if ((qop !== "auth" && qop !== "auth-int") || nc === undefined || cnonce === undefined) {
      return fail("qop", this.#reject(request, 400, "Bad qop, nc or cnonce"));
    } else if (!/^[0-9a-fA-F]{8}$/.test(nc)) {
      return fail("malformed", this.#reject(request, 400, "Bad nc"));
    }

    const secret = this.#lookup(username, this.#realm);
    if (secret === undefined) {
      return fail("unknown-user", this.#wrong(request));
    }
    let ha1: string | undefined;
    let password: string | undefined;
    if ("password" in secret) {
      password = secret.password;
    } else {
      const base = algorithm.replace(/-sess$/, "") as "MD5" | "SHA-256" | "SHA-512-256";
      ha1 = secret.ha1[base];
      if (ha1 === undefined) {
        return fail("unknown-user", this.#wrong(request));
      }
    }
    const expected = computeDigestResponse({
      algorithm,
      username,
      realm: this.#realm,
      password,
      ha1,
      method: request.method,
      uri,
      nonce,
      qop,
      nc,
      cnonce,
      body: request.body,
    });
    const given = Buffer.from(answer.toLowerCase(), "latin1");
    const want = Buffer.from(expected, "latin1");
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      return fail("wrong-response", this.#wrong(request));
    }

    // Replay protection only after the response is proven genuine, so forged requests cannot fill the map.
    if (qop !== undefined && nc !== undefined) {
      const count = Number.parseInt(nc, 16);
      const tracked = this.#counts.get(nonce);
      if (tracked === undefined) {
        if (issuedAt <= this.#watermark) {
          return fail("stale", this.challenge(request, true));
        }
      } else if (count <= tracked.nc) {
        return fail("replay", this.challenge(request, true));
      }
      this.#track(nonce, issuedAt, count);
    }
    return { ok: true, username, realm: this.#realm, algorithm };
  }

  #wrong(request: SipRequest): SipResponse {
    return this.#rejectStatus === 401 ? this.challenge(request) : this.#reject(request, 403, "");
  }

  #track(nonce: string, issuedAt: number, nc: number): void {
    this.#counts.delete(nonce);
    this.#counts.set(nonce, { issuedAt, nc });
    // Expired entries are useless (their nonce is refused as stale anyway): drop them from the old end first.
    const cutoff = this.#now() - this.#ttl;
    for (const [key, entry] of this.#counts) {
      if (this.#counts.size <= this.#maxTracked && entry.issuedAt >= cutoff) {
        break;
      }
      this.#counts.delete(key);
      if (entry.issuedAt >= cutoff) {
        this.#watermark = Math.max(this.#watermark, entry.issuedAt);
      }
    }
  }
}

/** True when a digest-uri parses to the same canonical URI as the Request-URI. */
function sameUri(digestUri: string, requestUri: string): boolean {
  try {
    return parseUri(digestUri, "digest-uri").toString() === requestUri;
  } catch {
    return false;
  }
}
