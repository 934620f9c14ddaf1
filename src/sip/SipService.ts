/**
 * The SIP service of the control plane (issue 5 §1, §3, §5; issue 3 §5–§7 wired into the server): it builds the SIP
 * stack and wires its parts, one job per file (docs/sip-service.md):
 *
 * - listeners.ts opens UDP, TCP and TLS; sip/admission/SipAdmission.ts admits each message before the user agent
 *   sees it (overload, rate limit, trunk ACL, digest), and the admitted request carries its trunk;
 * - this file runs an OPTIONS keepalive per trunk with `optionsIntervalS` and a REGISTER client per `auth: register`
 *   trunk, and hooks into the Kurento server ({@link KurentoExtension}): `korus.SipEndpoint` elements get a
 *   {@link SipLeg}; the `korus.SipGateway` singleton (id {@link SIP_GATEWAY_ID}) raises IncomingCall;
 * - InboundCalls.ts announces and parks inbound calls until a SipEndpoint claims them (or the {@link DialPlan} does);
 *   OutboundCalls.ts places `SipEndpoint.call()`; SipOperations.ts answers the SIP objects' operations;
 * - SipCdr.ts feeds the CDR recorder for every SIP leg (WebRTC legs: src/cdr/webrtcCdr.ts, also without SIP);
 * - `stop()`: BYE (or CANCEL/reject) to every live call, unregisters, closes the sockets.
 */
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { DTMF_OUT_EVENT, type FinalMedia, type JsonObject, type JsonValue } from "../../media/index.js";
import { SipAdmission, type SipAdmissionStats } from "../../sip/admission/SipAdmission.js";
import { UserAgent } from "../../sip/index.js";
import {
  keepaliveTarget,
  OptionsKeepalive,
  parseTrunkDefinitions,
  RegisterClient,
  transactionSender,
  TrunkState,
  TrunkTable,
  type TrunkDefinition,
} from "../../sip/trunk/index.js";
import type { CdrRecorder } from "../cdr/index.js";
import type { KorusConfig } from "../config/schema.js";
import type { ClassInfo } from "../kurento/kmd.js";
import type { KurentoExtension, KurentoServer } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { Logger } from "../logging/logger.js";
import { CallState } from "./CallState.js";
import { DialPlan } from "./DialPlan.js";
import { InboundCalls, SIP_GATEWAY_ID } from "./InboundCalls.js";
import { InternalClient } from "./InternalClient.js";
import { openListeners } from "./listeners.js";
import { OutboundCalls } from "./OutboundCalls.js";
import { ClaimableMedia } from "./PendingCall.js";
import { SipCdr } from "./SipCdr.js";
import { workerSipMedia } from "./SipEndpointMedia.js";
import { SipLeg } from "./SipLeg.js";
import { sipOperation } from "./SipOperations.js";

export { SIP_GATEWAY_ID } from "./InboundCalls.js";
export { CALL_HEADER_LIMITS, validateCallText } from "./OutboundCalls.js";
export type { PendingCall } from "./PendingCall.js";
export type { SipAdmissionStats } from "../../sip/admission/SipAdmission.js";

export type SipConfig = KorusConfig["sip"];

/** A trunk as the admin console shows it: keepalive state and the last OPTIONS probe (null until one finished). */
export interface TrunkDetail {
  name: string;
  state: string;
  lastOptions: { at: string; alive: boolean; status: number | null; rttMs: number } | null;
}

/** A live SIP leg as the admin console shows it. */
export interface SipCallInfo {
  elementId: string;
  pipelineId: string;
  state: string;
  direction: "inbound" | "outbound" | null;
  trunk: string | null;
  callId: string;
  remote: string;
  peerCodec: string | null;
}

