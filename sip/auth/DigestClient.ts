/**
 * Client side of SIP digest authentication (RFC 3261 §22.2–§22.3, RFC 2617 §3.2.2, RFC 7616 §3.4, RFC 8760).
 *
 * Given a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) and credentials, {@link DigestClient.authorize} adds the
 * matching Authorization / Proxy-Authorization line to the request that is about to be re-sent (the caller gives it a
 * new Via branch and the next CSeq, RFC 3261 §22.2: "the client SHOULD retry the request ... with an incremented CSeq").
 * The challenge is cached per realm so later requests (REGISTER refreshes, a re-INVITE) can answer it preemptively
 * with an incremented nonce count (§22.3: "the UAC ... MAY cache credentials"; RFC 2617 §3.2.2 nc).
 *
 * Choice between several challenges of one realm: the strongest supported algorithm wins (SHA-512-256, then SHA-256,
 * then MD5; RFC 8760 §2.4 lets the client pick any it supports). `qop=auth` is preferred over `auth-int`; a challenge
 * without qop is answered RFC 2069-style.
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-22.2
 */

import { randomBytes } from "node:crypto";
import { AuthHeader } from "../message/AuthHeader.js";
import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import {
  computeDigestResponse,
  DIGEST_ALGORITHMS,
  formatNonceCount,
  parseDigestAlgorithm,
  type DigestAlgorithm,
} from "./digest.js";
import { DigestChallengeError, UnsupportedDigestAlgorithmError } from "./errors.js";

/** Credentials for one account. */
export interface DigestCredentials {
  readonly username: string;
  readonly password: string;
  /** Answer only challenges of this realm; absent = answer any realm (the usual trunk setup). */
  readonly realm?: string | undefined;
}

/** Options of a {@link DigestClient}. */
export interface DigestClientOptions {
  /** Client nonce generator (default: 16 random bytes, base64url). Tests pin it to the RFC vectors. */
  readonly cnonce?: () => string;
}

/** One cached challenge: what to answer and how many times its nonce was used. */
interface CachedChallenge {
  readonly header: "Authorization" | "Proxy-Authorization";
  readonly realm: string;
  readonly nonce: string;
  readonly opaque: string | undefined;
  readonly algorithm: DigestAlgorithm;
  /** Whether the challenge wrote `algorithm=` (echo it only then, for RFC 2069-era servers). */
  readonly algorithmExplicit: boolean;
  readonly qop: "auth" | "auth-int" | undefined;
  nc: number;
}

/** Which header the client answers with, per challenge header (RFC 3261 §22.2 / §22.3). */
const ANSWER_HEADER = {
  "WWW-Authenticate": "Authorization",
  "Proxy-Authenticate": "Proxy-Authorization",
} as const;

/** Rank of an algorithm; lower is stronger. */
function rank(algorithm: DigestAlgorithm): number {
  return DIGEST_ALGORITHMS.indexOf(algorithm);
}

export class DigestClient {
  readonly #credentials: DigestCredentials;
  readonly #cnonce: () => string;
  /** Key: answer header + realm. */
  readonly #cache = new Map<string, CachedChallenge>();

  constructor(credentials: DigestCredentials, options: DigestClientOptions = {}) {
    this.#credentials = credentials;
    this.#cnonce = options.cnonce ?? ((): string => randomBytes(16).toString("base64url"));
  }

  /** The username these credentials authenticate as. */
  get username(): string {
    return this.#credentials.username;
  }

