/**
 * REGISTER client for registration trunks (RFC 3261 §10.2, sip-ims.md §2 "Registration trunks": Korus registers with
 * digest credentials, and inbound calls arrive at the registered Contact).
 *
 * - One Call-ID for every registration of this client, CSeq incremented on each REGISTER (§10.2: "A UA MUST use the
 *   same Call-ID for all registrations during a single boot cycle", "CSeq value MUST be incremented by one").
 * - 401/407: answered with digest credentials (RFC 3261 §22.2) and re-sent; the challenge is cached so refreshes are
 *   authenticated preemptively with an incremented nonce count. A second challenge on the same nonce without
 *   `stale=true` means wrong credentials: the attempt fails.
 * - 423 Interval Too Brief: re-sent with the registrar's Min-Expires (§10.2.8, §20.23).
 * - 2xx: the granted lifetime is the `expires` of our Contact in the response, else its Expires header, else what we
 *   asked for (§10.2.4). The refresh runs at half the lifetime or `refreshMarginS` before expiry, whichever is later,
 *   but no later than 90 % of it (sip-ims.md §3: "re-register at 50–90 % of the granted expiry").
 * - Failures (timeout, transport error, 403, 5xx, …): retried after Retry-After when given, otherwise with exponential
 *   back-off from `retryMinMs` to `retryMaxMs` (RFC 5626 §4.5 uses the same shape).
 * - stop(): REGISTER with `Expires: 0` for our Contact (§10.2.2) when registered, then Stopped.
 *
 * ```
 *  Idle ─start─▶ Registering ─2xx─▶ Registered ─refresh timer─▶ Registering
 *                    │  ▲                 │
 *             failure│  │retry timer      │stop()
 *                    ▼  │                 ▼
 *                 Retrying            Unregistering ─▶ Stopped   (stop() from any other state ─▶ Stopped)
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-10.2
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { SipUri } from "../message/uri.js";
import { generateTag } from "../message/responses.js";
import { systemClock, type Clock, type TimerHandle } from "../transaction/timers.js";
import type { SipDestination, TransportProtocol } from "../transport/SipTransport.js";
import { DigestClient } from "../auth/DigestClient.js";
import { DigestChallengeError } from "../auth/errors.js";
import type { RequestSender, SendOutcome } from "./OptionsKeepalive.js";
import { buildRequest, generateCallId, type LocalEndpoint } from "./requests.js";
import type { TrunkDefinition } from "./Trunk.js";
import { TypedEmitter } from "../TypedEmitter.js";

/** Registration state. */
export enum RegistrationState {
  Idle = "idle",
  Registering = "registering",
  Registered = "registered",
  Retrying = "retrying",
  Unregistering = "unregistering",
  Stopped = "stopped",
}

const TRANSITIONS: Record<RegistrationState, readonly RegistrationState[]> = {
  [RegistrationState.Idle]: [RegistrationState.Registering, RegistrationState.Stopped],
  [RegistrationState.Registering]: [
    RegistrationState.Registered,
    RegistrationState.Retrying,
    RegistrationState.Unregistering,
    RegistrationState.Stopped,
  ],
  [RegistrationState.Registered]: [
    RegistrationState.Registering,
    RegistrationState.Unregistering,
    RegistrationState.Stopped,
  ],
  [RegistrationState.Retrying]: [RegistrationState.Registering, RegistrationState.Stopped],
  [RegistrationState.Unregistering]: [RegistrationState.Stopped],
  [RegistrationState.Stopped]: [],
};

/** A successful registration. */
export interface Registered {
  readonly trunk: string;
  /** Lifetime granted by the registrar, in seconds. */
  readonly expires: number;
  /** When the refresh is scheduled, in ms from now. */
  readonly refreshInMs: number;
  /** Every binding the registrar listed (RFC 3261 §10.2.4: the 200 carries all current bindings). */
  readonly contacts: readonly string[];
}

