/**
 * A SIP dialog (RFC 3261 §12): the peer-to-peer relationship an INVITE creates, identified by Call-ID, local tag and
 * remote tag, carrying the route set, the remote target and both CSeq spaces.
 *
 * ```
 *   (18x with To tag)          (2xx)                 (BYE, failure, 481/408 to an in-dialog request)
 *  ──────────────────► Early ──────────► Confirmed ──────────────────────────────► Terminated
 *                        └───────────────────────────────────────────────────────────┘ (non-2xx final, 2xx of another fork)
 * ```
 * One INVITE may create several early dialogs (a forking proxy, one per To tag); the UA core keeps them apart by
 * {@link Dialog.key} and confirms the one a 2xx names (§13.2.2.4).
 * @see https://www.rfc-editor.org/rfc/rfc3261#section-12
 */

import { TransactionStateError } from "../errors.js";
import { CSeq } from "../message/CSeq.js";
import type { NameAddr } from "../message/NameAddr.js";
import { SipRequest, type SipResponse } from "../message/SipMessage.js";
import { hostToAddress, parseUri, type Uri } from "../message/uri.js";
import { defaultPort, type SipDestination, type TransportProtocol } from "../transport/SipTransport.js";
import { DialogState } from "./DialogState.js";

/** The map key of a dialog: Call-ID, local tag, remote tag (§12: "the dialog ID"). */
export function dialogKey(callId: string, localTag: string, remoteTag: string): string {
  return `${callId}\n${localTag}\n${remoteTag}`;
}

/** The key of the dialog an incoming in-dialog request belongs to (local tag = To tag, remote = From tag). */
export function requestDialogKey(request: SipRequest): string | undefined {
  const local = request.to.tag;
  const remote = request.from.tag;
  return local === undefined ? undefined : dialogKey(request.callId, local, remote ?? "");
}

/** What {@link Dialog.receiveRequest} decided (RFC 3261 §12.2.2). */
export type DialogRequestCheck = "accept" | "out-of-order";

/**
 * Where a request for `uri` goes (RFC 3263 reduced to numeric hosts, which is what trunks configure): `maddr`
 * overrides the host, `transport=` picks the transport (UDP by default, TLS for `sips:`), the default port follows.
 */
export function uriDestination(uri: Uri, fallback: TransportProtocol = "UDP"): SipDestination | undefined {
  if (uri.kind !== "sip") {
    return undefined;
  }
  const param = uri.transport?.toUpperCase();
  const transport = (param ?? (uri.scheme === "sips" ? "TLS" : fallback)) as TransportProtocol;
  const maddr = uri.params.get("maddr");
  const host = hostToAddress(typeof maddr === "string" ? maddr : uri.host);
  return { host, port: uri.port ?? defaultPort(transport), transport };
}

/** Methods that refresh the remote target (RFC 3261 §12.2, RFC 3311 §5.2 for UPDATE). */
function isTargetRefresh(method: string): boolean {
  return method === "INVITE" || method === "UPDATE";
}

export class Dialog {
  readonly callId: string;
  readonly localTag: string;
  readonly remoteTag: string;
  /** {@link dialogKey} of this dialog. */
  readonly key: string;
  /** Which side created it: the UAC of the INVITE or its UAS. */
  readonly role: "uac" | "uas";
  /** Our From (UAC) or To (UAS) with our tag. */
  readonly local: NameAddr;
  /** The peer's address with its tag. */
  readonly remote: NameAddr;
  /** The peer's Contact (§12.1.1, §12.1.2), replaced by target refresh requests and their responses. */
  remoteTarget: Uri;
  /** Route header values in the order requests carry them (§12.1.1: UAS as received, §12.1.2: UAC reversed). */
  routeSet: readonly string[];
  /** Last CSeq number we used; incremented for each new request but ACK and CANCEL (§12.2.1.1). */
  localSeq: number;
  /** Highest CSeq number received from the peer, undefined until one arrives (§12.2.2). */
  remoteSeq: number | undefined;
  /** sips Request-URI or secure transport (§12.1.1). */
  readonly secure: boolean;
  /** P-Charging-Vector of the dialog-creating request (RFC 7315), kept for in-dialog requests and CDRs. */
  pChargingVector: string | undefined;
  #state: DialogState;

