/**
 * The use count of one SRTP master key against its limit (RFC 3711 §9.2): at most 2^48 SRTP packets (2^31 SRTCP), or
 * the lifetime from the `a=crypto` key parameter (RFC 4568 §6.1). When fewer than {@link SOFT_LIMIT_MARGIN} uses
 * remain the soft-limit callback fires once (Kurento's OnKeySoftLimit, like libsrtp's `srtp_event_key_soft_limit`);
 * at the hard limit the key refuses every further use ("key-expired").
 */

/** Uses left when the soft-limit callback fires (libsrtp's 0x10000). */
export const SOFT_LIMIT_MARGIN = 0x1_0000;
const SRTP_MAX_PACKETS = 2 ** 48;

export class KeyLimit {
  #uses = 0;
  readonly #lifetime: number;
  readonly #softAt: number;
  #softFired = false;
  readonly #onSoftLimit: (() => void) | undefined;

  /** @param lifetime in packets; default and maximum 2^48. */
  constructor(lifetime: number | undefined, onSoftLimit: (() => void) | undefined) {
    this.#lifetime = Math.min(lifetime ?? SRTP_MAX_PACKETS, SRTP_MAX_PACKETS);
    this.#softAt = Math.max(0, this.#lifetime - Math.min(SOFT_LIMIT_MARGIN, Math.floor(this.#lifetime / 2)));
    this.#onSoftLimit = onSoftLimit;
  }

  /** Packets (SRTP + SRTCP) the key has protected or unprotected. */
  get uses(): number {
    return this.#uses;
  }

  /** Counts one use of the key; false at the hard limit. */
  use(): boolean {
    if (this.#uses >= this.#lifetime) {
      return false;
    }
    this.#uses++;
    if (!this.#softFired && this.#uses >= this.#softAt) {
      this.#softFired = true;
      this.#onSoftLimit?.();
    }
    return true;
  }
}
