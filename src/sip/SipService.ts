/**
 * The SIP service of the control plane (issue 5 §1, §3, §5; issue 3 §5–§7 wired into the server).
 *
 * - Listens on `sip.host`/`sip.port` (UDP and TCP, TLS on `sip.tls.port`) and admits each request before the user
 *   agent sees it: per-source rate limit (503 + Retry-After) → trunk ACL (`unknownSourceStatus`, stateless) → digest
 *   challenge for `auth: digest` trunks → {@link UserAgent}. Nothing is created for a rejected request.
 * - Runs an OPTIONS keepalive per trunk with `optionsIntervalS` and a REGISTER client per `auth: register` trunk.
 * - Hooks into the Kurento server ({@link KurentoExtension}): `korus.SipEndpoint` elements get a {@link SipLeg}
 *   (call/answer/reject/hangup, the getters, CallStateChanged); the `korus.SipGateway` singleton (id
 *   {@link SIP_GATEWAY_ID}) raises IncomingCall; an application claims a call by creating `SipEndpoint{callId}`.
 * - A call nobody claims within `sip.claimTimeoutMs` (at once when nobody subscribed to IncomingCall) follows the
 *   {@link DialPlan}.
 * - Feeds the CDR recorder for every SIP leg (and each WebRtcEndpoint's life), with RTP stats from a final getStats.
 * - `stop()`: BYE (or CANCEL/reject) to every live call, unregisters, closes the sockets.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { DTMF_OUT_EVENT, type JsonObject, type JsonValue } from "../../media/index.js";
import {
  hasControlChar,
  isHeaderName,
  isStackOwnedHeader,
  parseUri,
  SessionStateError,
  SipParseError,
  SipRequest,
  SipResponse,
  UserAgent,
  UserAgentError,
  type InboundMessage,
  type IncomingCall,
  type InviteSession,
  type MediaHandler,
  type SipTransport,
  type TerminationInfo,
} from "../../sip/index.js";
import { DigestServer } from "../../sip/auth/index.js";
import {
  keepaliveTarget,
  OptionsKeepalive,
  parseTrunkDefinitions,
  RegisterClient,
  SourceRateLimiter,
  statelessResponse,
  transactionSender,
  TrunkState,
  TrunkTable,
  type TrunkDefinition,
} from "../../sip/trunk/index.js";
import { connectionCap, openFileSoftLimit } from "../../sip/transport/fdLimit.js";
import type { StreamAdmission, StreamConnectionLimits } from "../../sip/transport/StreamConnections.js";
import { TcpTransport } from "../../sip/transport/TcpTransport.js";
import { LoadMonitor } from "../../sip/trunk/LoadMonitor.js";
import { TlsTransport } from "../../sip/transport/TlsTransport.js";
import { UdpTransport } from "../../sip/transport/UdpTransport.js";
import {
  CdrDirection,
  HangupSide,
  formatPChargingVector,
  type CdrRecorder,
  type LegStart,
  type LegStats,
} from "../cdr/index.js";
import type { KorusConfig } from "../config/schema.js";
import { KurentoError } from "../kurento/errors.js";
import type { ClassInfo } from "../kurento/kmd.js";
import type { KurentoExtension, KurentoServer } from "../kurento/KurentoServer.js";
import type { KObject } from "../kurento/ObjectRegistry.js";
import type { Logger } from "../logging/logger.js";
import { CallState } from "./CallState.js";
import { DialPlan } from "./DialPlan.js";
import { InternalClient, InternalRpcError } from "./InternalClient.js";
import { SipLeg, SipLegError } from "./SipLeg.js";

/** Object id of the SipGateway singleton (subscribe to its IncomingCall). */
export const SIP_GATEWAY_ID = "korus_SipGateway";

export type SipConfig = KorusConfig["sip"];

export interface SipServiceOptions {
  readonly config: SipConfig;
  readonly kurento: KurentoServer;
  readonly logger: Logger;
  /** CDR recorder (config `cdr.enabled`), or undefined. */
  readonly cdr?: CdrRecorder | undefined;
}

/** A media handler whose target is set when an application (or the dial plan) claims the call. */
class ClaimableMedia implements MediaHandler {
  target: MediaHandler | undefined;
  #need(): MediaHandler {
    if (this.target === undefined) {
      throw new SipLegError("the call has not been claimed by a SipEndpoint");
    }
    return this.target;
  }
  getOffer(request: Parameters<MediaHandler["getOffer"]>[0]): Promise<string> | string {
    return this.#need().getOffer(request);
  }
  setAnswer(sdp: string): Promise<void> | void {
    return this.#need().setAnswer(sdp);
  }
  processOffer(sdp: string): Promise<string> | string {
    return this.#need().processOffer(sdp);
  }
  close(): void {
    this.target?.close();
  }
}

/** An inbound call announced with IncomingCall and not claimed yet. */
export interface PendingCall {
  readonly callId: string;
  readonly session: InviteSession;
  readonly call: IncomingCall;
  readonly trunk: TrunkDefinition | undefined;
  readonly media: ClaimableMedia;
  timer: NodeJS.Timeout | undefined;
}