/** A failed registration attempt. */
export interface RegistrationFailure {
  readonly trunk: string;
  /** Final status, or undefined for a timeout or transport error. */
  readonly status: number | undefined;
  readonly reason: string;
  /** When the next attempt runs, in ms from now. */
  readonly retryInMs: number;
}

/** Events of a {@link RegisterClient}. */
export type RegisterClientEvents = {
  stateChanged: [{ readonly from: RegistrationState; readonly to: RegistrationState }];
  registered: [Registered];
  failed: [RegistrationFailure];
  unregistered: [{ readonly trunk: string; readonly status: number | undefined }];
};

/** Options of a {@link RegisterClient}. */
export interface RegisterClientOptions {
  /** A trunk with `auth: register`. */
  readonly trunk: TrunkDefinition;
  readonly send: RequestSender;
  /** Local address for Via and the Contact. */
  readonly local: LocalEndpoint;
  readonly clock?: Clock;
  /** Contact URI to register (default `sip:<username>@<local>` with the trunk transport). */
  readonly contact?: string;
  /** Seconds before expiry to refresh (default 60; bounded to 50–90 % of the lifetime). */
  readonly refreshMarginS?: number;
  /** First retry delay after a failure, in ms (default 30 000). */
  readonly retryMinMs?: number;
  /** Largest retry delay, in ms (default 1 800 000). */
  readonly retryMaxMs?: number;
  readonly userAgent?: string;
  /** Client nonce generator for tests. */
  readonly cnonce?: () => string;
}

const TRANSPORTS: Record<TrunkDefinition["transport"], TransportProtocol> = { udp: "UDP", tcp: "TCP", tls: "TLS" };

/** Challenge/423 round trips allowed within one attempt before giving up. */
const MAX_ROUNDS = 4;

type AttemptResult =
  | { readonly ok: true; readonly response: SipResponse; readonly expires: number }
  | { readonly ok: false; readonly status: number | undefined; readonly reason: string; readonly retryAfterS?: number };

export class RegisterClient extends TypedEmitter<RegisterClientEvents> {
  readonly #trunk: TrunkDefinition;
  readonly #send: RequestSender;
  readonly #local: LocalEndpoint;
  readonly #clock: Clock;
  readonly #digest: DigestClient;
  readonly #destination: SipDestination;
  readonly #registrar: string;
  readonly #aor: string;
  readonly #contact: string;
  readonly #callId: string;
  readonly #fromTag = generateTag();
  readonly #margin: number;
  readonly #retryMin: number;
  readonly #retryMax: number;
  readonly #userAgent: string | undefined;
  #state = RegistrationState.Idle;
  #cseq = 0;
  #expires: number;
  #timer: TimerHandle = undefined;
  #failures = 0;
  #stopWanted = false;
  #stopped: Promise<void> | undefined;
  #resolveStopped: (() => void) | undefined;

  /** @throws {TypeError} when the trunk is not a registration trunk. */
  constructor(options: RegisterClientOptions) {
    super();
    const { trunk } = options;
    if (trunk.registration === undefined || trunk.credentials === undefined) {
      throw new TypeError(`trunk ${trunk.name}: REGISTER needs auth: register with a registrar and credentials`);
    }
    this.#trunk = trunk;
    this.#send = options.send;
    this.#local = options.local;
    this.#clock = options.clock ?? systemClock;
    this.#digest = new DigestClient(trunk.credentials, options.cnonce ? { cnonce: options.cnonce } : {});
    const transport = TRANSPORTS[trunk.transport];
    this.#destination = { host: trunk.registration.host, port: trunk.registration.port, transport };
    this.#registrar = trunk.registration.registrar;
    this.#aor = trunk.registration.aor;
    const host = options.local.host.includes(":") ? `[${options.local.host}]` : options.local.host;
    this.#contact =
      options.contact ??
      `sip:${trunk.credentials.username}@${host}:${options.local.port}${transport === "UDP" ? "" : `;transport=${transport.toLowerCase()}`}`;
    this.#callId = generateCallId(options.local.host);
    this.#expires = trunk.registration.expires;
    this.#margin = options.refreshMarginS ?? 60;
    this.#retryMin = options.retryMinMs ?? 30_000;
    this.#retryMax = options.retryMaxMs ?? 1_800_000;
    this.#userAgent = options.userAgent;
  }

