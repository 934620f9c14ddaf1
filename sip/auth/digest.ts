/**
 * Digest computation shared by the client and the server side: RFC 2617 §3.2.2 (MD5, qop), RFC 3261 §22.4 (SIP use,
 * `digest-uri` is the Request-URI) and RFC 7616 §3.4 / RFC 8760 (SHA-256, SHA-512-256, `-sess` variants).
 *
 * ```
 * A1       = username ":" realm ":" password                      (plain algorithms)
 * A1       = H(username ":" realm ":" password) ":" nonce ":" cnonce   (-sess algorithms)
 * A2       = method ":" digest-uri                                (qop absent or "auth")
 * A2       = method ":" digest-uri ":" H(entity-body)              (qop "auth-int")
 * response = H(H(A1) ":" nonce ":" nc ":" cnonce ":" qop ":" H(A2))   (qop present)
 * response = H(H(A1) ":" nonce ":" H(A2))                         (RFC 2069 compatibility, no qop)
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc2617#section-3.2.2
 * @see https://www.rfc-editor.org/rfc/rfc7616#section-3.4.1
 * @see https://www.rfc-editor.org/rfc/rfc8760
 */

import { createHash } from "node:crypto";
import { UnsupportedDigestAlgorithmError } from "./errors.js";

/** Digest algorithms Korus implements, spelled as in the `algorithm` parameter (RFC 7616 §6.1). */
export type DigestAlgorithm = "MD5" | "MD5-sess" | "SHA-256" | "SHA-256-sess" | "SHA-512-256" | "SHA-512-256-sess";

/** All supported algorithms, strongest first (the order a client prefers them in). */
export const DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = [
  "SHA-512-256",
  "SHA-512-256-sess",
  "SHA-256",
  "SHA-256-sess",
  "MD5",
  "MD5-sess",
];

// Node's hash names per base algorithm.
const HASH_NAMES: Readonly<Record<string, string>> = {
  md5: "md5",
  "sha-256": "sha256",
  "sha-512-256": "sha512-256",
};

/**
 * Normalises an `algorithm` token (case-insensitive, RFC 7616 §3.3); an absent one means MD5 (RFC 2617 §3.2.1).
 * @throws {UnsupportedDigestAlgorithmError} for anything else (e.g. `AKAv1-MD5`, which needs an ISIM).
 */
export function parseDigestAlgorithm(token: string | undefined): DigestAlgorithm {
  if (token === undefined) {
    return "MD5";
  }
  const found = DIGEST_ALGORITHMS.find((a) => a.toLowerCase() === token.toLowerCase());
  if (found === undefined) {
    throw new UnsupportedDigestAlgorithmError(token);
  }
  return found;
}

/** True for the `-sess` variants, whose A1 binds the nonce and cnonce (RFC 7616 §3.4.2). */
export function isSessionAlgorithm(algorithm: DigestAlgorithm): boolean {
  return algorithm.endsWith("-sess");
}

/** The hex digest `H(data)` for an algorithm (RFC 7616 §3.4: lower-case hex). */
export function digestHash(algorithm: DigestAlgorithm, data: string | Uint8Array): string {
  const base = algorithm.toLowerCase().replace(/-sess$/, "");
  const name = HASH_NAMES[base];
  if (name === undefined) {
    throw new UnsupportedDigestAlgorithmError(algorithm);
  }
  return createHash(name).update(data).digest("hex");
}

/** What {@link computeDigestResponse} needs. */
export interface DigestInput {
  readonly algorithm: DigestAlgorithm;
  readonly username: string;
  readonly realm: string;
  /** The password; or give {@link DigestInput.ha1} instead (servers may store only H(username:realm:password)). */
  readonly password?: string;
  /** Precomputed `H(username ":" realm ":" password)` for the algorithm's hash. */
  readonly ha1?: string;
  readonly method: string;
  /** The digest-uri as it appears in the credentials (the Request-URI in SIP, RFC 3261 §22.4 item 4). */
  readonly uri: string;
  readonly nonce: string;
  /** `"auth"`, `"auth-int"` or undefined for RFC 2069 compatibility. */
  readonly qop?: "auth" | "auth-int" | undefined;
  /** Eight hex digits, e.g. `00000001` (required with qop). */
  readonly nc?: string | undefined;
  /** Client nonce (required with qop and for -sess). */
  readonly cnonce?: string | undefined;
  /** Message body, for qop=auth-int. */
  readonly body?: Uint8Array | undefined;
}

/**
 * `H(username ":" realm ":" password)`: the value a server may store instead of the password (RFC 2617 §3.2.2.2
 * notes the server "need not know the user's cleartext password").
 */
export function digestHa1(algorithm: DigestAlgorithm, username: string, realm: string, password: string): string {
  return digestHash(algorithm, `${username}:${realm}:${password}`);
}

/**
 * Computes the `response` value (32 hex digits for MD5, 64 for SHA-256 and SHA-512-256).
 * @throws {TypeError} when a required input is missing (password/ha1, or nc/cnonce with qop or -sess).
 */
export function computeDigestResponse(input: DigestInput): string {
  const { algorithm } = input;
  const H = (s: string | Uint8Array): string => digestHash(algorithm, s);
  let ha1 = input.ha1;
  if (ha1 === undefined) {
    if (input.password === undefined) {
      throw new TypeError("digest: password or ha1 is required");
    }
    ha1 = digestHa1(algorithm, input.username, input.realm, input.password);
  }
  if (isSessionAlgorithm(algorithm)) {
    if (input.cnonce === undefined) {
      throw new TypeError(`digest: cnonce is required for ${algorithm}`);
    }
    ha1 = H(`${ha1}:${input.nonce}:${input.cnonce}`);
  }
  const a2 =
    input.qop === "auth-int"
      ? `${input.method}:${input.uri}:${H(input.body ?? new Uint8Array(0))}`
      : `${input.method}:${input.uri}`;
  const ha2 = H(a2);
  if (input.qop === undefined) {
    return H(`${ha1}:${input.nonce}:${ha2}`);
  }
  if (input.nc === undefined || input.cnonce === undefined) {
    throw new TypeError("digest: nc and cnonce are required with qop");
  }
  return H(`${ha1}:${input.nonce}:${input.nc}:${input.cnonce}:${input.qop}:${ha2}`);
}

/** Formats a nonce count as eight lower-case hex digits (RFC 2617 §3.2.2: `nc-value = 8LHEX`). */
export function formatNonceCount(count: number): string {
  return count.toString(16).padStart(8, "0");
}
