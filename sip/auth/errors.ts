/**
 * Named errors of digest authentication (architecture.md §5.6).
 *
 * - {@link DigestChallengeError}: a 401/407 carried no challenge this client can answer (unknown algorithm, only
 *   `qop=auth-int` offered without a body hash, a realm the credentials are not for, a malformed header).
 * - {@link UnsupportedDigestAlgorithmError}: an algorithm token outside RFC 7616 §6.1's registry subset Korus
 *   implements (MD5, SHA-256, SHA-512-256 and their `-sess` variants).
 */

/** A challenge that cannot be answered with the configured credentials. */
export class DigestChallengeError extends Error {
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "DigestChallengeError";
  }
}

/** An unknown or unsupported digest algorithm token. */
export class UnsupportedDigestAlgorithmError extends Error {
  /** The algorithm token as received. */
  readonly algorithm: string;

  constructor(algorithm: string) {
    super(`unsupported digest algorithm: ${algorithm}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "UnsupportedDigestAlgorithmError";
    this.algorithm = algorithm;
  }
}