interface Tracked {
  readonly cdrId: string | undefined;
  leg: SipLeg | undefined;
  /** The CDR leg's start, kept by reference by the recorder: a claim fills in pipeline and element. */
  readonly start: LegStart | undefined;
}

/** What the CDR takes from an element at the end of its leg. */
interface FinalMedia {
  readonly stats?: LegStats | undefined;
  readonly transcoded?: boolean;
  /** SDP-style name of the codec the pipeline fed the element (`opus`, `PCMA`…). */
  readonly pipelineCodec?: string;
}

/** MediaPacket codec names (lower case) as SDP spells them, for CDRs. */
function sdpCodecName(codec: string): string {
  return codec === "opus" || codec === "telephone-event" ? codec : codec.toUpperCase();
}

/** Call options as the korus kmd CallOptions type carries them. */
interface KmdCallOptions {
  from?: string;
  displayName?: string;
  trunk?: string;
  headers?: Record<string, string>;
  ringTimeoutMs?: number;
}

const WILDCARDS = new Set(["0.0.0.0", "::", ""]);

/** Most extra headers one `call()` may carry, and the longest name and value (issue 9, defect 5). */
export const CALL_HEADER_LIMITS = { count: 32, nameLength: 64, valueLength: 2048 } as const;

/**
 * Validates the application text of `call(uri, options)` before any of it reaches a SIP message (issue 9, defect 5):
 * text that cannot be written into a header (a wrong type, a header name that is not a token, CR, LF, NUL or
 * another control character) is refused with MARSHALL_ERROR (40001), text that is well-formed but not allowed (a
 * header the stack owns such as Call-ID or Via, a URI carrying `?headers`, over the limits) with
 * MEDIA_OBJECT_ILLEGAL_PARAM_ERROR (40107). Each message names the parameter or header.
 * @returns the extra headers as `[name, value]` pairs.
 * @throws {KurentoError}
 */
export function validateCallText(uri: string, o: Record<string, unknown>): [string, string][] {
  const text = (name: string, v: unknown): void => {
    if (v !== undefined && typeof v !== "string") {
      throw new KurentoError("MARSHALL_ERROR", `'${name}' parameter should be a String`);
    }
    if (typeof v === "string" && hasControlChar(v)) {
      throw new KurentoError("MARSHALL_ERROR", `'${name}' holds CR, LF, NUL or another control character`);
    }
  };
  text("uri", uri);
  for (const key of ["from", "displayName", "trunk"]) {
    text(`options.${key}`, o[key]);
  }
  const from = o["from"];
  if (typeof from === "string" && from !== "") {
    let parsed;
    try {
      parsed = parseUri(from, "From");
    } catch (err) {
      throw new KurentoError(
        "MARSHALL_ERROR",
        `'options.from' is not a SIP URI: ${err instanceof SipParseError ? err.reason : String(err)}`,
      );
    }
    if (parsed.kind === "generic") {
      throw new KurentoError("MARSHALL_ERROR", "'options.from' is not a sip:, sips: or tel: URI");
    }
    if (parsed.kind === "sip" && parsed.headers.size > 0) {
      throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "'options.from' may not carry URI headers (?…)");
    }
  }
  if (/^sips?:/i.test(uri)) {
    try {
      const target = parseUri(uri, "target");
      if (target.kind === "sip" && target.headers.size > 0) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "'uri' may not carry URI headers (?…)");
      }
    } catch (err) {
      if (err instanceof KurentoError) {
        throw err;
      }
      // an unparsable target keeps its own error (UserAgentError → 40107)
    }
  }
  const raw = o["headers"];
  if (raw === undefined) {
    return [];
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new KurentoError("MARSHALL_ERROR", "'options.headers' parameter should be a String<> map");
  }
  const entries = Object.entries(raw);
  if (entries.length > CALL_HEADER_LIMITS.count) {
    throw new KurentoError(
      "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
      `'options.headers' has ${entries.length} headers; at most ${CALL_HEADER_LIMITS.count} are allowed`,
    );
  }
  const out: [string, string][] = [];
  for (const [name, value] of entries) {
    const shown = JSON.stringify(name);
    if (!isHeaderName(name) || name.length > CALL_HEADER_LIMITS.nameLength) {
      throw new KurentoError("MARSHALL_ERROR", `options.headers: header name ${shown} is not a SIP token`);
    }
    if (typeof value !== "string") {
      throw new KurentoError("MARSHALL_ERROR", `options.headers: header ${name} should be a String`);
    }
    if (hasControlChar(value)) {
      throw new KurentoError(
        "MARSHALL_ERROR",
        `options.headers: header ${name} holds CR, LF, NUL or another control character`,
      );
    }
    if (value.length > CALL_HEADER_LIMITS.valueLength) {
      throw new KurentoError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `options.headers: header ${name} is longer than ${CALL_HEADER_LIMITS.valueLength} characters`,
      );
    }
    if (isStackOwnedHeader(name)) {
      throw new KurentoError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `options.headers: header ${name} is set by Korus and cannot be given (use from/displayName for From)`,
      );
    }
    out.push([name, value]);
  }
  return out;
}

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

