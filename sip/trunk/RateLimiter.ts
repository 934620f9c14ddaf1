/**
 * Per-source admission control for inbound SIP (issue 3 "Bad input and load": "A flood from one source is
 * rate-limited with 503 and Retry-After").
 *
 * Each source address has a token bucket (`ratePerSecond` refill, `burst` capacity); every inbound message costs one
 * token. A request that finds the bucket empty is answered statelessly with `503 Service Unavailable` and a
 * `Retry-After` of the seconds until the bucket refills enough (RFC 3261 §21.5.4, §20.33), at most once per
 * `replyIntervalMs` per source; further messages in that interval, responses and ACKs are dropped silently, so the
 * limiter never amplifies a flood.
 *
 * Sources are keyed by address: an IPv4 address (IPv4-mapped IPv6 included) on its own, an IPv6 address by its /64
 * prefix (configurable), because one IPv6 host usually owns a whole /64 and could otherwise rotate addresses to get
 * a fresh bucket per request.
 *
 * Memory is bounded: buckets live in a map kept in least-recently-used order and capped at `maxSources`; the oldest
 * bucket is evicted first (an evicted source simply starts again with a full bucket). Idle buckets that have refilled
 * completely carry no information and are dropped as they are met at the old end of the map.
 */

import { SipRequest, type SipResponse } from "../message/SipMessage.js";
import { formatIpAddress, parseIpAddress } from "./address.js";
import { statelessResponse } from "./stateless.js";

/** Options of a {@link SourceRateLimiter}. */
export interface RateLimiterOptions {
  /** Sustained messages per second per source (default 50). */
  readonly ratePerSecond?: number;
  /** Bucket capacity: messages a source may send in a burst (default 100). */
  readonly burst?: number;
  /** Most sources tracked at once (default 10 000). */
  readonly maxSources?: number;
  /** Least time between two 503s to the same source, in ms (default 1000). */
  readonly replyIntervalMs?: number;
  /** Prefix length that identifies one IPv6 source (default 64; 128 keys every address apart). */
  readonly ipv6PrefixLength?: number;
  /** Monotonic clock in ms (default `performance.now`). */
  readonly now?: () => number;
}

/** The decision for one inbound message. */
export type RateDecision =
  | { readonly action: "accept" }
  /** Over the limit: send `response` (a 503 with Retry-After), create nothing else. */
  | { readonly action: "reject"; readonly retryAfter: number; readonly response: SipResponse | undefined }
  /** Over the limit and already told, or not answerable: drop without a word. */
  | { readonly action: "drop" };

interface Bucket {
  tokens: number;
  updatedAt: number;
  lastReplyAt: number;
}

const ACCEPT: RateDecision = Object.freeze({ action: "accept" });
const DROP: RateDecision = Object.freeze({ action: "drop" });

export class SourceRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxSources: number;
  readonly #replyInterval: number;
  readonly #now: () => number;
  readonly #v6Prefix: number;
  readonly #buckets = new Map<string, Bucket>();

  /** @throws {RangeError} naming a bad option. */
  constructor(options: RateLimiterOptions = {}) {
    this.#rate = options.ratePerSecond ?? 50;
    this.#burst = options.burst ?? 100;
    this.#maxSources = options.maxSources ?? 10_000;
    this.#replyInterval = options.replyIntervalMs ?? 1000;
    this.#now = options.now ?? ((): number => performance.now());
    this.#v6Prefix = options.ipv6PrefixLength ?? 64;
    if (!Number.isInteger(this.#v6Prefix) || this.#v6Prefix < 1 || this.#v6Prefix > 128) {
      throw new RangeError("rate limiter: ipv6PrefixLength must be 1-128");
    }
    if (!(this.#rate > 0)) {
      throw new RangeError("rate limiter: ratePerSecond must be > 0");
    }
    if (!(this.#burst >= 1)) {
      throw new RangeError("rate limiter: burst must be >= 1");
    }
    if (!Number.isInteger(this.#maxSources) || this.#maxSources < 1) {
      throw new RangeError("rate limiter: maxSources must be a positive integer");
    }
  }

  /** Number of sources with a bucket (never above `maxSources`). */
  get trackedSources(): number {
    return this.#buckets.size;
  }

  /**
   * Charges one message from `host` (an IP address; ports are ignored so a source cannot dodge the limit by changing
   * port) and decides. `message` decides whether a 503 can be sent: only requests other than ACK are answered.
   */
  admit(host: string, message?: SipRequest | SipResponse): RateDecision {
    const now = this.#now();
    host = this.sourceKey(host);
    let bucket = this.#buckets.get(host);
    if (bucket === undefined) {
      bucket = { tokens: this.#burst, updatedAt: now, lastReplyAt: -Infinity };
    } else {
      this.#buckets.delete(host);
      bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.#rate);
      bucket.updatedAt = now;
    }
    // Trim before re-inserting, so the current source is never the one evicted.
    this.#trim(now);
    this.#buckets.set(host, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return ACCEPT;
    }
    if (
      !(message instanceof SipRequest) ||
      message.method === "ACK" ||
      now - bucket.lastReplyAt < this.#replyInterval
    ) {
      return DROP;
    }
    bucket.lastReplyAt = now;
    const retryAfter = Math.max(1, Math.ceil((1 - bucket.tokens) / this.#rate));
    return {
      action: "reject",
      retryAfter,
      response: statelessResponse(message, 503, [["Retry-After", String(retryAfter)]]),
    };
  }

  /** The bucket key of an address: IPv4 as dotted quad, IPv6 as `prefix/len`; anything else as given. */
  sourceKey(host: string): string {
    if (!host.includes(":")) {
      return host; // IPv4 as sockets report it: already the key (the common case, kept cheap)
    }
    let address;
    try {
      address = parseIpAddress(host);
    } catch {
      return host;
    }
    if (address.family === 4) {
      return formatIpAddress(address);
    }
    const bytes = address.bytes.slice();
    for (let bit = this.#v6Prefix; bit < 128; bit++) {
      bytes[bit >> 3] = (bytes[bit >> 3] ?? 0) & ~(0x80 >> (bit & 7));
    }
    return `${formatIpAddress({ bytes, family: 6 })}/${this.#v6Prefix}`;
  }

  /** Makes room for one bucket: evicts from the least recently used end while over capacity or refilled. */
  #trim(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      const refilled = bucket.tokens + ((now - bucket.updatedAt) / 1000) * this.#rate >= this.#burst;
      if (this.#buckets.size < this.#maxSources && !refilled) {
        break;
      }
      this.#buckets.delete(key);
    }
  }
}