export interface SipServiceOptions {
  readonly config: SipConfig;
  readonly kurento: KurentoServer;
  readonly logger: Logger;
  /** CDR recorder (config `cdr.enabled`), or undefined. */
  readonly cdr?: CdrRecorder | undefined;
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

export class SipService {
  readonly ua: UserAgent;
  readonly trunks: readonly TrunkDefinition[];
  readonly publicHost: string;
  readonly #k: KurentoServer;
  readonly #log: Logger;
  readonly #admission: SipAdmission;
  readonly #owned: { close(): Promise<void> }[];
  readonly #legs = new Map<string, SipLeg>();
  /** OPTIONS keepalive per trunk name (trunks with `optionsIntervalS` > 0 and a peer to probe). */
  readonly #keepalives = new Map<string, OptionsKeepalive>();
  /** The last finished OPTIONS probe per trunk name (for the admin console). */
  readonly #probes = new Map<string, TrunkDetail["lastOptions"]>();
  readonly #registers: RegisterClient[] = [];
  readonly #client: InternalClient;
  readonly #dialPlan: DialPlan;
  readonly #sipCdr: SipCdr;
  readonly #inbound: InboundCalls;
  readonly #outbound: OutboundCalls;
  #stopping = false;

  private constructor(
    options: SipServiceOptions,
    ua: UserAgent,
    admission: SipAdmission,
    trunks: TrunkDefinition[],
    owned: { close(): Promise<void> }[],
    publicHost: string,
  ) {
    const cfg = options.config;
    this.#k = options.kurento;
    this.#log = options.logger.child({ ns: "sip" });
    this.ua = ua;
    this.#admission = admission;
    this.trunks = trunks;
    this.#owned = owned;
    this.publicHost = publicHost;
    this.#client = new InternalClient(this.#k);
    this.#dialPlan = new DialPlan({
      rules: cfg.dialplan,
      unmatchedStatus: cfg.unmatchedStatus,
      client: this.#client,
      logger: this.#log,
      trunkNames: new Set(trunks.map((t) => t.name)),
      cdr: options.cdr,
    });
    const stopping = (): boolean => this.#stopping;
    this.#sipCdr = new SipCdr({
      recorder: options.cdr,
      kurento: this.#k,
      stopping,
      onMalformed: () => admission.countMalformed(),
    });
    this.#inbound = new InboundCalls({
      kurento: this.#k,
      dialPlan: this.#dialPlan,
      cdr: this.#sipCdr,
      claimTimeoutMs: cfg.claimTimeoutMs,
      stopping,
      logger: this.#log,
    });
    this.#outbound = new OutboundCalls({
      ua,
      trunks,
      trunkState: (name) => this.#keepalives.get(name)?.state ?? TrunkState.Unknown,
      defaultFrom: cfg.defaultFrom,
      publicHost,
      cdr: this.#sipCdr,
      stopping,
    });
  }

  /**
   * Opens the listeners and starts trunk monitoring, then installs the Kurento hooks.
   * @throws on a port already in use, unreadable TLS files, or a trunk list that does not validate.
   */
  static async start(options: SipServiceOptions): Promise<SipService> {
    const cfg = options.config;
    const trunks = parseTrunkDefinitions(cfg.trunks, "sip.trunks");
    const names = new Map<string, string[]>();
    for (const host of new TrunkTable(trunks).hostnames()) {
      try {
        names.set(
          host,
          (await lookup(host, { all: true })).map((a) => a.address),
        );
      } catch (err) {
        options.logger.warn({ host, err: String(err) }, "sip: trunk host name does not resolve; its peers are ignored");
      }
    }
    const table = new TrunkTable(trunks, { rejectStatus: cfg.unknownSourceStatus, resolved: names });
    const publicHost = cfg.publicHost !== "" ? cfg.publicHost : WILDCARDS.has(cfg.host) ? firstLanAddress() : cfg.host;
    // Admission comes before the user agent that it feeds; it reaches it through this late-bound reference.
    const late: { ua?: UserAgent } = {};
    const log = options.logger.child({ ns: "sip" });
    const admission = new SipAdmission({
      config: cfg,
      table,
      trunks,
      target: {
        receive: (m) => late.ua?.receive(m),
        sendStateless: (r, to) => late.ua?.layer.sendStateless(r, to),
        warn: (message, context) => log.warn(context, message),
      },
    });
    const { transports, owned, port } = await openListeners(cfg, admission, options.logger);
    try {
      const ua = new UserAgent({ transports, host: publicHost, port, createMediaHandler: () => new ClaimableMedia() });
      late.ua = ua;
      const service = new SipService(options, ua, admission, trunks, owned, publicHost);
      admission.start();
      service.#wire();
      options.logger.info(
        { host: cfg.host, port, publicHost, tls: cfg.tls.port, trunks: trunks.map((t) => t.name) },
        "sip: listening",
      );
      return service;
    } catch (err) {
      admission.stop();
      await Promise.all(owned.map((t) => t.close().catch(() => undefined)));
      throw err;
    }
  }

  /** The port UDP and TCP listen on. */
  get port(): number {
    return this.ua.port;
  }

  /** Pending (announced, unclaimed) inbound calls. */
  get pendingCalls(): number {
    return this.#inbound.size;
  }

  /** Each trunk's reachability by OPTIONS keepalive (`unknown` until probed; trunks without keepalive stay so). */
  trunkStates(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const t of this.trunks) {
      out[t.name] = this.#keepalives.get(t.name)?.state ?? TrunkState.Unknown;
    }
    return out;
  }

  /** Each trunk's keepalive state and last OPTIONS probe (admin console). */
  trunkDetails(): TrunkDetail[] {
    const states = this.trunkStates();
    return this.trunks.map((t) => ({
      name: t.name,
      state: states[t.name] ?? TrunkState.Unknown,
      lastOptions: this.#probes.get(t.name) ?? null,
    }));
  }

  /** The live SIP legs (admin console). */
  calls(): SipCallInfo[] {
    return [...this.#legs.values()].map((leg) => ({
      elementId: leg.elementId,
      pipelineId: leg.pipelineId,
      state: leg.state,
      direction: leg.session === undefined ? null : leg.session.role === "uas" ? "inbound" : "outbound",
      trunk: leg.trunk?.name ?? null,
      callId: leg.sipCallId,
      remote: leg.remoteIdentity,
      peerCodec: leg.answerCodec,
    }));
  }

  /** Admission counters since start (a copy), and the event-loop lag the overload guard last measured. */
  stats(): SipAdmissionStats & { lagMs: number; overloaded: boolean } {
    return this.#admission.stats();
  }

  #wire(): void {
    this.ua.on("incomingCall", (session, call) => this.#inbound.incoming(session, call));
    const local = { host: this.publicHost, port: this.ua.port };
    const send = transactionSender(this.ua.layer);
    for (const trunk of this.trunks) {
      if (trunk.keepalive.intervalMs > 0 && keepaliveTarget(trunk) !== undefined) {
        const k = new OptionsKeepalive({ trunk, send, local });
        k.on("stateChanged", (change) =>
          this.#log.info({ trunk: trunk.name, state: change.to }, "sip: trunk state changed"),
        );
        k.on("probe", (p) =>
          this.#probes.set(trunk.name, {
            at: new Date().toISOString(),
            alive: p.alive,
            status: p.status ?? null,
            rttMs: Math.round(p.rttMs),
          }),
        );
        k.start();
        this.#keepalives.set(trunk.name, k);
      }
      if (trunk.auth === "register") {
        const r = new RegisterClient({ trunk, send, local });
        r.on("failed", (f) => this.#log.warn({ trunk: trunk.name, failure: f }, "sip: registration failed"));
        r.start();
        this.#registers.push(r);
      }
    }
    const cls = this.#k.kmd.classByType("SipGateway");
    if (cls !== undefined && !this.#k.objects.has(SIP_GATEWAY_ID)) {
      this.#k.objects.add({ id: SIP_GATEWAY_ID, cls, pipelineId: null, parentId: null, worker: null });
    }
    this.#k.hooks.add("korus", this.#extension());
  }

  // ============================================================================================== Kurento hooks

  #extension(): KurentoExtension {
    return {
      createSingleton: (cls: ClassInfo) => (cls.name === "SipGateway" ? SIP_GATEWAY_ID : undefined),
      elementCreated: (obj, ctor) => this.#elementCreated(obj, ctor),
      operation: (obj, op, args) => this.#operation(obj, op, args),
      objectsGone: (objects, reason, final) => this.#objectsGone(objects, reason, final),
      workerEvent: (objectId, event, data) => this.#workerEvent(objectId, event, data),
    };
  }

  /** `korus:DtmfOut` from a SipEndpoint in `info` DTMF mode: the digit leaves as a SIP INFO. */
  #workerEvent(objectId: string, event: string, data: JsonObject): boolean {
    if (event !== DTMF_OUT_EVENT) {
      return false;
    }
    const { digit, durationMs, gapMs } = data;
    const leg = this.#legs.get(objectId);
    if (leg !== undefined && typeof digit === "string" && typeof durationMs === "number") {
      leg.sendInfoDigit(digit, durationMs, typeof gapMs === "number" ? gapMs : 50);
    }
    return true;
  }

  #elementCreated(obj: KObject, ctor: JsonObject): void {
    if (obj.cls.name !== "SipEndpoint" || obj.worker === null || obj.pipelineId === null) {
      return;
    }
    const leg = new SipLeg(obj.id, obj.pipelineId, {
      media: workerSipMedia(obj.worker, obj.id),
      emit: (event, data) => this.#k.emitEvent(obj.id, event, data),
      warn: (message, context) => this.#log.warn({ elementId: obj.id, ...context }, message),
    });
    const callId = ctor["callId"];
    if (typeof callId === "string" && callId !== "") {
      this.#inbound.claim(leg, callId, obj.application);
    }
    this.#legs.set(obj.id, leg);
  }

  #operation(obj: KObject, op: string, args: JsonObject): (() => JsonValue | Promise<JsonValue>) | undefined {
    return sipOperation(
      { legs: this.#legs, dialPlan: this.#dialPlan, trunks: this.trunks, outbound: this.#outbound },
      obj,
      op,
      args,
    );
  }

  /** SIP legs whose element left: the call hangs up, its CDR taking the facts the release returned (`final`). */
  #objectsGone(
    objects: readonly KObject[],
    reason: "released" | "worker-died",
    final: Promise<Readonly<Record<string, FinalMedia>>>,
  ): void {
    for (const obj of objects) {
      const leg = this.#legs.get(obj.id);
      if (leg === undefined) {
        continue;
      }
      this.#legs.delete(obj.id);
      if (reason === "worker-died") {
        leg.endCause = { cause: 41, text: "Media worker died" };
      } else if (leg.session !== undefined && leg.state !== CallState.Terminated) {
        // The call ends with the hang-up below; its CDR takes the facts the release returns.
        this.#sipCdr.keepFinalStats(obj, final);
      }
      if (leg.state !== CallState.Terminated) {
        leg.hangup();
      }
    }
  }

  // ============================================================================================== shutdown

  /**
   * Ends every call (BYE when answered, CANCEL or a 503 rejection before), stops keepalives, unregisters, and
   * closes the sockets once the BYEs had a moment to go out.
   */
  async stop(): Promise<void> {
    if (this.#stopping) {
      return;
    }
    this.#stopping = true;
    this.#admission.stop();
    this.#k.hooks.remove("korus");
    this.#inbound.rejectAll();
    for (const leg of this.#legs.values()) {
      leg.endCause = undefined;
      leg.hangup();
    }
    for (const session of this.ua.sessions) {
      session.hangup({ cause: 16, status: 503, text: "Shutting down" });
    }
    for (const k of this.#keepalives.values()) {
      k.stop();
    }
    await Promise.all(this.#registers.map((r) => r.stop().catch(() => undefined)));
    // Give BYEs a moment for their 200 (bounded): the sessions end on the response or on the transaction timeout.
    const deadline = Date.now() + 2000;
    while (this.ua.sessions.length > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
    }
    this.#client.close();
    await this.ua.close();
    await Promise.all(this.#owned.map((t) => t.close().catch(() => undefined)));
  }
}

/** The first non-internal IPv4 address (as RtpEndpoint announces in SDP), else 127.0.0.1. */
function firstLanAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === "IPv4" && !a.internal) {
        return a.address;
      }
    }
  }
  return "127.0.0.1";
}
