/**
 * The gateway demo's signalling relay: one per browser WebSocket on `/demo/gateway/ws`. It turns the page's few
 * messages into the public Kurento API, through an {@link InProcessRpcClient}, exactly as an application would:
 *
 *   MediaPipeline ─ WebRtcEndpoint (the browser) ⇄ korus.SipEndpoint (the phone), audio both ways
 *
 * Page → relay: `{id:"call", uri, sdpOffer, trunk?}`, `{id:"candidate", candidate}`, `{id:"dtmf", digits}`,
 * `{id:"hangup"}`, `{id:"stats"}`, `{id:"trunks"}`.
 * Relay → page: `{id:"answer", sdpAnswer}`, `{id:"candidate", candidate}`, `{id:"state", state, sipStatus,
 * q850Cause}`, `{id:"dtmf", digit}`, `{id:"stats", webrtc, sip}`, `{id:"trunks", trunks}`, `{id:"error", message}`.
 *
 * The page never sees object ids, trunk credentials or any other server detail; every field it sends is checked.
 * One call per socket; the pipeline is released on hang-up, on TERMINATED and when the socket closes.
 */
import type { Logger } from "../logging/logger.js";
import { InProcessRpcClient, KurentoRpcError, RpcClientClosedError, type KurentoEvent } from "./InProcessRpcClient.js";

/** A page message that is not one of the relay's messages, or has a bad field. */
export class DemoMessageError extends Error {
  override readonly name = "DemoMessageError";
}

export enum RelayState {
  IDLE = "IDLE",
  STARTING = "STARTING",
  IN_CALL = "IN_CALL",
  CLOSED = "CLOSED",
}

const TRANSITIONS: Record<RelayState, readonly RelayState[]> = {
  [RelayState.IDLE]: [RelayState.STARTING, RelayState.CLOSED],
  [RelayState.STARTING]: [RelayState.IN_CALL, RelayState.IDLE, RelayState.CLOSED],
  [RelayState.IN_CALL]: [RelayState.IDLE, RelayState.CLOSED],
  [RelayState.CLOSED]: [],
};