export class SipService {
  readonly ua: UserAgent;
  readonly trunks: readonly TrunkDefinition[];
  readonly publicHost: string;
  readonly #config: SipConfig;
  readonly #k: KurentoServer;
  readonly #log: Logger;
  readonly #cdr: CdrRecorder | undefined;
  readonly #table: TrunkTable;
  readonly #limiter: SourceRateLimiter;
  /** The bucket of sources that match an `auth: ip` trunk. */
  readonly #trunkLimiter: SourceRateLimiter;
  readonly #digest: DigestServer | undefined;
  readonly #owned: { close(): Promise<void> }[];
  readonly #trunkOfRequest = new WeakMap<SipRequest, TrunkDefinition>();
  readonly #mediaOfRequest = new WeakMap<SipRequest, ClaimableMedia>();
  readonly #pending = new Map<string, PendingCall>();
  readonly #legs = new Map<string, SipLeg>();
  readonly #tracked = new WeakMap<InviteSession, Tracked>();
  readonly #finalStats = new Map<string, Promise<FinalMedia>>();
  /** OPTIONS keepalive per trunk name (trunks with `optionsIntervalS` > 0 and a peer to probe). */
  readonly #keepalives = new Map<string, OptionsKeepalive>();
  readonly #registers: RegisterClient[] = [];
  readonly #webrtcLegs = new Set<string>();
  readonly #dialPlan: DialPlan;
  readonly #client: InternalClient;
  readonly #stats: SipAdmissionStats;
  readonly #load: LoadMonitor;
  #stopping = false;

  private constructor(
    options: SipServiceOptions,
    ua: UserAgent,
    table: TrunkTable,
    trunks: TrunkDefinition[],
    owned: { close(): Promise<void> }[],
    publicHost: string,
    stats: SipAdmissionStats,
  ) {
    this.#stats = stats;
    this.#load = new LoadMonitor({ thresholdMs: options.config.overloadLagMs });
    this.#load.start();
    this.#config = options.config;
    this.#k = options.kurento;
    this.#log = options.logger.child({ ns: "sip" });
    this.#cdr = options.cdr;
    this.ua = ua;
    this.#table = table;
    this.trunks = trunks;
    this.#owned = owned;
    this.publicHost = publicHost;
    const rl = options.config.rateLimit;
    this.#limiter = new SourceRateLimiter({ ratePerSecond: rl.ratePerSecond, burst: rl.burst });
    this.#trunkLimiter = new SourceRateLimiter({ ratePerSecond: rl.trunkRatePerSecond, burst: rl.trunkBurst });
    const digestTrunks = trunks.filter((t) => t.auth === "digest");
    const d = options.config.digest;
    this.#digest =
      digestTrunks.length === 0
        ? undefined
        : new DigestServer({
            realm: d.realm,
            secret: d.secret === "" ? randomBytes(32) : Buffer.from(d.secret),
            lookup: table.digestLookup(digestTrunks),
            algorithms: digestTrunks[0]?.digestAlgorithms,
            nonceTtlMs: d.nonceTtlS * 1000,
          });
    this.#client = new InternalClient(this.#k);
    this.#dialPlan = new DialPlan({
      rules: options.config.dialplan,
      unmatchedStatus: options.config.unmatchedStatus,
      client: this.#client,
      logger: this.#log,
      trunkNames: new Set(trunks.map((t) => t.name)),
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
    const holder: { service?: SipService } = {};
    const onMessage = (m: InboundMessage): void => {
      holder.service?.admit(m);
    };
    // Issue 9 §3/§9: counters, the accept-time ACL and connection limits sized under the open-file limit.
    const stats: SipAdmissionStats = {
      malformed: 0,
      overloadRejected: 0,
      rateLimited: 0,
      unknownSourceRejected: 0,
      connectionsRefused: 0,
    };
    const onParseError = (): void => {
      stats.malformed++;
    };
    const cl = cfg.connections;
    const soft = openFileSoftLimit();
    const maxTotal = connectionCap(cl.maxTotal, cl.fdReserve, soft);
    if (maxTotal < cl.maxTotal) {
      options.logger.warn(
        { maxTotal, configured: cl.maxTotal, openFileLimit: soft, fdReserve: cl.fdReserve },
        "sip: connection limit lowered to keep a descriptor reserve under the open-file limit",
      );
    }
    const connectionLimits: StreamConnectionLimits = {
      maxTotal,
      maxPerSource: cl.maxPerSource,
      idleTimeoutMs: cl.idleTimeoutS * 1000,
      partialMessageTimeoutMs: cl.partialMessageTimeoutMs,
    };
    const admission: StreamAdmission = {
      // A source every request of which would be refused anyway gets no connection (nor a TLS handshake).
      acceptSource: (host, transport) => table.classify({ host, port: 0, transport }).kind !== "reject",
      onRefused: () => {
        stats.connectionsRefused++;
      },
    };
    const owned: { close(): Promise<void> }[] = [];
    const transports: SipTransport[] = [];
    try {
      const udp = await UdpTransport.listen({ host: cfg.host, port: cfg.port, onMessage, onParseError });
      owned.push(udp);
      transports.push(udp);
      const tcp = await TcpTransport.listen({
        host: cfg.host,
        port: udp.address.port,
        onMessage,
        onParseError,
        connectionLimits,
        admission,
      });
      owned.push(tcp);
      transports.push(tcp);
      if (cfg.tls.port !== 0) {
        const tls = await TlsTransport.listen({
          host: cfg.host,
          port: cfg.tls.port,
          certFile: cfg.tls.certFile,
          keyFile: cfg.tls.keyFile,
          ...(cfg.tls.caFile === "" ? {} : { caFile: cfg.tls.caFile }),
          requestClientCert: cfg.tls.requestClientCert,
          onMessage,
          onParseError,
          connectionLimits,
          admission,
        });
        owned.push(tls);
        transports.push(tls);
      }
      const port = udp.address.port;
      const ua = new UserAgent({
        transports,
        host: publicHost,
        port,
        createMediaHandler: (call) => holder.service?.claimable(call) ?? new ClaimableMedia(),
      });
      const service = new SipService(options, ua, table, trunks, owned, publicHost, stats);
      holder.service = service;
      service.#wire();
      options.logger.info(
        { host: cfg.host, port, publicHost, tls: cfg.tls.port, trunks: trunks.map((t) => t.name) },
        "sip: listening",
      );
      return service;
    } catch (err) {
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
    return this.#pending.size;
  }

  /** Each trunk's reachability by OPTIONS keepalive (`unknown` until probed; trunks without keepalive stay so). */
  trunkStates(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const t of this.trunks) {
      out[t.name] = this.#keepalives.get(t.name)?.state ?? TrunkState.Unknown;
    }
    return out;
  }

