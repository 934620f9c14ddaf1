/**
 * Admission of a SIP server (issue 5 §5, issue 9 §3/§6/§9): every message a transport delivers passes here before
 * the user agent sees it, as SIP.js's UserAgentCore checks requests inside the stack. Nothing is created for a
 * refused request; every refusal is stateless and goes to the packet's source only.
 *
 * The order (docs/sip-service.md):
 *
 * 1. a response passes (the transaction layer matches it or drops it);
 * 2. overload: while the event loop lags beyond `overloadLagMs`, a new out-of-dialog request (not ACK or CANCEL) is
 *    answered 503 + Retry-After ({@link LoadMonitor});
 * 3. rate: the source draws from its bucket (trusted trunk sources from the trunk bucket, others from the general
 *    one); an empty bucket answers 503 + Retry-After or drops silently ({@link SourceRateLimiter});
 * 4. ACL: a source that matches no trunk and no digest trunk is answered `unknownSourceStatus` ({@link TrunkTable});
 * 5. an untrusted UDP request's Via loses `maddr` and any other transport, so it cannot steer its answers;
 * 6. a trusted (`auth: ip`) trunk source passes, carrying its trunk ({@link SipRequest.trunk});
 * 7. in-dialog requests (To tag, ACK, CANCEL) pass: their dialog was authenticated when it was created;
 * 8. digest (`auth: digest` trunks): no or wrong credentials are answered 401 (challenge) or 403; proven ones pass,
 *    carrying the trunk the credentials belong to.
 *
 * TCP and TLS connections are refused at accept when every request of their source would be refused at step 4
 * ({@link SipAdmission.streamAdmission}).
 */
import { randomBytes } from "node:crypto";
import { DigestServer } from "../auth/DigestServer.js";
import type { DigestAlgorithm } from "../auth/digest.js";
import { SipResponse, type SipRequest } from "../message/SipMessage.js";
import type { StreamAdmission } from "../transport/StreamConnections.js";
import type { InboundMessage, SipDestination } from "../transport/SipTransport.js";
import { LoadMonitor } from "../trunk/LoadMonitor.js";
import { SourceRateLimiter } from "../trunk/RateLimiter.js";
import { statelessResponse } from "../trunk/stateless.js";
import type { TrunkDefinition } from "../trunk/Trunk.js";
import type { TrunkTable } from "../trunk/TrunkTable.js";

/** Admission counters (issue 9), exposed in `/health` under `sip.stats`. */
export interface SipAdmissionStats {
  /** Messages that did not parse or broke stream framing (answered 400/513 or dropped; never a call, never a CDR). */
  malformed: number;
  /** New requests answered 503 + Retry-After because the event loop lagged beyond `sip.overloadLagMs`. */
  overloadRejected: number;
  /** Requests and answers refused by a per-source rate bucket (503 or silent drop). */
  rateLimited: number;
  /** Requests from sources that match no trunk, answered `unknownSourceStatus` statelessly. */
  unknownSourceRejected: number;
  /** TCP/TLS connections closed at accept (ACL, per-source or total limit). */
  connectionsRefused: number;
}

/** The settings admission reads (the `sip` config section's `rateLimit`, `overloadLagMs` and `digest`). */
export interface SipAdmissionConfig {
  readonly rateLimit: {
    readonly ratePerSecond: number;
    readonly burst: number;
    readonly trunkRatePerSecond: number;
    readonly trunkBurst: number;
  };
  /** Event-loop lag (ms) beyond which new requests are refused with 503. */
  readonly overloadLagMs: number;
  readonly digest: {
    readonly realm: string;
    /** Nonce secret; "" draws a random one (nonces then do not survive a restart). */
    readonly secret: string;
    readonly nonceTtlS: number;
  };
}

/** What admission needs from the server around it: where admitted messages and stateless answers go. */
export interface AdmissionTarget {
  /** An admitted message, for the user agent. */
  receive(inbound: InboundMessage): void;
  /** Sends a response outside any transaction (the transaction layer's `sendStateless`). */
  sendStateless(response: SipResponse, destination: SipDestination): void;
  /** Logs an admission failure (the message was dropped). */
  warn(message: string, context: Record<string, unknown>): void;
}

export interface SipAdmissionOptions {
  readonly config: SipAdmissionConfig;
  /** The trunk table (its reject status is `unknownSourceStatus`). */
  readonly table: TrunkTable;
  readonly trunks: readonly TrunkDefinition[];
  readonly target: AdmissionTarget;
  /** The overload guard; default a {@link LoadMonitor} with `config.overloadLagMs` (started by {@link start}). */
  readonly load?: LoadMonitor;
}

