/**
 * SDES-SRTP crypto suites (RFC 4568 §6.2, RFC 6188 §7) and the names Kurento's `SDES.crypto` ctor field uses for
 * them (`AES_128_CM_HMAC_SHA1_80`, kurento-protocol.md §7.2). All use AES counter mode and HMAC-SHA1 (RFC 3711
 * §4.1.1, §4.2.1) with a 112-bit salt; the `_32` suites shorten only the SRTP tag, SRTCP keeps 80 bits
 * (RFC 4568 §6.2.2).
 */

/** A crypto parameter Korus cannot use (unknown suite, wrong key length, malformed key parameter). */
export class SrtpConfigError extends Error {
  override readonly name = "SrtpConfigError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export interface SrtpSuite {
  /** Name in SDP `a=crypto` lines. */
  readonly name: string;
  /** Name in Kurento's CryptoSuite enum. */
  readonly kurentoName: string;
  /** Master (and session encryption) key length in bytes. */
  readonly keyLength: 16 | 32;
  readonly saltLength: 14;
  readonly rtpTagLength: number;
  readonly rtcpTagLength: number;
}

export const SRTP_SUITES: readonly SrtpSuite[] = [
  {
    name: "AES_CM_128_HMAC_SHA1_80",
    kurentoName: "AES_128_CM_HMAC_SHA1_80",
    keyLength: 16,
    saltLength: 14,
    rtpTagLength: 10,
    rtcpTagLength: 10,
  },
  {
    name: "AES_CM_128_HMAC_SHA1_32",
    kurentoName: "AES_128_CM_HMAC_SHA1_32",
    keyLength: 16,
    saltLength: 14,
    rtpTagLength: 4,
    rtcpTagLength: 10,
  },
  {
    name: "AES_256_CM_HMAC_SHA1_80",
    kurentoName: "AES_256_CM_HMAC_SHA1_80",
    keyLength: 32,
    saltLength: 14,
    rtpTagLength: 10,
    rtcpTagLength: 10,
  },
  {
    name: "AES_256_CM_HMAC_SHA1_32",
    kurentoName: "AES_256_CM_HMAC_SHA1_32",
    keyLength: 32,
    saltLength: 14,
    rtpTagLength: 4,
    rtcpTagLength: 10,
  },
];

/** The suite for an SDP or Kurento name (case-insensitive), or undefined. */
export function findSuite(name: string): SrtpSuite | undefined {
  const n = name.toUpperCase();
  return SRTP_SUITES.find((s) => s.name === n || s.kurentoName === n);
}

/**
 * Decodes the base64 key-salt of an `inline:` key parameter and checks its length for `suite`.
 * @throws SrtpConfigError when it is not valid base64 of key length + 14 bytes.
 */
export function decodeKeySalt(suite: SrtpSuite, base64: string): Buffer {
  const clean = base64.replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(clean)) {
    throw new SrtpConfigError(`${suite.name}: key is not base64`);
  }
  const raw = Buffer.from(base64, "base64");
  if (raw.length !== suite.keyLength + suite.saltLength) {
    throw new SrtpConfigError(
      `${suite.name}: key-salt is ${raw.length} bytes, expected ${suite.keyLength + suite.saltLength}`,
    );
  }
  return raw;
}

/**
 * The key lifetime of an inline key parameter (`2^20` or a decimal number, RFC 4568 §9.2), or undefined.
 * @throws SrtpConfigError for a malformed value.
 */
export function parseLifetime(text: string | undefined): number | undefined {
  if (text === undefined) {
    return undefined;
  }
  const pow = /^2\^(\d{1,2})$/.exec(text);
  if (pow !== null) {
    return 2 ** Number(pow[1]);
  }
  if (/^\d{1,15}$/.test(text)) {
    return Number(text);
  }
  throw new SrtpConfigError(`key lifetime '${text}' is neither 2^n nor a number`);
}