  /** Admission counters since start (a copy), and the event-loop lag the overload guard last measured. */
  stats(): SipAdmissionStats & { lagMs: number; overloaded: boolean } {
    return { ...this.#stats, lagMs: Math.round(this.#load.lagMs), overloaded: this.#load.overloaded };
  }

  #wire(): void {
    this.ua.on("incomingCall", (session, call) => this.#incoming(session, call));
    this.ua.on("terminated", (session, info) => this.#ended(session, info));
    const local = { host: this.publicHost, port: this.ua.port };
    const send = transactionSender(this.ua.layer);
    for (const trunk of this.trunks) {
      if (trunk.keepalive.intervalMs > 0 && keepaliveTarget(trunk) !== undefined) {
        const k = new OptionsKeepalive({ trunk, send, local });
        k.on("stateChanged", (change) =>
          this.#log.info({ trunk: trunk.name, state: change.to }, "sip: trunk state changed"),
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
    this.#k.setExtension(this.#extension());
  }

  // ============================================================================================== admission

  /** @internal Every message a transport delivers: admission, then the user agent. Never throws. */
  admit(inbound: InboundMessage): void {
    try {
      const { message, source } = inbound;
      if (message instanceof SipResponse) {
        this.ua.receive(inbound);
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
        // Issue 9 §6: an unauthenticated UDP request that reaches the user agent cannot steer where its transaction answers (maddr, a Via naming another
        // transport): every answer goes back to the packet's source over UDP (RFC 3261 §18.2.2, RFC 3581 §4).
        const via = message.topVia;
        via.params.delete("maddr");
        via.transport = "UDP";
      }
      const inDialog = message.to.tag !== undefined || message.method === "ACK" || message.method === "CANCEL";
      if (c.kind === "trunk" && !c.challenge) {
        this.#trunkOfRequest.set(message, c.trunk);
        this.ua.receive(inbound);
        return;
      }
      if (inDialog || this.#digest === undefined) {
        // In-dialog requests belong to a dialog that was authenticated when it was created (else the UA says 481).
        this.ua.receive(inbound);
        return;
      }
      const verdict = this.#digest.authenticate(message);
      if (!verdict.ok) {
        this.#sendStateless(source, verdict.response);
        return;
      }
      const candidates = c.kind === "trunk" ? [c.trunk] : c.candidates;
      const trunk = this.#table.trunkForCredentials(verdict.username, verdict.realm, candidates);
      if (trunk !== undefined) {
        this.#trunkOfRequest.set(message, trunk);
      }
      this.ua.receive(inbound);
    } catch (err) {
      this.#log.warn({ err: String(err) }, "sip: admission failed; message dropped");
    }
  }

  /**
   * A stateless answer (rate limit, overload, ACL, digest challenge) goes to the packet's source address, port and
   * transport only, never to a Via `maddr`/`received` the client wrote (issue 9 §6; RFC 3261 §18.2.2 with RFC 3581's
   * defence), and over a stream only on the connection the request came on: Korus never dials for a stranger.
   */
  #sendStateless(source: InboundMessage["source"], response: SipResponse): void {
    this.ua.layer.sendStateless(response, {
      host: source.host,
      port: source.port,
      transport: source.transport,
      noDial: true,
    });
  }

  // ============================================================================================== inbound calls

  /** @internal The media handler of a new incoming call, bound when the call is claimed. */
  claimable(call: IncomingCall): ClaimableMedia {
    const media = new ClaimableMedia();
    this.#mediaOfRequest.set(call.request, media);
    return media;
  }

  #incoming(session: InviteSession, call: IncomingCall): void {
    const trunk = this.#trunkOfRequest.get(call.request);
    const media = this.#mediaOfRequest.get(call.request) ?? new ClaimableMedia();
    const id = call.identity;
    this.#track(session, {
      direction: CdrDirection.Inbound,
      callId: session.callId,
      trunk: trunk?.name ?? null,
      from: id.from.toString(),
      to: id.to.toString(),
      pai: id.assertedIdentity[0]?.toString() ?? null,
      pChargingVector: call.request.getHeader("P-Charging-Vector") ?? null,
      diversion: id.diversion,
      historyInfo: id.historyInfo,
    });
    if (this.#stopping) {
      session.reject(503, { cause: 41, text: "Shutting down" });
      return;
    }
    const pending: PendingCall = { callId: session.callId, session, call, trunk, media, timer: undefined };
    this.#pending.set(pending.callId, pending);
    session.on("terminated", () => this.#unpend(pending));
    const headers: JsonObject = { "Request-URI": id.requestUri };
    for (const name of ["Diversion", "History-Info", "P-Charging-Vector", "Privacy", "User-Agent", "Subject"]) {
      const v = call.request.getHeaders(name);
      if (v.length > 0) {
        headers[name] = v.join(", ");
      }
    }
    // A trunk bound to an application announces its calls to that application's sessions only (isolation).
    const audience = trunk?.application;
    const listeners = this.#k.audienceOf(SIP_GATEWAY_ID, "IncomingCall", audience);
    this.#k.emitEvent(
      SIP_GATEWAY_ID,
      "IncomingCall",
      {
        callId: session.callId,
        trunk: trunk?.name ?? "",
        from: id.from.uri.toString(),
        to: id.to.uri.toString(),
        pai: id.assertedIdentity[0]?.uri.toString() ?? "",
        headers,
      },
      audience,
    );
    const route = (): void => {
      if (this.#pending.get(pending.callId) === pending) {
        this.#unpend(pending);
        void this.#dialPlan.route(pending);
      }
    };
    if (listeners === 0 || this.#config.claimTimeoutMs === 0) {
      setImmediate(route);
    } else {
      pending.timer = setTimeout(route, this.#config.claimTimeoutMs);
      pending.timer.unref();
    }
  }

  #unpend(pending: PendingCall): void {
    clearTimeout(pending.timer);
    if (this.#pending.get(pending.callId) === pending) {
      this.#pending.delete(pending.callId);
    }
  }

  /**
   * Claims an announced call for a new SipEndpoint (`callId` ctor param): binds its media and sends 180 Ringing.
   * The dial plan claims calls the same way (through the public API), after the claim timeout removed them from the
   * pending table; it passes them back through {@link adopt}.
   */
  #claim(leg: SipLeg, callId: string, application: string | null = null): void {
    const pending = this.#pending.get(callId) ?? this.#dialPlan.adoptable(callId);
    if (
      pending === undefined ||
      pending.session.termination !== undefined ||
      !this.#k.reaches(application, pending.trunk?.application) // another application's call looks like none
    ) {
      throw new KurentoError(
        "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
        `no incoming call with callId '${callId}' waits to be claimed`,
      );
    }
    this.#unpend(pending);
    this.#dialPlan.adopted(callId);
    const id = pending.call.identity;
    pending.media.target = leg.mediaHandler();
    leg.bind(pending.session, pending.trunk, id.from.uri.toString());
    const tracked = this.#tracked.get(pending.session);
    if (tracked !== undefined) {
      tracked.leg = leg;
    }
    if (tracked?.start !== undefined) {
      tracked.start.pipelineId = leg.pipelineId;
      tracked.start.elementId = leg.elementId;
      if (tracked.cdrId !== undefined) {
        this.#cdr?.touched(tracked.cdrId); // journaled with the next batch
      }
    }
    pending.session.progress().catch((err: unknown) => {
      this.#log.debug({ err: String(err), callId }, "sip: 180 not sent");
    });
  }

