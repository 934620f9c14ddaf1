/**
 * The user agent: the gateway-facing API of the SIP stack (issue 3 §7). It owns the transaction layer over a set of
 * transports, keeps the dialog table, answers what needs no application (OPTIONS, 405/406/415/416/420/422/481/500/
 * 503), and hands each call to an {@link InviteSession}.
 *
 * ```ts
 * const ua = await UserAgent.listen({ bindHost: "0.0.0.0", publicHost: "192.0.2.1", port: 5060,
 *   createMediaHandler: (call) => mediaFor(call) });   // or new UserAgent({ transports, host, port, … }) + receive()
 * ua.on("incomingCall", (session, call) => { void session.progress({ earlyMedia: true }); void session.answer(); });
 * ua.on("terminated", (session, info) => cdr.write(session.callId, info));
 * const out = ua.call("sip:+4930123@carrier.example", { from: "sip:+4940111@korus.example", media });
 * ```
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-8.2
 */

import { SdpParseError, SessionDescription } from "../../sdp/index.js";
import type { DigestCredentials } from "../auth/index.js";
import { requestDialogKey, dialogKey, uriDestination, type Dialog } from "../dialog/Dialog.js";
import { SipParseError } from "../errors.js";
import { getLogger } from "../logger.js";
import { NameAddr } from "../message/NameAddr.js";
import { createResponse, generateBranch, generateTag } from "../message/responses.js";
import { SipRequest, type SipResponse } from "../message/SipMessage.js";
import { parseUri } from "../message/uri.js";
import { Via } from "../message/Via.js";
import { TransactionState } from "../transaction/TransactionState.js";
import type { InviteServerTransaction } from "../transaction/InviteServerTransaction.js";
import { timerTable, type Clock, type TimerBase, type TimerTable } from "../transaction/timers.js";
import {
  TransactionLayer,
  type ServerTransaction,
  type TransactionLayerCore,
} from "../transaction/TransactionLayer.js";
import type { InboundMessage, SipDestination, SipTransport } from "../transport/SipTransport.js";
import { TcpTransport } from "../transport/TcpTransport.js";
import { UdpTransport } from "../transport/UdpTransport.js";
import {
  ACCEPTED_TYPES,
  ALLOWED_METHODS,
  captureIdentity,
  parseSessionExpires,
  SUPPORTED_OPTIONS,
  unsupportedRequire,
  type CallIdentity,
} from "./headers.js";
import { InviteSession, type SessionHost, type SessionTimerConfig, type TerminationInfo } from "./InviteSession.js";
import type { MediaHandler } from "./MediaHandler.js";
import { TypedEmitter } from "../TypedEmitter.js";

/** What an incoming call carries besides its session. */
export interface IncomingCall {
  /** From, To, PAI, Privacy, Diversion, History-Info, P-Charging-Vector, Call-ID, source address. */
  readonly identity: CallIdentity;
  /** The parsed SDP offer, when the INVITE had one (an offerless INVITE gets our offer in the 2xx). */
  readonly offer: SessionDescription | undefined;
  /** The INVITE itself, for headers the gateway wants beyond the identity set. */
  readonly request: SipRequest;
}

/** Events of a {@link UserAgent}. */
export interface UserAgentEvents {
  /** A new call arrived; the listener calls `progress`, `answer` or `reject` on the session. */
  incomingCall: [session: InviteSession, call: IncomingCall];
  /** A call ended (either direction), with what a CDR needs. */
  terminated: [session: InviteSession, info: TerminationInfo];
}

