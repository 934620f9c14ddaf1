/**
 * OPTIONS keepalive for one trunk (sip-ims.md §3: "SBCs probe trunks and take a silent one out of service. ...
 * Probing the SBC from Korus marks trunks up or down"; RFC 3261 §11 OPTIONS).
 *
 * A probe is an out-of-dialog OPTIONS sent through an injected non-INVITE sender; its transaction layer owns
 * retransmissions and Timer F. Probes never overlap: the next one starts `intervalMs` after the previous one
 * started, or at once if it took longer. The trunk state follows the results with hysteresis: `upAfter` consecutive
 * answered probes mark it up, `downAfter` consecutive failures (timeout, transport error, or a status the peer uses to
 * say "out of service": 408, 503 by default) mark it down. Any other final response, 404 or 405 included, proves the
 * peer is alive (RFC 3261 §11.2 lets it answer OPTIONS as it would an INVITE).
 *
 * ```
 *            upAfter answered              downAfter failed
 *  Unknown ───────────────────▶ Up ◀──────────────────────▶ Down
 *     │                          ▲      upAfter answered     ▲
 *     └──────────────────────────┼───────────────────────────┘  downAfter failed
 *  (any) ── stop() ──▶ Stopped (terminal)
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-11
 */

import type { SipRequest, SipResponse } from "../message/SipMessage.js";
import { systemClock, type Clock, type TimerHandle } from "../transaction/timers.js";
import type { SipDestination, TransportProtocol } from "../transport/SipTransport.js";
import { buildRequest, generateCallId, type LocalEndpoint } from "./requests.js";
import { keepaliveTarget, type TrunkDefinition } from "./Trunk.js";
import { TypedEmitter } from "../TypedEmitter.js";

/** Reachability of a trunk. */
export enum TrunkState {
  Unknown = "unknown",
  Up = "up",
  Down = "down",
  Stopped = "stopped",
}

/** What a non-INVITE sender reports: the final response, or that the transaction timed out (Timer F). */
export type SendOutcome = SipResponse | "timeout";

/**
 * Sends a non-INVITE request as a client transaction and resolves with its final response or `"timeout"`.
 * A rejection (transport failure) counts as a failed probe.
 */
export type RequestSender = (request: SipRequest, destination: SipDestination) => Promise<SendOutcome>;

/** One finished probe. */
export interface ProbeResult {
  readonly trunk: string;
  /** True when the answer proves the peer is in service. */
  readonly alive: boolean;
  /** Final status, or undefined on timeout / transport failure. */
  readonly status: number | undefined;
  /** `"timeout"`, `"transport"` or the status reason, for logs. */
  readonly detail: string;
  /** Round trip in ms on the monitor's clock. */
  readonly rttMs: number;
}

/** A state change. */
export interface TrunkStateChange {
  readonly trunk: string;
  readonly from: TrunkState;
  readonly to: TrunkState;
  /** The probe that caused it (absent for stop()). */
  readonly probe: ProbeResult | undefined;
}

/** Events of an {@link OptionsKeepalive}. */
export type OptionsKeepaliveEvents = {
  probe: [ProbeResult];
  stateChanged: [TrunkStateChange];
};

/** Options of an {@link OptionsKeepalive}. */
export interface OptionsKeepaliveOptions {
  readonly trunk: TrunkDefinition;
  readonly send: RequestSender;
  /** Local address advertised in Via/From (the SIP listener's public address). */
  readonly local: LocalEndpoint;
  readonly clock?: Clock;
  /** Statuses that mean "out of service" (default 408 and 503). */
  readonly downStatuses?: readonly number[];
  /** User part of the From URI (default `korus`). */
  readonly fromUser?: string;
  readonly userAgent?: string;
}

const TRANSPORTS: Record<TrunkDefinition["transport"], TransportProtocol> = { udp: "UDP", tcp: "TCP", tls: "TLS" };

// Legal transitions (architecture.md §5.5): the one validated function below owns the timer.
const TRANSITIONS: Record<TrunkState, readonly TrunkState[]> = {
  [TrunkState.Unknown]: [TrunkState.Up, TrunkState.Down, TrunkState.Stopped],
  [TrunkState.Up]: [TrunkState.Down, TrunkState.Stopped],
  [TrunkState.Down]: [TrunkState.Up, TrunkState.Stopped],
  [TrunkState.Stopped]: [],
};

export class OptionsKeepalive extends TypedEmitter<OptionsKeepaliveEvents> {
  readonly #trunk: TrunkDefinition;
  readonly #send: RequestSender;
  readonly #clock: Clock;
  readonly #local: LocalEndpoint;
  readonly #downStatuses: ReadonlySet<number>;
  readonly #fromUser: string;
  readonly #userAgent: string | undefined;
  readonly #destination: SipDestination;
  #state = TrunkState.Unknown;
  /** Pending probe timer; `undefined` when none (TimerHandle is opaque). */
  #timer: TimerHandle = undefined;
  #started = false;
  #successes = 0;
  #failures = 0;
  #cseq = 0;
  /** One Call-ID per monitor; CSeq increases per probe (RFC 3261 §8.1.1.5). */
  readonly #callId: string;

