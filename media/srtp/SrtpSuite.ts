/**
 * The SRTP crypto suites Korus implements, how SDES and DTLS-SRTP name them, and the SDES key parameter helpers.
 *
 * - SDES (RFC 4568 §6.2, RFC 6188 §7) offers the AES-CM suites, with the names Kurento's `SDES.crypto` ctor field
 *   uses for them (`AES_128_CM_HMAC_SHA1_80`, kurento-protocol.md §7.2). They use AES counter mode and HMAC-SHA1
 *   (RFC 3711 §4.1.1, §4.2.1) with a 112-bit salt; the `_32` suites shorten only the SRTP tag, SRTCP keeps 80 bits
 *   (RFC 4568 §6.2.2).
 * - DTLS-SRTP (RFC 5764 §4.1.2) numbers its protection profiles; RFC 7714 §14.2 adds the AEAD AES-GCM ones, with a
 *   96-bit salt and a 16-byte tag on SRTP and SRTCP alike.
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
  /** Name in SDP `a=crypto` lines (RFC 4568, RFC 7714 §14.1). */
  readonly name: string;
  /** Name in Kurento's CryptoSuite enum ("" for a suite Kurento does not name). */
  readonly kurentoName: string;
  /** "cm": AES-CM with HMAC-SHA1 (RFC 3711); "gcm": AEAD AES-GCM (RFC 7714). */
  readonly cipher: "cm" | "gcm";
  /** Master (and session encryption) key length in bytes. */
  readonly keyLength: 16 | 32;
  /** Master (and session) salt length in bytes: 14, or 12 for GCM. */
  readonly saltLength: 14 | 12;
  readonly rtpTagLength: number;
  readonly rtcpTagLength: number;
}

/** The SDES suites (the ones Kurento's CryptoSuite enum names). */
export const SRTP_SUITES: readonly SrtpSuite[] = [
  {
    name: "AES_CM_128_HMAC_SHA1_80",
    kurentoName: "AES_128_CM_HMAC_SHA1_80",
    cipher: "cm",
    keyLength: 16,
    saltLength: 14,
    rtpTagLength: 10,
    rtcpTagLength: 10,
  },
  {
    name: "AES_CM_128_HMAC_SHA1_32",
    kurentoName: "AES_128_CM_HMAC_SHA1_32",
    cipher: "cm",
    keyLength: 16,
    saltLength: 14,
    rtpTagLength: 4,
    rtcpTagLength: 10,
  },
  {
    name: "AES_256_CM_HMAC_SHA1_80",
    kurentoName: "AES_256_CM_HMAC_SHA1_80",
    cipher: "cm",
    keyLength: 32,
    saltLength: 14,
    rtpTagLength: 10,
    rtcpTagLength: 10,
  },
  {
    name: "AES_256_CM_HMAC_SHA1_32",
    kurentoName: "AES_256_CM_HMAC_SHA1_32",
    cipher: "cm",
    keyLength: 32,
    saltLength: 14,
    rtpTagLength: 4,
    rtcpTagLength: 10,
  },
];

/** The AEAD suites of RFC 7714 (DTLS-SRTP profiles 7 and 8). */
export const GCM_SUITES: readonly SrtpSuite[] = [
  {
    name: "AEAD_AES_128_GCM",
    kurentoName: "",
    cipher: "gcm",
    keyLength: 16,
    saltLength: 12,
    rtpTagLength: 16,
    rtcpTagLength: 16,
  },
  {
    name: "AEAD_AES_256_GCM",
    kurentoName: "",
    cipher: "gcm",
    keyLength: 32,
    saltLength: 12,
    rtpTagLength: 16,
    rtcpTagLength: 16,
  },
];

/** DTLS-SRTP protection profile numbers (RFC 5764 §4.1.2, RFC 7714 §14.2) and their suites. */
const DTLS_PROFILES: ReadonlyMap<number, SrtpSuite> = new Map([
  [0x0001, SRTP_SUITES[0]!],
  [0x0002, SRTP_SUITES[1]!],
  [0x0007, GCM_SUITES[0]!],
  [0x0008, GCM_SUITES[1]!],
]);

/** The suite of a DTLS-SRTP protection profile number, or undefined for one Korus does not implement. */
export function dtlsProfileSuite(profile: number): SrtpSuite | undefined {
  return DTLS_PROFILES.get(profile);
}

/** The SDES suite for an SDP or Kurento name (case-insensitive), or undefined. */
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