/** `sip:`/`sips:` URI, or a number (digits, `+`, `*`, `#`) dialled on a trunk. */
const SIP_URI = /^sips?:[^\s<>"]{1,250}$/;
const NUMBER = /^\+?[0-9*#]{1,32}$/;
const TRUNK = /^[A-Za-z0-9_.-]{1,64}$/;
const DTMF = /^[0-9A-Da-d*#]{1,32}$/;
const MAX_CANDIDATES = 64;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export interface CandidateInit {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
}

interface Call {
  pipeline: string;
  webrtc: string;
  sip: string;
}

/** Packet and byte counters of the inbound and outbound RTP records of a getStats answer (KMS records carry no media kind: ask per media type). */
export type StatsSummary = Partial<Record<"inboundrtp" | "outboundrtp", { packets: number; bytes: number }>>;

export function summariseStats(value: unknown): StatsSummary {
  const out: StatsSummary = {};
  if (!isObj(value)) {
    return out;
  }
  for (const rec of Object.values(value)) {
    if (!isObj(rec) || (rec["type"] !== "inboundrtp" && rec["type"] !== "outboundrtp")) {
      continue;
    }
    const inbound = rec["type"] === "inboundrtp";
    const acc = out[rec["type"]] ?? { packets: 0, bytes: 0 };
    acc.packets += Number(inbound ? rec["packetsReceived"] : rec["packetsSent"]) || 0;
    acc.bytes += Number(inbound ? rec["bytesReceived"] : rec["bytesSent"]) || 0;
    out[rec["type"]] = acc;
  }
  return out;
}

export class GatewayRelay {
  readonly #rpc: InProcessRpcClient;
  readonly #send: (msg: Record<string, unknown>) => void;
  readonly #logger: Logger;
  #state = RelayState.IDLE;
  #call: Call | undefined;
  #queued: CandidateInit[] = [];
  /** The last call state sent to the page. */
  #lastState = "IDLE";

  constructor(
    connId: number,
    handler: ConstructorParameters<typeof InProcessRpcClient>[1],
    send: (msg: Record<string, unknown>) => void,
    logger: Logger,
  ) {
    this.#send = send;
    this.#logger = logger;
    this.#rpc = new InProcessRpcClient(connId, handler, (ev) => this.#onEvent(ev));
  }

  get state(): RelayState {
    return this.#state;
  }

  #current(): RelayState {
    return this.#state;
  }

  /** The one validated transition function. */
  #to(next: RelayState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new DemoMessageError(`cannot go from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }

  /** Handles one text frame from the page; bad input answers an error message and changes nothing. */
  async onMessage(text: string): Promise<void> {
    try {
      await this.#dispatch(text);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Page mistakes and server refusals (a bad SDP, an unknown trunk) are the page's business; anything else is
      // logged, at debug level when it is one of the client's own errors, so a page cannot flood the log.
      if (err instanceof DemoMessageError || err instanceof KurentoRpcError || err instanceof RpcClientClosedError) {
        this.#logger.debug({ err: message }, "gateway demo request refused");
      } else {
        this.#logger.warn({ err }, "gateway demo request failed");
      }
      this.#send({ id: "error", message });
    }
  }

  async #dispatch(text: string): Promise<void> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      throw new DemoMessageError("not JSON");
    }
    if (!isObj(msg) || typeof msg["id"] !== "string") {
      throw new DemoMessageError("a message is an object with a string 'id'");
    }
    switch (msg["id"]) {
      case "call":
        return this.#startCall(msg);
      case "candidate":
        return this.#candidate(msg["candidate"]);
      case "dtmf": {
        const digits = msg["digits"];
        if (typeof digits !== "string" || !DTMF.test(digits)) {
          throw new DemoMessageError("'digits' must be 1–32 of 0-9 A-D * #");
        }
        const call = this.#need();
        await this.#rpc.request("invoke", { object: call.sip, operation: "sendDtmf", operationParams: { digits } });
        return;
      }
      case "hangup":
        return this.#hangup();
      case "stats": {
        const call = this.#need();
        const [webrtc, sip] = await Promise.all([
          this.#rpc.request("invoke", {
            object: call.webrtc,
            operation: "getStats",
            operationParams: { mediaType: "AUDIO" },
          }),
          this.#rpc
            .request("invoke", { object: call.sip, operation: "getStats", operationParams: { mediaType: "AUDIO" } })
            .catch(() => ({})),
        ]);
        this.#send({ id: "stats", webrtc: summariseStats(webrtc), sip: summariseStats(sip) });
        return;
      }
      case "trunks": {
        const trunks = await this.#rpc
          .request("invoke", { object: "korus_SipGateway", operation: "getTrunks", operationParams: {} })
          .catch(() => []);
        this.#send({ id: "trunks", trunks: Array.isArray(trunks) ? trunks.filter((x) => typeof x === "string") : [] });
        return;
      }
      default:
        throw new DemoMessageError(`unknown message '${String(msg["id"])}'`);
    }
  }

  #need(): Call {
    if (this.#call === undefined) {
      throw new DemoMessageError("no call in progress");
    }
    return this.#call;
  }

  async #startCall(msg: Record<string, unknown>): Promise<void> {
    const target = msg["uri"];
    const sdpOffer = msg["sdpOffer"];
    const trunk = msg["trunk"];
    if (typeof sdpOffer !== "string" || sdpOffer.length === 0 || sdpOffer.length > 32_768) {
      throw new DemoMessageError("'sdpOffer' must be an SDP offer");
    }
    if (trunk !== undefined && trunk !== "" && (typeof trunk !== "string" || !TRUNK.test(trunk))) {
      throw new DemoMessageError("'trunk' must be a trunk name");
    }
    const trunkName = typeof trunk === "string" && trunk !== "" ? trunk : undefined;
    let uri: string;
    if (typeof target === "string" && SIP_URI.test(target.trim())) {
      uri = target.trim();
    } else if (typeof target === "string" && NUMBER.test(target.trim().replace(/[\s().-]/g, ""))) {
      if (trunkName === undefined) {
        throw new DemoMessageError("a number is dialled on a trunk: choose one, or dial a sip: URI");
      }
      uri = target.trim().replace(/[\s().-]/g, ""); // Korus makes the request URI with the trunk's peer.
    } else {
      throw new DemoMessageError("'uri' must be a sip: or sips: URI, or a phone number");
    }
    if (this.#state !== RelayState.IDLE) {
      throw new DemoMessageError("a call is already in progress");
    }
    this.#to(RelayState.STARTING);
    this.#lastState = "IDLE";
    let pipeline: string | undefined;
    try {
      pipeline = String(await this.#rpc.request("create", { type: "MediaPipeline", constructorParams: {} }));
      const webrtc = String(
        await this.#rpc.request("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: pipeline } }),
      );
      const sip = String(
        await this.#rpc.request("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }),
      );
      const call: Call = { pipeline, webrtc, sip };
      this.#call = call;
      for (const [object, type] of [
        [webrtc, "IceCandidateFound"],
        [sip, "CallStateChanged"],
        [sip, "DtmfReceived"],
      ] as const) {
        await this.#rpc.request("subscribe", { object, type });
      }
      await this.#rpc.request("invoke", {
        object: webrtc,
        operation: "connect",
        operationParams: { sink: sip, mediaType: "AUDIO" },
      });
      await this.#rpc.request("invoke", {
        object: sip,
        operation: "connect",
        operationParams: { sink: webrtc, mediaType: "AUDIO" },
      });
      for (const c of this.#queued.splice(0)) {
        await this.#addCandidate(c);
      }
      const sdpAnswer = await this.#rpc.request("invoke", {
        object: webrtc,
        operation: "processOffer",
        operationParams: { offer: sdpOffer },
      });
      this.#send({ id: "answer", sdpAnswer });
      await this.#rpc.request("invoke", { object: webrtc, operation: "gatherCandidates", operationParams: {} });
      const options: Record<string, unknown> = { __module__: "korus", __type__: "CallOptions" };
      if (trunkName !== undefined) {
        options["trunk"] = trunkName;
      }
      this.#dial(call, uri, options);
      this.#to(RelayState.IN_CALL);
    } catch (err) {
      // (A TERMINATED event or the socket's close may have moved the state meanwhile.)
      if (this.#current() === RelayState.STARTING) {
        await this.#release();
        this.#to(RelayState.IDLE);
      }
      throw err;
    }
  }

  /** Places the SIP call without holding up the page's next messages (ICE candidates) until it is answered. */
  #dial(call: Call, uri: string, options: Record<string, unknown>): void {
    this.#rpc
      .request("invoke", { object: call.sip, operation: "call", operationParams: { uri, options } })
      .catch(async (err: unknown) => {
        this.#send({ id: "error", message: err instanceof Error ? err.message : String(err) });
        if (this.#call === call) {
          await this.#release();
          if (this.#state === RelayState.IN_CALL) {
            this.#to(RelayState.IDLE);
          }
        }
      });
  }

  async #candidate(c: unknown): Promise<void> {
    if (
      !isObj(c) ||
      typeof c["candidate"] !== "string" ||
      c["candidate"].length > 1024 ||
      typeof c["sdpMid"] !== "string" ||
      c["sdpMid"].length > 64 ||
      typeof c["sdpMLineIndex"] !== "number" ||
      !Number.isInteger(c["sdpMLineIndex"])
    ) {
      throw new DemoMessageError("'candidate' must be an RTCIceCandidateInit");
    }
    const cand: CandidateInit = { candidate: c["candidate"], sdpMid: c["sdpMid"], sdpMLineIndex: c["sdpMLineIndex"] };
    if (this.#call === undefined) {
      if (this.#queued.length >= MAX_CANDIDATES) {
        throw new DemoMessageError("too many candidates before the call");
      }
      this.#queued.push(cand);
      return;
    }
    await this.#addCandidate(cand);
  }

  async #addCandidate(c: CandidateInit): Promise<void> {
    const call = this.#need();
    await this.#rpc.request("invoke", {
      object: call.webrtc,
      operation: "addIceCandidate",
      operationParams: { candidate: { __module__: "kurento", __type__: "IceCandidate", ...c } },
    });
  }

  async #hangup(): Promise<void> {
    const call = this.#call;
    if (call === undefined) {
      return;
    }
    await this.#rpc
      .request("invoke", { object: call.sip, operation: "hangup", operationParams: {} })
      .catch((err: unknown) => this.#logger.debug({ err }, "gateway demo hangup"));
    // Give the TERMINATED event (after the response) its turn before the pipeline goes.
    await new Promise((r) => setImmediate(r));
    await this.#release();
    if (this.#lastState !== "TERMINATED") {
      this.#lastState = "TERMINATED";
      this.#send({ id: "state", state: "TERMINATED", sipStatus: 0, q850Cause: 16 });
    }
    if (this.#state !== RelayState.CLOSED && this.#state !== RelayState.IDLE) {
      this.#to(RelayState.IDLE);
    }
  }

  async #release(): Promise<void> {
    const call = this.#call;
    this.#call = undefined;
    this.#queued = [];
    if (call !== undefined && this.#rpc.open) {
      await this.#rpc.request("release", { object: call.pipeline }).catch(() => undefined);
    }
  }

  #onEvent(ev: KurentoEvent): void {
    const call = this.#call;
    if (call === undefined) {
      return;
    }
    if (ev.type === "IceCandidateFound" && ev.object === call.webrtc && isObj(ev.data["candidate"])) {
      const c = ev.data["candidate"];
      this.#send({
        id: "candidate",
        candidate: { candidate: c["candidate"], sdpMid: c["sdpMid"], sdpMLineIndex: c["sdpMLineIndex"] },
      });
    } else if (ev.type === "CallStateChanged" && ev.object === call.sip) {
      const state = ev.data["state"];
      this.#lastState = typeof state === "string" ? state : this.#lastState;
      this.#send({ id: "state", state, sipStatus: ev.data["sipStatus"], q850Cause: ev.data["q850Cause"] });
      if (state === "TERMINATED") {
        void this.#release().then(() => {
          if (this.#state === RelayState.IN_CALL || this.#state === RelayState.STARTING) {
            this.#to(RelayState.IDLE);
          }
        });
      }
    } else if (ev.type === "DtmfReceived" && ev.object === call.sip) {
      this.#send({ id: "dtmf", digit: ev.data["digit"] });
    }
  }

  /** The socket closed: hang up, release the pipeline and drop the session. */
  async close(): Promise<void> {
    if (this.#state === RelayState.CLOSED) {
      return;
    }
    await this.#hangup().catch(() => undefined);
    this.#to(RelayState.CLOSED);
    this.#rpc.close();
  }
}