  // ============================================================================================== outbound calls

  #call(leg: SipLeg, uri: string, raw: JsonValue | undefined): null {
    if (leg.session !== undefined) {
      throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", "this SipEndpoint already has a call");
    }
    if (this.#stopping) {
      throw new KurentoError("NOT_ENOUGH_RESOURCES", "the SIP service is shutting down");
    }
    const given = typeof raw === "object" && raw !== null && !Array.isArray(raw) ? raw : {};
    const headers = validateCallText(uri, given);
    const o = given as KmdCallOptions;
    let trunk: TrunkDefinition | undefined;
    if (typeof o.trunk === "string" && o.trunk !== "") {
      trunk = this.trunks.find((t) => t.name === o.trunk);
      if (trunk === undefined) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `unknown trunk '${o.trunk}'`);
      }
    }
    const trunkDown = trunk !== undefined && this.#keepalives.get(trunk.name)?.state === TrunkState.Down;
    const target = trunk === undefined ? undefined : keepaliveTarget(trunk);
    let requestUri = uri;
    if (!/^(sips?|tel):/i.test(uri)) {
      if (target === undefined) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", `'${uri}' is not a SIP URI and no trunk was given`);
      }
      const host = target.host.includes(":") ? `[${target.host}]` : target.host;
      requestUri = `sip:${uri}@${host}:${target.port}`;
    }
    const from =
      typeof o.from === "string" && o.from !== ""
        ? o.from
        : this.#config.defaultFrom !== ""
          ? this.#config.defaultFrom
          : `sip:korus@${this.publicHost}`;
    const cdrId = this.#cdr === undefined ? undefined : randomUUID();
    const start: LegStart = {
      direction: CdrDirection.Outbound,
      pipelineId: leg.pipelineId,
      elementId: leg.elementId,
      trunk: trunk?.name ?? null,
      from,
      to: requestUri,
      pai: headers.find(([k]) => k.toLowerCase() === "p-asserted-identity")?.[1] ?? null,
    };
    if (cdrId !== undefined && this.#cdr !== undefined) {
      this.#cdr.started(cdrId, start);
      if (!headers.some(([k]) => k.toLowerCase() === "p-charging-vector")) {
        headers.push(["P-Charging-Vector", formatPChargingVector(this.#cdr.icid(cdrId) ?? "", this.publicHost)]);
      }
    }
    if (trunkDown && trunk !== undefined) {
      // The OPTIONS keepalive says the peer is out of service: fail now rather than after Timer B.
      if (cdrId !== undefined) {
        this.#cdr?.ended(cdrId, {
          hangupSide: HangupSide.System,
          sipStatus: 503,
          q850Cause: 38,
          endReason: "trunk-down",
        });
      }
      throw new KurentoError(
        "NOT_ENOUGH_RESOURCES",
        `trunk '${trunk.name}' is down (its OPTIONS keepalive fails); the call was not attempted`,
      );
    }
    let session: InviteSession;
    try {
      session = this.ua.call(requestUri, {
        from,
        ...(typeof o.displayName === "string" && o.displayName !== "" ? { displayName: o.displayName } : {}),
        media: leg.mediaHandler(),
        headers,
        ...(typeof o.ringTimeoutMs === "number" && o.ringTimeoutMs > 0 ? { ringTimeoutMs: o.ringTimeoutMs } : {}),
        ...(target === undefined
          ? {}
          : {
              destination: { host: target.host, port: target.port, transport: target.transport.toUpperCase() as "UDP" },
            }),
        ...(trunk?.credentials === undefined
          ? {}
          : {
              credentials: {
                username: trunk.credentials.username,
                password: trunk.credentials.password,
                realm: trunk.credentials.realm,
              },
            }),
      });
    } catch (err) {
      if (cdrId !== undefined) {
        this.#cdr?.ended(cdrId, { hangupSide: HangupSide.Local, sipStatus: 400, endReason: "bad-target" });
      }
      if (err instanceof UserAgentError) {
        throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", err.message);
      }
      throw err;
    }
    start.callId = session.callId; // the recorder keeps `start` by reference
    if (cdrId !== undefined) {
      this.#cdr?.touched(cdrId); // journaled with the next batch
    }
    this.#tracked.set(session, { cdrId, leg, start });
    this.#trackProgress(session, cdrId);
    leg.bind(session, trunk, requestUri);
    return null;
  }

  // ============================================================================================== CDRs

  #track(session: InviteSession, start: LegStart): void {
    const cdrId = this.#cdr === undefined ? undefined : randomUUID();
    if (cdrId !== undefined) {
      this.#cdr?.started(cdrId, start);
    }
    this.#tracked.set(session, { cdrId, leg: undefined, start });
    this.#trackProgress(session, cdrId);
  }

  #trackProgress(session: InviteSession, cdrId: string | undefined): void {
    if (cdrId === undefined) {
      return;
    }
    session.on("progress", () => this.#cdr?.ringing(cdrId));
    session.on("answered", () => this.#cdr?.answered(cdrId));
  }

  #ended(session: InviteSession, info: TerminationInfo): void {
    const tracked = this.#tracked.get(session);
    const cdrId = tracked?.cdrId;
    if (cdrId === undefined || this.#cdr === undefined) {
      return;
    }
    if (isMalformedInbound(tracked?.start, info)) {
      // Issue 9 §9: an INVITE whose request or offer Korus could not use never became a call: no CDR, a counter.
      this.#cdr.discard(cdrId);
      this.#stats.malformed++;
      return;
    }
    const noAck = info.ending === "no-ack";
    if (noAck) {
      this.#cdr.unanswered(cdrId); // our 2xx was never ACKed: the caller never saw the call connect; not billed
    }
    const leg = tracked?.leg;
    const stats = leg === undefined ? Promise.resolve<FinalMedia>({}) : this.#statsOf(leg);
    const cdr = this.#cdr;
    void stats.then(({ stats: s, transcoded, pipelineCodec }) => {
      if (leg !== undefined) {
        cdr.media(cdrId, {
          peerCodec: leg.answerCodec,
          ...(pipelineCodec === undefined ? {} : { pipelineCodec }),
          ...(transcoded === undefined ? {} : { transcoded }),
        });
      }
      const system = leg?.endCause?.cause === 41 || this.#stopping;
      cdr.ended(cdrId, {
        hangupSide: system ? HangupSide.System : info.by === "local" ? HangupSide.Local : HangupSide.Remote,
        sipStatus: noAck ? 408 : info.status,
        q850Cause: info.cause,
        endReason: leg?.endCause !== undefined ? "worker-died" : this.#stopping ? "shutdown" : info.ending,
        ...(s === undefined ? {} : { stats: s }),
        at: info.endedAt,
      });
    });
  }

  /** The leg's RTP stats: the final ones taken at release, or fresh ones from the live element. */
  #statsOf(leg: SipLeg): Promise<FinalMedia> {
    const final = this.#finalStats.get(leg.elementId);
    if (final !== undefined) {
      this.#finalStats.delete(leg.elementId);
      return final;
    }
    const obj = this.#k.objects.get(leg.elementId);
    return obj === undefined ? Promise.resolve({}) : this.#fetchStats(obj);
  }

  /**
   * getStats and isMediaTranscoding of the element in its worker, for the CDR; empty when the element or its worker
   * is gone. Both requests are posted at once, so they precede a release that follows in the same turn.
   */
  async #fetchStats(obj: KObject): Promise<FinalMedia> {
    if (obj.worker === null || obj.worker.dead) {
      return {};
    }
    const ask = (operation: string): Promise<JsonValue | undefined> =>
      obj.worker === null
        ? Promise.resolve(undefined)
        : obj.worker
            .request("object.invoke", { objectId: obj.id, operation, args: { mediaType: "AUDIO" } })
            .catch(() => undefined);
    const [stats, transcoding, pipelineCodec] = await Promise.all([
      ask("getStats"),
      ask("isMediaTranscoding"),
      ask("getPipelineAudioCodec"),
    ]);
    return {
      ...(stats === undefined ? {} : { stats: toLegStats(stats) }),
      ...(typeof transcoding === "boolean" ? { transcoded: transcoding } : {}),
      ...(typeof pipelineCodec === "string" ? { pipelineCodec: sdpCodecName(pipelineCodec) } : {}),
    };
  }

  // ============================================================================================== Kurento hooks

  #extension(): KurentoExtension {
    return {
      createSingleton: (cls: ClassInfo) => (cls.name === "SipGateway" ? SIP_GATEWAY_ID : undefined),
      elementCreated: (obj, ctor) => this.#elementCreated(obj, ctor),
      operation: (obj, op, args) => this.#operation(obj, op, args),
      objectsGone: (objects, reason) => this.#objectsGone(objects, reason),
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
    if (obj.cls.name === "WebRtcEndpoint" && this.#cdr !== undefined) {
      this.#cdr.started(obj.id, { direction: CdrDirection.WebRtc, pipelineId: obj.pipelineId, elementId: obj.id });
      this.#cdr.answered(obj.id);
      this.#webrtcLegs.add(obj.id);
      return;
    }
    if (obj.cls.name !== "SipEndpoint" || obj.worker === null || obj.pipelineId === null) {
      return;
    }
    const worker = obj.worker;
    const leg = new SipLeg(obj.id, obj.pipelineId, {
      invoke: (operation, args) => worker.request("object.invoke", { objectId: obj.id, operation, args }),
      emit: (event, data) => this.#k.emitEvent(obj.id, event, data),
      warn: (message, context) => this.#log.warn({ elementId: obj.id, ...context }, message),
    });
    const callId = ctor["callId"];
    if (typeof callId === "string" && callId !== "") {
      this.#claim(leg, callId, obj.application);
    }
    this.#legs.set(obj.id, leg);
  }

  #operation(obj: KObject, op: string, args: JsonObject): (() => JsonValue | Promise<JsonValue>) | undefined {
    if (obj.id === SIP_GATEWAY_ID) {
      if (op === "getRoom") {
        return async () => {
          try {
            return (await this.#dialPlan.room(typeof args["name"] === "string" ? args["name"] : "")).composite;
          } catch (err) {
            throw err instanceof InternalRpcError
              ? new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", err.message)
              : err;
          }
        };
      }
      return op === "getTrunks" ? () => this.trunks.map((t) => t.name) : undefined;
    }
    const leg = this.#legs.get(obj.id);
    if (leg === undefined) {
      return undefined;
    }
    const guarded = (fn: () => JsonValue | Promise<JsonValue>) => async (): Promise<JsonValue> => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof SipLegError || err instanceof SessionStateError) {
          throw new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", err.message);
        }
        throw err;
      }
    };
    switch (op) {
      case "call":
        return guarded(() => this.#call(leg, typeof args["uri"] === "string" ? args["uri"] : "", args["options"]));
      case "answer":
        return guarded(async () => {
          await leg.answer();
          return null;
        });
      case "reject":
        return guarded(() => {
          const status = typeof args["status"] === "number" ? args["status"] : 486;
          const reason = args["reason"];
          if (typeof reason === "string" && hasControlChar(reason)) {
            // It becomes the text of the Reason header (RFC 3326).
            throw new KurentoError("MARSHALL_ERROR", "'reason' holds CR, LF, NUL or another control character");
          }
          leg.reject(status, typeof reason === "string" ? reason : undefined);
          return null;
        });
      case "hangup":
        return guarded(() => {
          leg.hangup();
          return null;
        });
      case "getCallState":
        return () => leg.state;
      case "getSipCallId":
        return () => leg.sipCallId;
      case "getRemoteIdentity":
        return () => leg.remoteIdentity;
      case "generateOffer":
      case "processOffer":
      case "processAnswer":
        return () => {
          throw new KurentoError(
            "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED",
            `${op}: a SipEndpoint negotiates its SDP over SIP (use call/answer)`,
          );
        };
      default:
        return undefined;
    }
  }

  #objectsGone(objects: readonly KObject[], reason: "released" | "worker-died"): void {
    for (const obj of objects) {
      if (this.#webrtcLegs.delete(obj.id)) {
        const cdr = this.#cdr;
        const final = reason === "released" ? this.#fetchStats(obj) : Promise.resolve<FinalMedia>({});
        void final.then(({ stats: s, transcoded, pipelineCodec }) => {
          cdr?.media(obj.id, {
            peerCodec: "opus",
            ...(pipelineCodec === undefined ? {} : { pipelineCodec }),
            ...(transcoded === undefined ? {} : { transcoded }),
          });
          cdr?.ended(obj.id, {
            hangupSide: reason === "released" ? HangupSide.Local : HangupSide.System,
            endReason: reason === "released" ? "released" : "worker-died",
            ...(s === undefined ? {} : { stats: s }),
          });
        });
        continue;
      }
      const leg = this.#legs.get(obj.id);
      if (leg === undefined) {
        continue;
      }
      this.#legs.delete(obj.id);
      if (reason === "worker-died") {
        leg.endCause = { cause: 41, text: "Media worker died" };
      } else if (leg.session !== undefined && leg.state !== CallState.Terminated) {
        // Asked before the worker's release request, so the worker answers it first.
        this.#finalStats.set(obj.id, this.#fetchStats(obj));
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
    this.#load.stop();
    this.#k.setExtension(undefined);
    for (const p of [...this.#pending.values()]) {
      this.#unpend(p);
      try {
        p.session.reject(503, { cause: 41, text: "Shutting down" });
      } catch {
        // already ended
      }
    }
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

/**
 * True for an inbound INVITE refused by Korus itself with 400 Bad Request before any answer: a malformed request,
 * garbage, not a call. A well-formed offer that cannot be served (488 Not Acceptable Here, no common codec) is a
 * failed call attempt, and keeps its FAILED CDR: carriers count those.
 */
function isMalformedInbound(start: LegStart | undefined, info: TerminationInfo): boolean {
  return (
    start?.direction === CdrDirection.Inbound &&
    info.by === "local" &&
    info.answeredAt === undefined &&
    info.status === 400
  );
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

/** Kurento getStats records → CDR RTP stats (jitter in ms). */
function toLegStats(v: JsonValue): LegStats | undefined {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    return undefined;
  }
  let rxPackets = 0;
  let rxLost = 0;
  let jitter = 0;
  let txPackets = 0;
  let txLost = 0;
  let rtt: number | null = null;
  for (const r of Object.values(v)) {
    if (typeof r !== "object" || r === null || Array.isArray(r)) {
      continue;
    }
    const num = (k: string): number => (typeof r[k] === "number" ? r[k] : 0);
    if (r["type"] === "inboundrtp") {
      rxPackets += num("packetsReceived");
      rxLost += Math.max(0, num("packetsLost"));
      jitter = Math.max(jitter, num("jitter") * 1000);
    } else if (r["type"] === "outboundrtp") {
      txPackets += num("packetsSent");
      txLost += Math.max(0, num("packetsLost"));
      if (typeof r["roundTripTime"] === "number" && r["roundTripTime"] > 0) {
        rtt = r["roundTripTime"] * 1000;
      }
    }
  }
  return {
    rx: { packets: rxPackets, lost: rxLost, jitterMs: jitter, maxJitterMs: jitter },
    tx: { packets: txPackets, lost: txLost },
    rttMs: rtt,
  };
}