  /** Current state. */
  get state(): RegistrationState {
    return this.#state;
  }

  /** The Contact URI being registered. */
  get contact(): string {
    return this.#contact;
  }

  /** Starts registering; idempotent. */
  start(): void {
    if (this.#state === RegistrationState.Idle) {
      this.#transition(RegistrationState.Registering);
      void this.#run();
    }
  }

  /**
   * Unregisters (when registered) and stops; resolves when Stopped. A REGISTER in flight completes first: if it
   * succeeded, the binding it created is removed.
   */
  stop(): Promise<void> {
    if (this.#state === RegistrationState.Stopped) {
      return Promise.resolve();
    }
    this.#stopWanted = true;
    if (this.#stopped === undefined) {
      this.#stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    }
    switch (this.#state) {
      case RegistrationState.Idle:
      case RegistrationState.Retrying:
        this.#transition(RegistrationState.Stopped);
        break;
      case RegistrationState.Registered:
        this.#transition(RegistrationState.Unregistering);
        void this.#unregister();
        break;
      default:
        // Registering or Unregistering: the running attempt finishes the job.
        break;
    }
    return this.#stopped;
  }

  /** The single validated transition function; it owns the timer (architecture.md §5.5). */
  #transition(to: RegistrationState): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(to)) {
      throw new Error(`RegisterClient: invalid state transition from ${from} to ${to}`);
    }
    if (this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#state = to;
    this.emit("stateChanged", { from, to });
    if (to === RegistrationState.Stopped) {
      this.#resolveStopped?.();
    }
  }