  /**
   * Answers the challenges of a 401/407 on `request` (which must already be the retry: new branch, next CSeq).
   * Replaces earlier credentials of the same realms on the request.
   * @throws {DigestChallengeError} when no challenge can be answered, or when the server re-challenged with the nonce
   *   it had already accepted an answer for without `stale=true` (the password is wrong: retrying cannot help,
   *   RFC 2617 §3.2.1 stale semantics).
   */
  authorize(request: SipRequest, challenge: SipResponse): void {
    const picked = new Map<string, CachedChallenge>();
    let unusable = "no Digest challenge";
    for (const challengeHeader of ["WWW-Authenticate", "Proxy-Authenticate"] as const) {
      let values: AuthHeader[];
      try {
        values = challenge.authHeaders(challengeHeader);
      } catch {
        unusable = `malformed ${challengeHeader}`;
        continue;
      }
      for (const value of values) {
        const candidate = this.#candidate(value, ANSWER_HEADER[challengeHeader]);
        if (typeof candidate === "string") {
          unusable = candidate;
          continue;
        }
        const key = `${candidate.header}|${candidate.realm}`;
        const current = picked.get(key);
        if (current === undefined || rank(candidate.algorithm) < rank(current.algorithm)) {
          picked.set(key, candidate);
        }
      }
    }
    if (picked.size === 0) {
      throw new DigestChallengeError(`cannot answer the ${challenge.status} challenge: ${unusable}`);
    }
    for (const [key, next] of picked) {
      const previous = this.#cache.get(key);
      const stale = challenge
        .authHeaders(next.header === "Authorization" ? "WWW-Authenticate" : "Proxy-Authenticate")
        .some((h) => h.nonce === next.nonce && h.stale);
      if (previous?.nonce === next.nonce && previous.nc > 0 && !stale) {
        this.#cache.delete(key);
        throw new DigestChallengeError(`credentials rejected for realm "${next.realm}"`);
      }
      this.#cache.set(key, next);
      this.#apply(request, next);
    }
  }

  /**
   * Adds credentials for every cached challenge to a new request, with the next nonce count (preemptive
   * authentication, RFC 3261 §22.3). Returns false when nothing is cached.
   */
  reauthorize(request: SipRequest): boolean {
    for (const cached of this.#cache.values()) {
      this.#apply(request, cached);
    }
    return this.#cache.size > 0;
  }

  /** Forgets cached challenges (e.g. after the registrar answered 403). */
  reset(): void {
    this.#cache.clear();
  }

  /** Turns one challenge into a cache entry, or a reason why it cannot be answered. */
  #candidate(value: AuthHeader, header: CachedChallenge["header"]): CachedChallenge | string {
    if (!value.isDigest) {
      return `scheme ${value.scheme} is not Digest`;
    }
    const realm = value.realm;
    const nonce = value.nonce;
    if (realm === undefined || nonce === undefined) {
      return "challenge without realm or nonce";
    }
    if (this.#credentials.realm !== undefined && this.#credentials.realm !== realm) {
      return `realm "${realm}" is not the configured realm`;
    }
    let algorithm: DigestAlgorithm;
    try {
      algorithm = parseDigestAlgorithm(value.get("algorithm"));
    } catch (error) {
      if (error instanceof UnsupportedDigestAlgorithmError) {
        return error.message;
      }
      throw error;
    }
    const offered = value.qop.map((q) => q.toLowerCase());
    let qop: CachedChallenge["qop"];
    if (offered.length === 0) {
      qop = undefined;
    } else if (offered.includes("auth")) {
      qop = "auth";
    } else if (offered.includes("auth-int")) {
      qop = "auth-int";
    } else {
      return `no supported qop in "${offered.join(",")}"`;
    }
    return {
      header,
      realm,
      nonce,
      opaque: value.get("opaque"),
      algorithm,
      algorithmExplicit: value.get("algorithm") !== undefined,
      qop,
      nc: 0,
    };
  }

  /** Writes one credentials line (replacing an earlier one of the same realm) and bumps the nonce count. */
  #apply(request: SipRequest, c: CachedChallenge): void {
    c.nc++;
    const nc = formatNonceCount(c.nc);
    const cnonce = c.qop !== undefined || c.algorithm.endsWith("-sess") ? this.#cnonce() : undefined;
    const uri = request.uri.toString();
    const response = computeDigestResponse({
      algorithm: c.algorithm,
      username: this.#credentials.username,
      realm: c.realm,
      password: this.#credentials.password,
      method: request.method,
      uri,
      nonce: c.nonce,
      qop: c.qop,
      nc,
      cnonce,
      body: request.body,
    });
    const header = new AuthHeader("Digest");
    header.set("username", this.#credentials.username);
    header.set("realm", c.realm);
    header.set("nonce", c.nonce);
    header.set("uri", uri);
    header.set("response", response);
    if (c.algorithmExplicit) {
      header.set("algorithm", c.algorithm, false);
    }
    if (cnonce !== undefined) {
      header.set("cnonce", cnonce);
    }
    if (c.opaque !== undefined) {
      header.set("opaque", c.opaque);
    }
    if (c.qop !== undefined) {
      header.set("qop", c.qop, false);
      header.set("nc", nc, false);
    }
    const kept = request.authHeaders(c.header).filter((h) => h.realm !== c.realm);
    request.setHeader(c.header, [...kept.map(String), header.toString()]);
  }
}