  /** @throws {TypeError} when the trunk has no probe target or probing is disabled for it. */
  constructor(options: OptionsKeepaliveOptions) {
    super();
    const target = keepaliveTarget(options.trunk);
    if (target === undefined || options.trunk.keepalive.intervalMs <= 0) {
      throw new TypeError(`trunk ${options.trunk.name}: OPTIONS keepalive is disabled or has no target`);
    }
    this.#trunk = options.trunk;
    this.#send = options.send;
    this.#clock = options.clock ?? systemClock;
    this.#local = options.local;
    this.#downStatuses = new Set(options.downStatuses ?? [408, 503]);
    this.#fromUser = options.fromUser ?? "korus";
    this.#userAgent = options.userAgent;
    this.#destination = { host: target.host, port: target.port, transport: TRANSPORTS[target.transport] };
    this.#callId = generateCallId(options.local.host);
  }

  /** Current state. */
  get state(): TrunkState {
    return this.#state;
  }

  // A getter, so TypeScript does not narrow the state across awaits and listener calls.
  get #stopped(): boolean {
    return this.#state === TrunkState.Stopped;
  }

  /** Where probes go. */
  get destination(): SipDestination {
    return this.#destination;
  }

  /** Starts probing (the first probe goes out at once); idempotent. */
  start(): void {
    if (this.#started || this.#state === TrunkState.Stopped) {
      return;
    }
    this.#started = true;
    this.#schedule(0);
  }

  /** Stops probing for good; a probe in flight is ignored when it completes. Idempotent. */
  stop(): void {
    if (this.#state !== TrunkState.Stopped) {
      this.#transition(TrunkState.Stopped, undefined);
    }
  }

  /** The single validated transition function (architecture.md §5.5). */
  #transition(to: TrunkState, probe: ProbeResult | undefined): void {
    const from = this.#state;
    if (!TRANSITIONS[from].includes(to)) {
      throw new Error(`OptionsKeepalive: invalid state transition from ${from} to ${to}`);
    }
    this.#state = to;
    if (to === TrunkState.Stopped && this.#timer !== undefined) {
      this.#clock.clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.emit("stateChanged", { trunk: this.#trunk.name, from, to, probe });
  }

  #schedule(ms: number): void {
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      void this.#probe();
    }, ms);
  }

  #request(): SipRequest {
    const { host, port } = this.#destination;
    const h = host.includes(":") ? `[${host}]` : host;
    const localHost = this.#local.host.includes(":") ? `[${this.#local.host}]` : this.#local.host;
    this.#cseq++;
    return buildRequest({
      method: "OPTIONS",
      requestUri: `sip:${h}:${port}${this.#destination.transport === "UDP" ? "" : `;transport=${this.#destination.transport.toLowerCase()}`}`,
      from: `sip:${this.#fromUser}@${localHost}`,
      to: `sip:${h}:${port}`,
      transport: this.#destination.transport,
      local: this.#local,
      cseq: this.#cseq,
      callId: this.#callId,
      ...(this.#userAgent !== undefined ? { userAgent: this.#userAgent } : {}),
      headers: [["Accept", "application/sdp"]],
    });
  }

  async #probe(): Promise<void> {
    if (this.#state === TrunkState.Stopped) {
      return;
    }
    const started = this.#clock.now();
    let status: number | undefined;
    let detail: string;
    try {
      const outcome = await this.#send(this.#request(), this.#destination);
      if (outcome === "timeout") {
        detail = "timeout";
      } else {
        status = outcome.status;
        detail = `${outcome.status} ${outcome.reason}`;
      }
    } catch (error) {
      detail = `transport: ${error instanceof Error ? error.message : String(error)}`;
    }
    if (this.#stopped) {
      return;
    }
    const alive = status !== undefined && status >= 200 && !this.#downStatuses.has(status);
    const rttMs = this.#clock.now() - started;
    const probe: ProbeResult = { trunk: this.#trunk.name, alive, status, detail, rttMs };
    this.emit("probe", probe);
    if (this.#stopped) {
      return; // a listener stopped us
    }
    const { upAfter, downAfter, intervalMs } = this.#trunk.keepalive;
    if (alive) {
      this.#successes++;
      this.#failures = 0;
      if (this.#state !== TrunkState.Up && this.#successes >= upAfter) {
        this.#transition(TrunkState.Up, probe);
      }
    } else {
      this.#failures++;
      this.#successes = 0;
      if (this.#state !== TrunkState.Down && this.#failures >= downAfter) {
        this.#transition(TrunkState.Down, probe);
      }
    }
    if (!this.#stopped) {
      this.#schedule(Math.max(0, intervalMs - rttMs));
    }
  }
}