  #arm(ms: number, next: () => void): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      next();
    }, ms);
  }

  #isState(state: RegistrationState): boolean {
    return this.#state === state;
  }

  #request(expires: number): SipRequest {
    this.#cseq++;
    const request = buildRequest({
      method: "REGISTER",
      requestUri: this.#registrar,
      from: this.#aor,
      to: this.#aor,
      fromTag: this.#fromTag,
      callId: this.#callId,
      cseq: this.#cseq,
      transport: this.#destination.transport,
      local: this.#local,
      contact: `<${this.#contact}>;expires=${expires}`,
      ...(this.#userAgent !== undefined ? { userAgent: this.#userAgent } : {}),
      headers: [["Expires", String(expires)]],
    });
    this.#digest.reauthorize(request);
    return request;
  }

  /** One REGISTER exchange with challenge and 423 handling. */
  async #attempt(unregister: boolean): Promise<AttemptResult> {
    let expires = unregister ? 0 : this.#expires;
    let request = this.#request(expires);
    for (let round = 0; ; round++) {
      let outcome: SendOutcome;
      try {
        outcome = await this.#send(request, this.#destination);
      } catch (error) {
        return {
          ok: false,
          status: undefined,
          reason: `transport: ${error instanceof Error ? error.message : "error"}`,
        };
      }
      if (outcome === "timeout") {
        return { ok: false, status: undefined, reason: "timeout" };
      }
      const { status } = outcome;
      if (status >= 200 && status < 300) {
        return { ok: true, response: outcome, expires: unregister ? 0 : this.#granted(outcome, expires) };
      }
      if (round >= MAX_ROUNDS) {
        return { ok: false, status, reason: `${status} ${outcome.reason} after ${round} retries` };
      }
      if (status === 401 || status === 407) {
        const retry = this.#request(expires);
        try {
          this.#digest.authorize(retry, outcome);
        } catch (error) {
          if (error instanceof DigestChallengeError) {
            return { ok: false, status, reason: error.message };
          }
          throw error;
        }
        request = retry;
        continue;
      }
      if (status === 423 && !unregister) {
        // §10.2.8: "the UA MAY retry the registration with an expiration interval ... greater than or equal to the
        // Min-Expires".
        const min = Number(outcome.getHeader("Min-Expires")?.trim());
        if (!Number.isInteger(min) || min <= expires || min > 86_400) {
          return { ok: false, status, reason: "423 without a usable Min-Expires" };
        }
        expires = min;
        this.#expires = min;
        request = this.#request(expires);
        continue;
      }
      const retryAfter = Number(
        outcome
          .getHeader("Retry-After")
          ?.trim()
          .split(/[\s;(]/)[0],
      );
      return {
        ok: false,
        status,
        reason: `${status} ${outcome.reason}`,
        ...(Number.isInteger(retryAfter) && retryAfter > 0 ? { retryAfterS: retryAfter } : {}),
      };
    }
  }

  /** The lifetime granted for our Contact (RFC 3261 §10.2.4). */
  #granted(response: SipResponse, requested: number): number {
    try {
      const mine = response.contacts.find((c) => sameBinding(c.uri, this.#contact));
      const fromContact = mine?.expires;
      if (fromContact !== undefined) {
        return fromContact;
      }
      return response.expires ?? requested;
    } catch {
      // A malformed Contact in the 200 does not undo the registration; fall back to what was asked for.
      return requested;
    }
  }

  async #run(): Promise<void> {
    const result = await this.#attempt(false);
    if (this.#stopWanted) {
      if (result.ok && result.expires > 0) {
        this.#transition(RegistrationState.Unregistering);
        await this.#unregister();
      } else {
        this.#transition(RegistrationState.Stopped);
      }
      return;
    }
    if (result.ok && result.expires > 0) {
      this.#failures = 0;
      const g = result.expires;
      const refreshS = Math.min(0.9 * g, Math.max(0.5 * g, g - this.#margin));
      const refreshInMs = Math.round(refreshS * 1000);
      this.#transition(RegistrationState.Registered);
      let contacts: string[] = [];
      try {
        contacts = result.response.contacts.map(String);
      } catch {
        contacts = [];
      }
      this.emit("registered", { trunk: this.#trunk.name, expires: g, refreshInMs, contacts });
      if (this.#isState(RegistrationState.Registered)) {
        this.#arm(refreshInMs, () => {
          this.#transition(RegistrationState.Registering);
          void this.#run();
        });
      }
      return;
    }
    const status = result.ok ? result.response.status : result.status;
    const reason = result.ok ? "registrar granted 0 seconds" : result.reason;
    const backoff = Math.min(this.#retryMax, this.#retryMin * 2 ** Math.min(this.#failures, 20));
    const retryInMs = !result.ok && result.retryAfterS !== undefined ? result.retryAfterS * 1000 : backoff;
    this.#failures++;
    this.#transition(RegistrationState.Retrying);
    this.emit("failed", { trunk: this.#trunk.name, status, reason, retryInMs });
    if (this.#isState(RegistrationState.Retrying)) {
      this.#arm(retryInMs, () => {
        this.#transition(RegistrationState.Registering);
        void this.#run();
      });
    }
  }

  async #unregister(): Promise<void> {
    const result = await this.#attempt(true);
    this.emit("unregistered", {
      trunk: this.#trunk.name,
      status: result.ok ? result.response.status : result.status,
    });
    this.#transition(RegistrationState.Stopped);
  }
}

/** Compares a Contact URI from a 200 with ours by user, host and port (registrars may reorder or add parameters). */
function sameBinding(uri: unknown, contact: string): boolean {
  if (!(uri instanceof SipUri)) {
    return false;
  }
  const m = /^sips?:(?:([^@]*)@)?(\[[^\]]+\]|[^:;]+)(?::(\d+))?/i.exec(contact);
  if (!m) {
    return false;
  }
  return (
    uri.user === (m[1] ?? undefined) &&
    uri.host.toLowerCase() === (m[2] ?? "").toLowerCase() &&
    (uri.port ?? 5060) === Number(m[3] ?? 5060)
  );
}
