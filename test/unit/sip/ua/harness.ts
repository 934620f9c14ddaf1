/**
 * Fixtures for the whole-call tests (not a test file): a stepping fake clock that interleaves timers with promise
 * settlement, an in-memory SIP network whose messages cross a real serialise → parse round trip, a media handler
 * producing real SDP, and a UA pair wired together.
 */

import {
  MediaUnavailableError,
  parseMessage,
  SipRequest,
  stampReceived,
  UserAgent,
  type MediaHandler,
  type OfferRequest,
  type SipDestination,
  type SipMessage,
  type SipResponse,
  type SipTransport,
  type TimerHandle,
  type UserAgentOptions,
} from "../../../../sip/index.js";
import { SessionDescription } from "../../../../sdp/index.js";
import { FakeClock } from "../../../helpers/FakeClock.js";

/**
 * The shared {@link FakeClock} plus {@link run}, which fires due timers one instant at a time and lets promise
 * chains settle in between (media handlers and session steps are asynchronous).
 */
export class StepClock extends FakeClock {
  readonly #due = new Map<TimerHandle, number>();

  override setTimeout(callback: () => void, ms: number): TimerHandle {
    const handle = super.setTimeout(() => {
      this.#due.delete(handle);
      callback();
    }, ms);
    this.#due.set(handle, this.now() + Math.max(0, ms));
    return handle;
  }

  override clearTimeout(handle: TimerHandle): void {
    this.#due.delete(handle);
    super.clearTimeout(handle);
  }

  /** Advances `ms`: ticks to each next due instant, settling promises after each. */
  async run(ms: number): Promise<void> {
    const end = this.now() + ms;
    await settle();
    for (;;) {
      let next = Infinity;
      for (const at of this.#due.values()) {
        next = Math.min(next, at);
      }
      if (next > end) {
        break;
      }
      this.tick(next - this.now());
      await settle();
    }
    this.tick(end - this.now());
  }
}

/** Lets every queued microtask and promise continuation run. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** One message on the wire, as recorded by the network. */
export interface Wire {
  readonly at: number;
  readonly from: string;
  readonly to: string;
  /** `INVITE`, `ACK`, `200 INVITE`, `180 INVITE`, … */
  readonly what: string;
  readonly message: SipMessage;
  readonly protocol: "UDP" | "TCP";
}

/** An in-memory UDP network: 1 ms latency on the clock, every message serialised and re-parsed. */
export class MemoryNetwork {
  readonly clock: StepClock;
  readonly #endpoints = new Map<string, (message: SipMessage, source: SipDestination) => void>();
  readonly log: Wire[] = [];
  /** Return true to lose a message (counted in the log as `dropped`). */
  drop: (wire: Wire) => boolean = () => false;
  /** Rewrites a message's text on the wire (to emulate peers with other capabilities). */
  rewrite: (wire: Wire, text: string) => string = (_w, text) => text;
  dropped = 0;

  constructor(clock: StepClock) {
    this.clock = clock;
  }

  /** A transport bound to `host:port`; what arrives for it goes to `deliver`. */
  transport(
    host: string,
    port: number,
    deliver: (message: SipMessage, source: SipDestination) => void,
    protocol: "UDP" | "TCP" = "UDP",
  ): SipTransport {
    const self = `${host}:${port}`;
    this.#endpoints.set(`${protocol}|${self}`, deliver);
    return {
      protocol,
      reliable: protocol === "TCP",
      send: (message: SipMessage, destination: SipDestination): Promise<void> => {
        let bytes = message.toBuffer();
        const to = `${destination.host}:${destination.port}`;
        const wire: Wire = { at: this.clock.now(), from: self, to, what: describe(message), message, protocol };
        this.log.push(wire);
        if (this.drop(wire)) {
          this.dropped += 1;
          return Promise.resolve();
        }
        bytes = Buffer.from(this.rewrite(wire, bytes.toString("latin1")), "latin1");
        this.clock.setTimeout(() => {
          const target = this.#endpoints.get(`${destination.transport}|${to}`);
          if (target === undefined) {
            return;
          }
          const parsed = parseMessage(bytes);
          const source: SipDestination = { host, port, transport: protocol };
          if (parsed instanceof SipRequest) {
            stampReceived(parsed, source);
          }
          target(parsed, source);
        }, 1);
        return Promise.resolve();
      },
    };
  }

  /** Wire descriptions between two endpoints, optionally only those matching `filter`. */
  what(filter?: (w: Wire) => boolean): string[] {
    return this.log.filter(filter ?? (() => true)).map((w) => w.what);
  }
}

