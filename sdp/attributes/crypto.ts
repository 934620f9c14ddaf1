/**
 * SDES-SRTP keying, `a=crypto:<tag> <crypto-suite> <key-params> [<session-params>]` (RFC 4568 §9.1), e.g.
 * `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4`.
 *
 * Offer/answer (RFC 4568 §7.1.2 and §7.1.3): the offer lists one or more crypto lines in preference order; the
 * answerer picks exactly one it supports and answers with the same tag and suite and its own key.
 *
 * @see https://www.rfc-editor.org/rfc/rfc4568#section-9.1
 */
import { SdpParseError } from "../errors.js";

/** One `a=crypto:` line. */
export interface Crypto {
  /** Decimal tag, 1–9 digits, unique within the media section (RFC 4568 §9.1). */
  readonly tag: number;
  /** e.g. `AES_CM_128_HMAC_SHA1_80`, `AES_CM_128_HMAC_SHA1_32`, `AEAD_AES_128_GCM` (RFC 7714 §12). */
  readonly suite: string;
  /** `inline:` key parameters, raw, in order (several are allowed, separated by `;`). */
  readonly keyParams: readonly string[];
  /** Session parameters such as `UNENCRYPTED_SRTCP`, `KDR=1`, raw. */
  readonly sessionParams: readonly string[];
}

/** The parts of one `inline:<key||salt>[|<lifetime>][|<MKI>:<length>]` key parameter (RFC 4568 §9.2). */
export interface InlineKey {
  /** Base64 of the concatenated master key and salt. */
  readonly key: string;
  /** e.g. `2^20`. */
  readonly lifetime?: string;
  /** e.g. `1:4` (MKI value 1, MKI length 4 bytes). */
  readonly mki?: string;
}

/**
 * Parses the value of an `a=crypto:` line.
 *
 * @throws {SdpParseError} when the tag, suite or key parameters are missing.
 */
export function parseCrypto(value: string, line = 0): Crypto {
  const text = `a=crypto:${value}`;
  const [tag, suite, keyParams, ...sessionParams] = value.trim().split(/ +/);
  if (tag === undefined || !/^\d{1,9}$/.test(tag) || suite === undefined || keyParams === undefined) {
    throw new SdpParseError("crypto must be <tag> <crypto-suite> <key-params> [<session-params>]", line, text);
  }
  return { tag: Number(tag), suite, keyParams: keyParams.split(";"), sessionParams };
}

/** Formats a {@link Crypto} as the value of an `a=crypto:` line. */
export function formatCrypto(c: Crypto): string {
  return [`${c.tag}`, c.suite, c.keyParams.join(";"), ...c.sessionParams].join(" ");
}

/**
 * Parses one key parameter; `undefined` when the method is not `inline` (the only method RFC 4568 defines).
 */
export function parseInlineKey(keyParam: string): InlineKey | undefined {
  if (!keyParam.startsWith("inline:")) {
    return undefined;
  }
  const [key = "", ...rest] = keyParam.slice("inline:".length).split("|");
  // The optional fields are told apart by shape: the MKI has a colon, the lifetime does not (RFC 4568 §9.2).
  const mki = rest.find((r) => r.includes(":"));
  const lifetime = rest.find((r) => !r.includes(":"));
  return { key, ...(lifetime === undefined ? {} : { lifetime }), ...(mki === undefined ? {} : { mki }) };
}