export class SipAdmission {
  readonly #stats: SipAdmissionStats = {
    malformed: 0,
    overloadRejected: 0,
    rateLimited: 0,
    unknownSourceRejected: 0,
    connectionsRefused: 0,
  };
  readonly #table: TrunkTable;
  readonly #limiter: SourceRateLimiter;
  /** The bucket of sources that match an `auth: ip` trunk. */
  readonly #trunkLimiter: SourceRateLimiter;
  readonly #digest: DigestServer | undefined;
  readonly #load: LoadMonitor;
  readonly #target: AdmissionTarget;
  /** For TCP and TLS listeners: the accept-time ACL and the refusal counter. */
  readonly streamAdmission: StreamAdmission;

  constructor(options: SipAdmissionOptions) {
    const { config, table } = options;
    this.#table = table;
    this.#target = options.target;
    this.#load = options.load ?? new LoadMonitor({ thresholdMs: config.overloadLagMs });
    const rl = config.rateLimit;
    this.#limiter = new SourceRateLimiter({ ratePerSecond: rl.ratePerSecond, burst: rl.burst });
    this.#trunkLimiter = new SourceRateLimiter({ ratePerSecond: rl.trunkRatePerSecond, burst: rl.trunkBurst });
    this.#digest = digestServer(config.digest, table, options.trunks);
    this.streamAdmission = {
      // A source every request of which would be refused anyway gets no connection (nor a TLS handshake).
      acceptSource: (host, transport) => table.classify({ host, port: 0, transport }).kind !== "reject",
      onRefused: () => {
        this.#stats.connectionsRefused++;
      },
    };
  }

  /** Starts the overload guard's sampling. */
  start(): void {
    this.#load.start();
  }

  /** Stops the overload guard (nothing is refused for load afterwards). */
  stop(): void {
    this.#load.stop();
  }

  /** Counts a message that did not parse (the transports' `onParseError`). */
  readonly onParseError = (): void => {
    this.#stats.malformed++;
  };

  /** Counts an INVITE Korus refused as malformed after admission (400 before any answer: never a call). */
  countMalformed(): void {
    this.#stats.malformed++;
  }

  /** Admission counters since start (a copy), and the event-loop lag the overload guard last measured. */
  stats(): SipAdmissionStats & { lagMs: number; overloaded: boolean } {
    return { ...this.#stats, lagMs: Math.round(this.#load.lagMs), overloaded: this.#load.overloaded };
  }

  /** Every message a transport delivers: admission, then the target. Never throws. */
  admit(inbound: InboundMessage): void {
    try {
      const { message, source } = inbound;
      if (message instanceof SipResponse) {
        this.#target.receive(inbound);
        return;
      }
      // Admission by real capacity (issue 9 §9): while the event loop lags, new work is refused before anything is
      // classified or created; ACKs, CANCELs, in-dialog requests and responses keep flowing so calls can end.
      if (
        this.#load.overloaded &&
        message.method !== "ACK" &&
        message.method !== "CANCEL" &&
        message.to.tag === undefined
      ) {
        this.#stats.overloadRejected++;
        const r = statelessResponse(message, 503, [["Retry-After", String(this.#load.retryAfterS)]]);
        if (r !== undefined) {
          this.#sendStateless(source, r);
        }
        return;
      }
      // Classifying is a stateless lookup; the trunk decides which bucket the source draws from.
      const c = this.#table.classify(source);
      const trusted = c.kind === "trunk" && !c.challenge;
      const rate = (trusted ? this.#trunkLimiter : this.#limiter).admit(source.host, message);
      if (rate.action !== "accept") {
        this.#stats.rateLimited++;
        if (rate.action === "reject" && rate.response !== undefined) {
          this.#sendStateless(source, rate.response);
        }
        return;
      }
      if (c.kind === "reject") {
        this.#stats.unknownSourceRejected++;
        const r = this.#table.rejectResponse(message, c.status);
        if (r !== undefined) {
          this.#sendStateless(source, r);
        }
        return;
      }
      if (!trusted && source.transport === "UDP") {
        // Issue 9 §6: an unauthenticated UDP request that reaches the user agent cannot steer where its transaction
        // answers (maddr, a Via naming another transport): every answer goes back to the packet's source over UDP
        // (RFC 3261 §18.2.2, RFC 3581 §4).
        const via = message.topVia;
        via.params.delete("maddr");
        via.transport = "UDP";
      }
      const inDialog = message.to.tag !== undefined || message.method === "ACK" || message.method === "CANCEL";
      if (c.kind === "trunk" && !c.challenge) {
        this.#pass(inbound, message, c.trunk);
        return;
      }
      if (inDialog || this.#digest === undefined) {
        // In-dialog requests belong to a dialog that was authenticated when it was created (else the UA says 481).
        this.#target.receive(inbound);
        return;
      }
      const verdict = this.#digest.authenticate(message);
      if (!verdict.ok) {
        this.#sendStateless(source, verdict.response);
        return;
      }
      const candidates = c.kind === "trunk" ? [c.trunk] : c.candidates;
      this.#pass(inbound, message, this.#table.trunkForCredentials(verdict.username, verdict.realm, candidates));
    } catch (err) {
      this.#target.warn("sip: admission failed; message dropped", { err: String(err) });
    }
  }

  /** Hands an admitted request on, carrying the trunk it was admitted for. */
  #pass(inbound: InboundMessage, request: SipRequest, trunk: TrunkDefinition | undefined): void {
    request.trunk = trunk;
    this.#target.receive(inbound);
  }

  /**
   * A stateless answer (rate limit, overload, ACL, digest challenge) goes to the packet's source address, port and
   * transport only, never to a Via `maddr`/`received` the client wrote (issue 9 §6; RFC 3261 §18.2.2 with RFC 3581's
   * defence), and over a stream only on the connection the request came on: Korus never dials for a stranger.
   */
  #sendStateless(source: InboundMessage["source"], response: SipResponse): void {
    this.#target.sendStateless(response, {
      host: source.host,
      port: source.port,
      transport: source.transport,
      noDial: true,
    });
  }
}

/** The digest server of the `auth: digest` trunks (one realm, the first trunk's algorithms), or undefined. */
function digestServer(
  config: SipAdmissionConfig["digest"],
  table: TrunkTable,
  trunks: readonly TrunkDefinition[],
): DigestServer | undefined {
  const digestTrunks = trunks.filter((t) => t.auth === "digest");
  if (digestTrunks.length === 0) {
    return undefined;
  }
  const algorithms: readonly DigestAlgorithm[] | undefined = digestTrunks[0]?.digestAlgorithms;
  return new DigestServer({
    realm: config.realm,
    secret: config.secret === "" ? randomBytes(32) : Buffer.from(config.secret),
    lookup: table.digestLookup(digestTrunks),
    algorithms,
    nonceTtlMs: config.nonceTtlS * 1000,
  });
}