/** Options of a {@link UserAgent}. */
export interface UserAgentOptions {
  /** Transports to send on, one per protocol; deliver what they receive to {@link UserAgent.receive}. */
  readonly transports: readonly SipTransport[];
  /** Our address as peers reach it (Via sent-by, Contact). */
  readonly host: string;
  readonly port: number;
  /** Media for incoming calls, one handler per call. */
  readonly createMediaHandler: (call: IncomingCall) => MediaHandler;
  /** User part of our Contact. Default `korus`. */
  readonly contactUser?: string;
  /** User-Agent / Server header. Default `Korus`. */
  readonly userAgentName?: string;
  /** Session timers (RFC 4028). Defaults: enabled, 1800 s, Min-SE 90 s. */
  readonly sessionTimer?: Partial<SessionTimerConfig>;
  /** Most concurrent calls; further INVITEs get 503 with Retry-After. Default 10000. */
  readonly maxSessions?: number;
  /**
   * An incoming call the application neither answers nor rejects within this time is rejected with 480 (cause 19,
   * no answer), so a silent application cannot pin a transaction forever. Default 180000 (the Timer C value).
   */
  readonly incomingTimeoutMs?: number;
  /** Most live transactions (see {@link TransactionLayer}). */
  readonly maxTransactions?: number;
  readonly clock?: Clock;
  readonly timerBase?: TimerBase;
  /** Wall clock for CDR timestamps. Default `Date.now`. */
  readonly now?: () => number;
  /** Random source for glare back-off and RSeq. Default `Math.random`. */
  readonly random?: () => number;
}

/** Options of {@link UserAgent.call}. */
export interface CallOptions {
  /** Our identity (From URI). */
  readonly from: string;
  readonly displayName?: string;
  /** To URI; default the target. */
  readonly to?: string;
  /** Media handler of this call. */
  readonly media: MediaHandler;
  /** Extra headers (P-Asserted-Identity, Privacy, Diversion, P-Charging-Vector, …). */
  readonly headers?: readonly (readonly [string, string])[];
  /** CANCEL after this many milliseconds without an answer. */
  readonly ringTimeoutMs?: number;
  /** Next hop; default from the target URI (numeric hosts; no RFC 3263 DNS). */
  readonly destination?: SipDestination;
  /** Send the INVITE without an offer (the peer offers in its 2xx, we answer in the ACK). */
  readonly offerless?: boolean;
  /** Credentials for a 401/407 challenge (digest, RFC 3261 §22). */
  readonly credentials?: DigestCredentials;
}

/** Options of {@link UserAgent.listen}: the user agent's options without transports. */
export interface ListenOptions extends Omit<UserAgentOptions, "transports" | "host" | "port"> {
  /** Address to bind (default `0.0.0.0`, config key `sip.host`). */
  readonly bindHost?: string;
  /** Port for UDP and TCP (config key `sip.port`, env KORUS_SIP_PORT; 0 = ephemeral, TCP then takes UDP's). */
  readonly port: number;
  /** Address announced in Via and Contact (default: `bindHost`, which must then not be a wildcard). */
  readonly publicHost?: string;
  /** Also listen on TCP (default true). */
  readonly tcp?: boolean;
}

/** Raised by {@link UserAgent.call} for a target it cannot route. */
export class UserAgentError extends Error {
  override readonly name = "UserAgentError";
}

export class UserAgent extends TypedEmitter<UserAgentEvents> {
  readonly #layer: TransactionLayer;
  readonly #options: UserAgentOptions;
  readonly #timers: TimerTable;
  readonly #sessionTimer: SessionTimerConfig;
  readonly #dialogs = new Map<string, { readonly dialog: Dialog; readonly session: InviteSession }>();
  readonly #byInviteTx = new Map<string, InviteSession>();
  readonly #byCall = new Map<string, InviteSession>();
  readonly #sessions = new Set<InviteSession>();
  readonly #logger = getLogger("sip:ua");
  readonly #host: SessionHost;
  #owned: { close(): Promise<void> }[] = [];