/** `INVITE` for requests, `180 INVITE` for responses. */
export function describe(message: SipMessage): string {
  return message instanceof SipRequest ? message.method : `${(message as SipResponse).status} ${message.cseq.method}`;
}

/**
 * A media handler that produces real RFC 3264 SDP (PCMA/PCMU/telephone-event) with `o=` versions that increase on
 * every change, answers with the complementary direction, and records what it was asked.
 */
export class TestMedia implements MediaHandler {
  readonly calls: string[] = [];
  closed = 0;
  version = 0;
  readonly address: string;
  readonly port: number;
  /** Last remote description applied. */
  remote: string | undefined;
  /** Make processOffer fail: `true` with a plain error (488), `"resources"` with MediaUnavailableError (503). */
  refuse: boolean | "resources" = false;

  constructor(address = "192.0.2.100", port = 40000) {
    this.address = address;
    this.port = port;
  }

  sdp(direction: string): string {
    return (
      `v=0\r\no=korus 1000 ${this.version} IN IP4 ${this.address}\r\ns=-\r\nc=IN IP4 ${this.address}\r\nt=0 0\r\n` +
      `m=audio ${this.port} RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n` +
      `a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=${direction}\r\n`
    );
  }

  getOffer(request: OfferRequest): string {
    this.calls.push(`getOffer${request.hold === true ? " hold" : ""}${request.refresh === true ? " refresh" : ""}`);
    if (request.refresh !== true) {
      this.version += 1;
    }
    return this.sdp(request.hold === true ? "sendonly" : "sendrecv");
  }

  setAnswer(sdp: string): void {
    SessionDescription.parse(sdp);
    this.calls.push("setAnswer");
    this.remote = sdp;
  }

  processOffer(sdp: string): string {
    this.calls.push("processOffer");
    if (this.refuse === "resources") {
      throw new MediaUnavailableError("no free RTP port pair in 40000-40009", 7);
    }
    if (this.refuse) {
      throw new Error("no common codec");
    }
    const offer = SessionDescription.parse(sdp);
    this.remote = sdp;
    const direction = offer.media[0]?.direction ?? "sendrecv";
    const answer = direction === "sendonly" ? "recvonly" : direction === "recvonly" ? "sendonly" : direction;
    this.version += 1;
    return this.sdp(answer);
  }

  close(): void {
    this.closed += 1;
  }
}

/**
 * Two user agents, A (caller side, 192.0.2.1:5060) and B (192.0.2.2:5060), on one memory network, each with a UDP
 * and a (memory, reliable) TCP transport.
 */
export function pair(
  options: { a?: Partial<UserAgentOptions>; b?: Partial<UserAgentOptions>; random?: () => number } = {},
): {
  clock: StepClock;
  net: MemoryNetwork;
  a: UserAgent;
  b: UserAgent;
  mediaA: TestMedia[];
  mediaB: TestMedia[];
} {
  const clock = new StepClock();
  const net = new MemoryNetwork(clock);
  const mediaA: TestMedia[] = [];
  const mediaB: TestMedia[] = [];
  const ua: { a?: UserAgent; b?: UserAgent } = {};
  const toA = (message: SipMessage, source: SipDestination): void =>
    ua.a?.receive({ message: message as SipRequest, source });
  const toB = (message: SipMessage, source: SipDestination): void =>
    ua.b?.receive({ message: message as SipRequest, source });
  const ta = [net.transport("192.0.2.1", 5060, toA), net.transport("192.0.2.1", 5060, toA, "TCP")];
  const tb = [net.transport("192.0.2.2", 5060, toB), net.transport("192.0.2.2", 5060, toB, "TCP")];
  const wall = 1_700_000_000_000;
  const now = (): number => wall + clock.now();
  const a = new UserAgent({
    transports: ta,
    host: "192.0.2.1",
    port: 5060,
    clock,
    now,
    random: options.random ?? (() => 0.5),
    createMediaHandler: () => {
      const m = new TestMedia("192.0.2.1", 41000 + 2 * mediaA.length);
      mediaA.push(m);
      return m;
    },
    ...options.a,
  });
  const b = new UserAgent({
    transports: tb,
    host: "192.0.2.2",
    port: 5060,
    clock,
    now,
    random: options.random ?? (() => 0.5),
    createMediaHandler: () => {
      const m = new TestMedia("192.0.2.2", 42000 + 2 * mediaB.length);
      mediaB.push(m);
      return m;
    },
    ...options.b,
  });
  ua.a = a;
  ua.b = b;
  return { clock, net, a, b, mediaA, mediaB };
}