  private constructor(init: {
    callId: string;
    localTag: string;
    remoteTag: string;
    role: "uac" | "uas";
    local: NameAddr;
    remote: NameAddr;
    remoteTarget: Uri;
    routeSet: readonly string[];
    localSeq: number;
    remoteSeq: number | undefined;
    secure: boolean;
    state: DialogState;
    pChargingVector: string | undefined;
  }) {
    this.callId = init.callId;
    this.localTag = init.localTag;
    this.remoteTag = init.remoteTag;
    this.key = dialogKey(init.callId, init.localTag, init.remoteTag);
    this.role = init.role;
    this.local = init.local;
    this.remote = init.remote;
    this.remoteTarget = init.remoteTarget;
    this.routeSet = init.routeSet;
    this.localSeq = init.localSeq;
    this.remoteSeq = init.remoteSeq;
    this.secure = init.secure;
    this.#state = init.state;
    this.pChargingVector = init.pChargingVector;
  }

  /**
   * The UAS side of a dialog (§12.1.1): "The route set MUST be set to the list of URIs in the Record-Route header
   * field from the request, taken in order and preserving all URI parameters. ... The remote target MUST be set to
   * the URI from the Contact header field of the request. The remote sequence number MUST be set to the value of the
   * sequence number in the CSeq header field of the request. The local sequence number MUST be empty."
   * @param localTag the To tag of our responses.
   */
  static uas(
    request: SipRequest,
    localTag: string,
    state: DialogState = DialogState.Early,
    initialLocalSeq = 0,
  ): Dialog {
    // RFC 2543 peers may omit Contact (RFC 4475 §3.4 inv2543); their From address is then the target.
    const target = request.contacts[0]?.uri ?? request.from.uri;
    const local = request.to.clone();
    local.tag = localTag;
    return new Dialog({
      callId: request.callId,
      localTag,
      remoteTag: request.from.tag ?? "",
      role: "uas",
      local,
      remote: request.from.clone(),
      remoteTarget: target.clone(),
      routeSet: request.getHeaderValues("Record-Route"),
      localSeq: initialLocalSeq,
      remoteSeq: request.cseq.seq,
      secure: request.uri.kind === "sip" && request.uri.scheme === "sips",
      state,
      pChargingVector: request.getHeader("P-Charging-Vector"),
    });
  }

  /**
   * The UAC side of a dialog from a response with a To tag (§12.1.2): "The route set MUST be set to the list of URIs
   * in the Record-Route header field from the response, taken in reverse order ... The remote target MUST be set to
   * the URI from the Contact header field of the response. The local sequence number MUST be set to the value of the
   * sequence number in the CSeq header field of the request. The remote sequence number MUST be empty".
   * @throws {TypeError} for a response without a To tag.
   */
  static uac(request: SipRequest, response: SipResponse, state: DialogState): Dialog {
    const remoteTag = response.to.tag;
    if (remoteTag === undefined) {
      throw new TypeError("a dialog needs the response's To tag");
    }
    return new Dialog({
      callId: request.callId,
      localTag: request.from.tag ?? "",
      remoteTag,
      role: "uac",
      local: request.from.clone(),
      remote: response.to.clone(),
      // A 18x without Contact (tolerated from sloppy peers) keeps the Request-URI as target until a refresh.
      remoteTarget: (response.contacts[0]?.uri ?? request.uri).clone(),
      routeSet: response.getHeaderValues("Record-Route").reverse(),
      localSeq: request.cseq.seq,
      remoteSeq: undefined,
      secure: request.uri.kind === "sip" && request.uri.scheme === "sips",
      state,
      pChargingVector: request.getHeader("P-Charging-Vector"),
    });
  }

  /** Early, Confirmed or Terminated. */
  get state(): DialogState {
    return this.#state;
  }

  /**
   * The dialog's one transition function: Early → Confirmed, Early/Confirmed → Terminated.
   * @throws {TransactionStateError} for anything else.
   */
  transition(state: DialogState): void {
    const from = this.#state;
    const ok =
      (state === DialogState.Confirmed && from === DialogState.Early) ||
      (state === DialogState.Terminated && from !== DialogState.Terminated);
    if (!ok) {
      throw new TransactionStateError("dialog", from, state);
    }
    this.#state = state;
  }