  constructor(options: UserAgentOptions) {
    super();
    this.#options = options;
    this.#timers = timerTable(false, options.timerBase);
    this.#sessionTimer = {
      enabled: options.sessionTimer?.enabled ?? true,
      expires: options.sessionTimer?.expires ?? 1800,
      minSE: Math.max(90, options.sessionTimer?.minSE ?? 90),
    };
    const core: TransactionLayerCore = {
      onRequest: (request, tx, source) => this.#onRequest(request, tx, source),
      onAck: (ack) => this.#onAck(ack),
      onCancel: (cancel, invite) => this.#onCancel(cancel, invite),
      onStrayResponse: (response) => this.#onStrayResponse(response),
    };
    this.#layer = new TransactionLayer({
      transports: options.transports,
      core,
      clock: options.clock,
      timerBase: options.timerBase,
      maxTransactions: options.maxTransactions,
    });
    const now = options.now ?? Date.now;
    const random = options.random ?? Math.random;
    this.#host = {
      layer: this.#layer,
      timers: this.#timers,
      sessionTimer: this.#sessionTimer,
      userAgentName: options.userAgentName ?? "Korus",
      now,
      random,
      contact: (destination) => this.#contact(destination),
      stampVia: (request, destination) => this.#stampVia(request, destination),
      route: (request, destination) => this.#route(request, destination),
      registerDialog: (dialog, session) => {
        this.#dialogs.set(dialog.key, { dialog, session });
      },
      unregisterDialog: (dialog) => {
        if (this.#dialogs.get(dialog.key)?.dialog === dialog) {
          this.#dialogs.delete(dialog.key);
        }
      },
      sessionEnded: (session, info) => this.#sessionEnded(session, info),
    };
  }

  /** The transaction layer (for wiring and metrics). */
  get layer(): TransactionLayer {
    return this.#layer;
  }

  /** Sizes of every table the user agent keeps; all zero when no call is up and all timers ran out. */
  get stats(): {
    readonly sessions: number;
    readonly dialogs: number;
    readonly serverTransactions: number;
    readonly clientTransactions: number;
    readonly pending: number;
  } {
    return {
      sessions: this.#sessions.size,
      dialogs: this.#dialogs.size,
      serverTransactions: this.#layer.serverCount,
      clientTransactions: this.#layer.clientCount,
      pending: this.#byInviteTx.size + this.#byCall.size,
    };
  }

  /** Live calls. */
  get sessions(): readonly InviteSession[] {
    return [...this.#sessions];
  }

  /** Entry point for transports. Never throws. */
  receive(inbound: InboundMessage): void {
    this.#layer.receive(inbound);
  }

  /**
   * Places an outgoing call: INVITE with our offer (or none when `offerless`), Supported: 100rel, timer,
   * Session-Expires, a generated P-Charging-Vector unless one is given.
   * @throws {UserAgentError} for a target that is not a routable SIP URI.
   */
  call(target: string, options: CallOptions): InviteSession {
    let uri;
    try {
      uri = parseUri(target, "target");
    } catch (error) {
      throw new UserAgentError(`bad target ${target}: ${String(error)}`);
    }
    const destination = options.destination ?? uriDestination(uri);
    if (destination === undefined) {
      throw new UserAgentError(`no route to ${target}`);
    }
    let fromUri;
    let toUri;
    try {
      fromUri = parseUri(options.from, "From");
      toUri = parseUri(options.to ?? target, "To");
    } catch (error) {
      throw new UserAgentError(`bad From or To: ${String(error)}`);
    }
    const invite = new SipRequest("INVITE", uri);
    invite.setHeader("Max-Forwards", "70");
    const from = new NameAddr(fromUri, options.displayName);
    from.tag = generateTag();
    invite.setHeader("From", from.toString());
    invite.setHeader("To", new NameAddr(toUri).toString());
    invite.setHeader("Call-ID", `${generateTag()}${generateTag()}@${this.#options.host}`);
    invite.setHeader("CSeq", "1 INVITE");
    invite.setHeader("Contact", this.#contact(destination));
    invite.setHeader("Allow", ALLOWED_METHODS.join(", "));
    invite.setHeader("Supported", SUPPORTED_OPTIONS.join(", "));
    invite.setHeader("User-Agent", this.#host.userAgentName);
    if (this.#sessionTimer.enabled) {
      invite.setHeader("Session-Expires", String(this.#sessionTimer.expires));
      invite.setHeader("Min-SE", String(this.#sessionTimer.minSE));
    }
    for (const [name, value] of options.headers ?? []) {
      invite.addHeader(name, value);
    }
    if (!invite.hasHeader("P-Charging-Vector")) {
      // RFC 7315 §4.6: the originating node generates the icid-value, unique per session.
      invite.setHeader(
        "P-Charging-Vector",
        `icid-value=${generateTag()}${generateTag()};icid-generated-at=${this.#options.host}`,
      );
    }
    const session = new InviteSession(this.#host, options.media, {
      role: "uac",
      outgoing: {
        request: invite,
        destination,
        offerless: options.offerless === true,
        ringTimeoutMs: options.ringTimeoutMs,
        credentials: options.credentials,
      },
    });
    this.#sessions.add(session);
    this.#byCall.set(`${invite.callId}\n${from.tag}`, session);
    session.start().catch((error: unknown) => {
      this.#logger.warn("outgoing call failed to start", { error: String(error) });
      session.dispose();
    });
    return session;
  }

  /**
   * Opens UDP (and TCP) on one port and returns a user agent that owns them: {@link close} closes the sockets.
   * @throws {UserAgentError} when no public host is known for a wildcard bind address.
   */
  static async listen(options: ListenOptions): Promise<UserAgent> {
    const bindHost = options.bindHost ?? "0.0.0.0";
    const publicHost = options.publicHost ?? bindHost;
    if (publicHost === "0.0.0.0" || publicHost === "::") {
      throw new UserAgentError("publicHost is required when binding a wildcard address");
    }
    const holder: { ua?: UserAgent } = {};
    const onMessage = (m: InboundMessage): void => holder.ua?.receive(m);
    const udp = await UdpTransport.listen({ host: bindHost, port: options.port, onMessage });
    const port = udp.address.port;
    const owned: { close(): Promise<void> }[] = [udp];
    const transports: SipTransport[] = [udp];
    if (options.tcp !== false) {
      try {
        const tcp = await TcpTransport.listen({ host: bindHost, port, onMessage });
        owned.push(tcp);
        transports.push(tcp);
      } catch (error) {
        await udp.close();
        throw error;
      }
    }
    const ua = new UserAgent({ ...options, transports, host: publicHost, port });
    ua.#owned = owned;
    holder.ua = ua;
    return ua;
  }

  /** The port we listen on (as announced in Via and Contact). */
  get port(): number {
    return this.#options.port;
  }

  /** Ends every call without signalling, stops every transaction, and closes the sockets {@link listen} opened. */
  async close(): Promise<void> {
    for (const session of [...this.#sessions]) {
      session.dispose();
    }
    this.#layer.dispose();
    const owned = this.#owned;
    this.#owned = [];
    await Promise.all(owned.map((t) => t.close()));
  }

  #contact(destination: SipDestination): string {
    const user = this.#options.contactUser ?? "korus";
    const transport = destination.transport === "UDP" ? "" : `;transport=${destination.transport.toLowerCase()}`;
    const host = this.#options.host.includes(":") ? `[${this.#options.host}]` : this.#options.host;
    return `<sip:${user}@${host}:${this.#options.port}${transport}>`;
  }

  /**
   * RFC 3261 §18.1.1: "If a request is within 200 bytes of the path MTU, or if it is larger than 1300 bytes and the
   * path MTU is unknown, the request MUST be sent using an RFC 2914 congestion controlled transport protocol, such
   * as TCP." Applied when we have a TCP transport; the Via added afterwards is counted with a fixed allowance.
   */
  #route(request: SipRequest, destination: SipDestination): SipDestination {
    if (destination.transport !== "UDP" || this.#layer.transport("TCP") === undefined) {
      return destination;
    }
    const viaAllowance = 100;
    return request.toBuffer().length + viaAllowance > 1300 ? { ...destination, transport: "TCP" } : destination;
  }

  #stampVia(request: SipRequest, destination: SipDestination): void {
    const host = this.#options.host.includes(":") ? `[${this.#options.host}]` : this.#options.host;
    const via = new Via({ transport: destination.transport, host, port: this.#options.port, branch: generateBranch() });
    via.rport = null;
    request.setHeader("Via", via.toString());
  }

  #sessionEnded(session: InviteSession, info: TerminationInfo): void {
    this.#sessions.delete(session);
    const txId = session.inviteTransactionId;
    if (txId !== undefined) {
      this.#byInviteTx.delete(txId);
    }
    if (session.role === "uac") {
      this.#byCall.delete(`${session.callId}\n${session.localTag}`);
    }
    this.emit("terminated", session, info);
  }

  #reply(
    request: SipRequest,
    tx: ServerTransaction,
    status: number,
    headers: [string, string][] = [],
    reason?: string,
  ): void {
    const response: SipResponse = createResponse(request, status, {
      toTag: request.to.tag ?? generateTag(),
      ...(reason === undefined ? {} : { reason }),
    });
    for (const [name, value] of headers) {
      response.addHeader(name, value);
    }
    tx.respond(response);
  }

  /**
   * Every new request. A failure while handling it is logged and answered 500, so no server transaction is left
   * without a response (it would never be reclaimed).
   */
  #onRequest(request: SipRequest, tx: ServerTransaction, source: SipDestination): void {
    try {
      this.#dispatch(request, tx, source);
    } catch (error) {
      const open = tx.state === TransactionState.Trying || tx.state === TransactionState.Proceeding;
      if (error instanceof SipParseError) {
        // A header parsed on demand was malformed: the peer's fault, answered 400 naming it (RFC 3261 §21.4.1).
        this.#logger.info("rejected a malformed request", { method: request.method, reason: error.reason });
        if (open) {
          this.#reply(request, tx, 400, [], `Bad Request (${error.reason})`);
        }
        return;
      }
      this.#logger.error("request handling failed", { method: request.method, callId: request.callId, error });
      if (open) {
        this.#reply(request, tx, 500);
      }
    }
  }

  #dispatch(request: SipRequest, tx: ServerTransaction, source: SipDestination): void {
    const method = request.method;
    // RFC 3261 §8.2.1: "If a UAS does not support the method ... it MUST generate a 405 (Method Not Allowed)
    // response ... The UAS MUST also add an Allow header field to the 405".
    if (!(ALLOWED_METHODS as readonly string[]).includes(method)) {
      this.#reply(request, tx, 405, [["Allow", ALLOWED_METHODS.join(", ")]]);
      return;
    }
    // §8.2.2.1: "If the Request-URI uses a scheme not supported by the UAS, it SHOULD reject the request with a 416
    // (Unsupported URI Scheme) response." (RFC 4475 §3.3.2 unkscm, §3.3.3 novelsc.)
    if (request.uri.kind === "generic") {
      this.#reply(request, tx, 416);
      return;
    }
    // §8.2.2.3: "If a UAS does not understand an option-tag listed in a Require header field, it MUST respond by
    // generating a response with status code 420 (Bad Extension). The UAS MUST add an Unsupported header field".
    const unsupported = unsupportedRequire(request);
    if (unsupported.length > 0) {
      this.#reply(request, tx, 420, [["Unsupported", unsupported.join(", ")]]);
      return;
    }
    const key = requestDialogKey(request);
    if (key !== undefined) {
      const entry = this.#dialogs.get(key);
      if (entry === undefined) {
        // §12.2.2: "If the UAS wishes to reject the request because it does not wish to recreate the dialog, it
        // MUST respond to the request with a 481 (Call/Transaction Does Not Exist)".
        this.#reply(request, tx, 481);
        return;
      }
      entry.session.receiveRequest(entry.dialog, request, tx);
      return;
    }
    switch (method) {
      case "INVITE":
        this.#incoming(request, tx as InviteServerTransaction, source);
        return;
      case "OPTIONS":
        // The doc: "Answer 200 with Allow, Accept, Supported" (RFC 3261 §11.2).
        this.#reply(request, tx, 200, [
          ["Allow", ALLOWED_METHODS.join(", ")],
          ["Accept", ACCEPTED_TYPES.join(", ")],
          ["Supported", SUPPORTED_OPTIONS.join(", ")],
        ]);
        return;
      default:
        // BYE, PRACK, UPDATE, INFO outside any dialog.
        this.#reply(request, tx, 481);
    }
  }

  #incoming(request: SipRequest, tx: InviteServerTransaction, source: SipDestination): void {
    if (this.#sessions.size >= (this.#options.maxSessions ?? 10000)) {
      this.#reply(request, tx, 503, [["Retry-After", "5"]]);
      return;
    }
    // §8.2.3: "If a UAS does not understand the content type ... the server MUST respond with a 415 (Unsupported
    // Media Type) ... The response MUST contain an Accept header field".
    const type = request.contentType;
    if (
      request.body.length > 0 &&
      (type === undefined || `${type.type}/${type.subtype}`.toLowerCase() !== "application/sdp")
    ) {
      this.#reply(request, tx, 415, [["Accept", ACCEPTED_TYPES.join(", ")]]);
      return;
    }
    // RFC 3261 §21.4.7 / RFC 4475 §3.3.15 (sdp01): an Accept that rules out application/sdp leaves no body type for
    // our answer: 406 Not Acceptable.
    if (!this.#acceptsSdp(request)) {
      this.#reply(request, tx, 406, [["Warning", '399 korus "Accept does not allow application/sdp"']]);
      return;
    }
    // RFC 4028 §8.1: "If the Session-Expires ... is lower than the minimum ... the proxy/UAS MUST reject the request
    // with a 422 response ... [with] a Min-SE header field".
    try {
      void request.contacts;
    } catch {
      this.#reply(request, tx, 400);
      return;
    }
    const se = parseSessionExpires(request);
    if (this.#sessionTimer.enabled && se !== undefined && se.interval < this.#sessionTimer.minSE) {
      this.#reply(request, tx, 422, [["Min-SE", String(this.#sessionTimer.minSE)]]);
      return;
    }
    let offer: SessionDescription | undefined;
    if (request.body.length > 0) {
      try {
        offer = SessionDescription.parse(request.bodyText);
      } catch (error) {
        const reason = error instanceof SdpParseError ? error.message : "bad SDP";
        this.#reply(request, tx, 400);
        this.#logger.info("rejected INVITE with unparsable SDP", { callId: request.callId, reason });
        return;
      }
    }
    const call: IncomingCall = { identity: captureIdentity(request, source), offer, request };
    let media: MediaHandler;
    try {
      media = this.#options.createMediaHandler(call);
    } catch (error) {
      this.#logger.error("createMediaHandler threw", { error });
      this.#reply(request, tx, 500);
      return;
    }
    const session = new InviteSession(this.#host, media, {
      role: "uas",
      invite: request,
      tx,
      localTag: generateTag(),
      identity: call.identity,
    });
    this.#sessions.add(session);
    this.#byInviteTx.set(tx.id, session);
    session.guardUnanswered(this.#options.incomingTimeoutMs ?? 180000);
    if (!this.emit("incomingCall", session, call)) {
      session.reject(480, { cause: 18, text: "No application" });
    }
  }

  /** True when the request has no Accept or its Accept allows application/sdp (malformed Accept: tolerated). */
  #acceptsSdp(request: SipRequest): boolean {
    if (!request.hasHeader("Accept")) {
      return true;
    }
    try {
      const types = request.accept;
      return (
        types.length === 0 ||
        types.some((m) => (m.type === "*" || m.type === "application") && (m.subtype === "*" || m.subtype === "sdp"))
      );
    } catch {
      return true;
    }
  }

  #onAck(ack: SipRequest): void {
    const key = requestDialogKey(ack);
    if (key !== undefined) {
      this.#dialogs.get(key)?.session.onAck(ack);
    }
  }

  #onCancel(cancel: SipRequest, invite: InviteServerTransaction): void {
    const session = this.#byInviteTx.get(invite.id);
    if (session !== undefined) {
      session.onCancel(cancel);
    } else if (invite.state === TransactionState.Proceeding) {
      invite.respond(createResponse(invite.request, 487, { toTag: generateTag() }));
    }
  }

  #onStrayResponse(response: SipResponse): void {
    const localTag = response.from.tag;
    const remoteTag = response.to.tag;
    if (localTag === undefined) {
      return;
    }
    const session =
      (remoteTag === undefined
        ? undefined
        : this.#dialogs.get(dialogKey(response.callId, localTag, remoteTag))?.session) ??
      this.#byCall.get(`${response.callId}\n${localTag}`);
    session?.onStrayResponse(response);
  }
}
