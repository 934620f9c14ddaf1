/**
 * Public API of SIP digest authentication (RFC 2617, RFC 3261 §22, RFC 7616, RFC 8760): the shared computation, the
 * client that answers 401/407 challenges, and the server that issues stateless nonces and verifies credentials.
 */

export {
  computeDigestResponse,
  DIGEST_ALGORITHMS,
  digestHa1,
  digestHash,
  formatNonceCount,
  isSessionAlgorithm,
  parseDigestAlgorithm,
  type DigestAlgorithm,
  type DigestInput,
} from "./digest.js";
export { DigestClient, type DigestClientOptions, type DigestCredentials } from "./DigestClient.js";
export {
  DigestServer,
  type DigestFailure,
  type DigestServerOptions,
  type DigestVerdict,
  type StoredSecret,
} from "./DigestServer.js";
export { DigestChallengeError, UnsupportedDigestAlgorithmError } from "./errors.js";