  /**
   * Checks and records an in-dialog request (§12.2.2): "If the remote sequence number is empty, it MUST be set to the
   * value of the sequence number in the CSeq header field value in the request. If the remote sequence number was not
   * empty, but the sequence number of the request is lower than the remote sequence number, the request is out of
   * order and MUST be rejected with a 500 (Server Internal Error) response." ACK and CANCEL reuse their INVITE's
   * number and are not checked. A target refresh request with a Contact replaces the remote target.
   */
  receiveRequest(request: SipRequest): DialogRequestCheck {
    const method = request.method;
    if (method === "ACK" || method === "CANCEL") {
      return "accept";
    }
    const seq = request.cseq.seq;
    if (this.remoteSeq !== undefined && seq <= this.remoteSeq) {
      return "out-of-order";
    }
    this.remoteSeq = seq;
    if (isTargetRefresh(method)) {
      const contact = request.contacts[0];
      if (contact !== undefined) {
        this.remoteTarget = contact.uri.clone();
      }
    }
    return "accept";
  }

  /**
   * Records a response to a request we sent in this dialog: a 2xx (or reliable 1xx) to a target refresh replaces the
   * remote target (§12.2.1.2); the 2xx that confirms an early UAC dialog also recomputes the route set (§13.2.2.4:
   * "the route set for the dialog MUST be recomputed based on the 2xx response").
   */
  receiveResponse(response: SipResponse, confirming: boolean): void {
    if (response.status < 101 || response.status >= 300 || !isTargetRefresh(response.cseq.method)) {
      return;
    }
    const contact = response.contacts[0];
    if (contact !== undefined) {
      this.remoteTarget = contact.uri.clone();
    }
    if (confirming && this.role === "uac") {
      this.routeSet = response.getHeaderValues("Record-Route").reverse();
    }
  }

  /**
   * Builds a request inside the dialog (§12.2.1.1), without Via (the sender adds it with a fresh branch). CSeq is
   * the next local number, except for ACK, which takes `seq` (the INVITE's, §13.2.2.4).
   *
   * Request-URI and Route: "If the route set is empty, the UAC MUST place the remote target URI into the
   * Request-URI. ... If the route set is not empty, and the first URI in the route set contains the lr parameter,
   * the UAC MUST place the remote target URI into the Request-URI and MUST include a Route header field containing
   * the route set values in order ... If the route set is not empty, and its first URI does not contain the lr
   * parameter, the UAC MUST place the first URI from the route set into the Request-URI, stripping any parameters
   * that are not allowed in a Request-URI. The UAC MUST add a Route header field containing the remainder of the
   * route set values in order ... The UAC MUST then place the remote target URI into the Route header field as the
   * last value." (strict routing).
   */
  createRequest(method: string, seq?: number): SipRequest {
    let uri: Uri = this.remoteTarget;
    let routes: string[] = [...this.routeSet];
    const first = routes[0];
    if (first !== undefined) {
      const firstUri = parseRouteUri(first);
      if (firstUri?.kind === "sip" && !firstUri.lr) {
        const strict = firstUri.clone();
        strict.params.delete("method");
        strict.params.delete("ttl");
        strict.params.delete("maddr");
        uri = strict;
        routes = [...routes.slice(1), `<${this.remoteTarget.toString()}>`];
      }
    }
    let cseq: number;
    if (method === "ACK" || method === "CANCEL") {
      cseq = seq ?? this.localSeq;
    } else {
      this.localSeq += 1;
      cseq = this.localSeq;
    }
    const request = new SipRequest(method, uri.clone());
    request.setHeader("Max-Forwards", "70");
    if (routes.length > 0) {
      request.setHeader("Route", routes);
    }
    request.setHeader("From", this.local.toString());
    request.setHeader("To", this.remote.toString());
    request.setHeader("Call-ID", this.callId);
    request.setHeader("CSeq", new CSeq(cseq, method));
    return request;
  }

  /**
   * Where to send a request built by {@link createRequest}: the first Route (loose routing) or the Request-URI
   * (§8.1.2 with §12.2.1.1).
   */
  nextHop(request: SipRequest, fallback: TransportProtocol = "UDP"): SipDestination | undefined {
    const route = request.routes[0];
    return uriDestination(route?.uri ?? request.uri, fallback);
  }
}

/** The URI of a Route/Record-Route value, or undefined when it does not parse. */
function parseRouteUri(value: string): Uri | undefined {
  const start = value.indexOf("<");
  const end = value.indexOf(">", start + 1);
  const text = start >= 0 && end > start ? value.slice(start + 1, end) : value.trim();
  try {
    return parseUri(text, "Route");
  } catch {
    return undefined;
  }
}
