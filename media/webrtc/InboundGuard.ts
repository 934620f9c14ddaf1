/**
 * The socket-edge filter in front of werift's ICE connection (pen test, issue 9, defect 1).
 *
 * werift's ICE protocols (UDP, ICE-TCP, TURN) hand every datagram that is not STUN to the connection *without its
 * source address*; the connection feeds DTLS and SRTP/SRTCP from that. werift's DTLS closes the session on any
 * record of an unknown content type and on any warning-level alert, plaintext or not. So one 13-byte datagram from
 * anywhere ended a call's media while the peer still saw the connection up.
 *
 * This guard wraps each protocol's receive entry (where the address is still known) and, RFC 7983 demultiplexing
 * by the first byte:
 *
 * - 0–3 (STUN): a binding request goes on to ICE only with a MESSAGE-INTEGRITY made with our ICE password (RFC 8445
 *   §7.3; werift answers and acts on requests without checking it: a forged ICE-CONTROLLED or USE-CANDIDATE would
 *   switch our role or pair); responses and indications go on (werift matches a response to its transaction and
 *   checks its integrity); what is not a STUN message at all is dropped;
 * - 20–63 (DTLS) and 128–191 (RTP/RTCP) go on only from a validated remote address on its protocol: the selected
 *   pair's (the fast case, a few field reads), a pair whose connectivity check succeeded, or an address that sent us
 *   a binding request authenticated with our ICE password. The last is how RFC 8445 §7.3.1.4 validates a pair in
 *   the controlled role: a browser may nominate a pair whose local side is another of its interfaces (Chromium on a
 *   host with a LAN address sends from it to our 127.0.0.1 candidate) while werift keeps its first selected pair;
 *   media then arrives from an address werift never selected, and it is the peer's all the same;
 * - everything else (4–19, 64–127, 192–255) is nobody's and is dropped;
 * - a DTLS datagram goes on only if it is a whole sequence of records of content types 20–23; once the handshake is
 *   done an alert must be authenticated (epoch > 0 and decrypting with the session's keys): an unauthenticated
 *   alert never closes the session.
 *
 * Cost per packet: one byte test, one field read of the selected pair and one port and one host comparison; no
 * allocation, no Map lookup. Dropped datagrams are counted and logged at debug, at most once per
 * {@link LOG_INTERVAL_MS}.
 */
import { isStunMessage, parseMessage } from "werift";
import type { Logger } from "../logger.js";

/** werift's CandidatePairState.SUCCEEDED. */
const PAIR_SUCCEEDED = 3;
const LOG_INTERVAL_MS = 10_000;
const RECORD_HEADER = 13;
const CT_ALERT = 21;
/** Remote addresses remembered from authenticated binding requests (oldest forgotten first). */
const MAX_AUTHENTICATED = 8;

/** The shapes of werift internals this guard touches (not in its public typings). */
type Receive = (data: Buffer, addr: [string, number]) => void;
interface ProtocolLike {
  type?: string;
  datagramReceived?: Receive;
  handleFrame?: Receive;
  handleStunMessage?: Receive;
}
interface PairLike {
  protocol: unknown;
  remoteCandidate: { host: string; port: number };
  state: number;
}
export interface IceConnectionLike {
  localPassword: string;
  /** ufrag → password of earlier ICE generations (werift keeps answering them after a restart). */
  userHistory?: Record<string, string>;
  nominated?: PairLike | undefined;
  checkList: PairLike[];
  protocols: ProtocolLike[];
}
interface RecordLike {
  recordLayerHeader: {
    contentType: number;
    protocolVersion: { major: number; minor: number };
    epoch: number;
    sequenceNumber: number;
    contentLen: number;
  };
  fragment: Buffer;
}
/** werift's DtlsSocket (DtlsClient/DtlsServer): `connected` once the handshake is done, its record cipher. */
export interface DtlsSocketLike {
  connected?: boolean;
  cipher?: { decryptPacket(record: RecordLike): Buffer };
}

/** The receive entry of each werift protocol type, the last place that still knows the datagram's source. */
const ENTRY = { stun: "datagramReceived", tcp: "handleFrame", turn: "handleStunMessage" } as const;
type EntryName = (typeof ENTRY)[keyof typeof ENTRY];

export interface GuardCounters {
  /** DTLS/RTP/RTCP from an address that is not the selected (or a validated) pair's remote address. */
  foreign: number;
  /** A first byte no protocol of RFC 7983 uses here, or STUN-range bytes that are no STUN message. */
  unknown: number;
  /** STUN binding requests without a valid MESSAGE-INTEGRITY under our ICE password. */
  stun: number;
  /** DTLS datagrams refused: malformed, unknown content type or unauthenticated alert. */
  badRecord: number;
}

export class InboundGuard {
  readonly #conn: IceConnectionLike;
  readonly #dtls: () => DtlsSocketLike | undefined;
  readonly #log: Logger;
  readonly #hooked = new WeakSet<object>();
  readonly counters: GuardCounters = { foreign: 0, unknown: 0, stun: 0, badRecord: 0 };
  /** Sources of binding requests that carried our ICE password's MESSAGE-INTEGRITY, newest last. */
  readonly #authenticated: { protocol: unknown; host: string; port: number }[] = [];
  #loggedAt = -Infinity;

  /** `dtls` returns werift's current DTLS socket of this connection, if any (read when an alert arrives). */
  constructor(conn: IceConnectionLike, dtls: () => DtlsSocketLike | undefined, log: Logger) {
    this.#conn = conn;
    this.#dtls = dtls;
    this.#log = log;
    this.hook();
  }

  /**
   * Wraps the receive entry of every protocol of the connection not wrapped yet. werift adds protocols while it
   * gathers, each before it announces its candidate: call this on every local candidate and state change.
   */
  hook(): void {
    for (const p of this.#conn.protocols) {
      if (this.#hooked.has(p)) {
        continue;
      }
      const name: EntryName | undefined = ENTRY[p.type as keyof typeof ENTRY];
      const original = name === undefined ? undefined : p[name];
      if (name === undefined || typeof original !== "function") {
        this.#log.warn("ICE protocol of an unknown shape: inbound datagrams not filtered", { type: String(p.type) });
        continue;
      }
      this.#hooked.add(p);
      p[name] = (data: Buffer, addr: [string, number]): void => {
        if (this.accept(p, data, addr)) {
          original.call(p, data, addr);
        }
      };
    }
  }

  /** True when `data` from `addr` on `protocol` may go on to werift. */
  accept(protocol: unknown, data: Buffer, addr: [string, number]): boolean {
    const b0 = data[0];
    if (b0 === undefined) {
      return this.#drop("unknown");
    }
    if (b0 < 4) {
      return this.#stunOk(protocol, data, addr);
    }
    const dtls = b0 >= 20 && b0 <= 63;
    if (!dtls && (b0 < 128 || b0 > 191)) {
      return this.#drop("unknown");
    }
    if (!this.isPeer(protocol, addr)) {
      return this.#drop("foreign");
    }
    if (dtls && !this.#recordsOk(data)) {
      return this.#drop("badRecord");
    }
    return true;
  }

  /** A STUN message; if a request, one authenticated with our (current or an earlier generation's) password. */
  #stunOk(protocol: unknown, data: Buffer, addr: [string, number]): boolean {
    if (!isStunMessage(data)) {
      return this.#drop("unknown");
    }
    if ((data.readUInt16BE(0) & 0x0110) !== 0) {
      return true; // response, error response or indication
    }
    const conn = this.#conn;
    if (parseMessage(data, Buffer.from(conn.localPassword, "utf8")) !== undefined) {
      return this.#authenticatedFrom(protocol, addr);
    }
    for (const ufrag in conn.userHistory) {
      const pwd = conn.userHistory[ufrag];
      if (pwd !== undefined && pwd !== conn.localPassword && parseMessage(data, Buffer.from(pwd, "utf8"))) {
        return this.#authenticatedFrom(protocol, addr);
      }
    }
    return this.#drop("stun");
  }

  /** Remembers the source of an authenticated binding request as the peer's (RFC 8445 §7.3.1.4). */
  #authenticatedFrom(protocol: unknown, addr: [string, number]): true {
    const known = this.#authenticated;
    for (const a of known) {
      if (a.protocol === protocol && a.port === addr[1] && a.host === addr[0]) {
        return true;
      }
    }
    if (known.length >= MAX_AUTHENTICATED) {
      known.shift();
    }
    known.push({ protocol, host: addr[0], port: addr[1] });
    return true;
  }

  /**
   * True when `addr` on `protocol` is the peer's: the selected pair's remote address (checked first: the common
   * case), a succeeded pair's, or the source of a binding request authenticated with our password.
   */
  isPeer(protocol: unknown, addr: [string, number]): boolean {
    const n = this.#conn.nominated;
    if (
      n !== undefined &&
      n !== null &&
      n.protocol === protocol &&
      addr[1] === n.remoteCandidate.port &&
      addr[0] === n.remoteCandidate.host
    ) {
      return true;
    }
    for (const a of this.#authenticated) {
      if (a.protocol === protocol && a.port === addr[1] && a.host === addr[0]) {
        return true;
      }
    }
    for (const p of this.#conn.checkList) {
      if (
        p.state === PAIR_SUCCEEDED &&
        p.protocol === protocol &&
        addr[1] === p.remoteCandidate.port &&
        addr[0] === p.remoteCandidate.host
      ) {
        return true;
      }
    }
    return false;
  }

  /**
   * A DTLS datagram is whole records (RFC 6347 §4.1) of content types 20–23 only; after the handshake an alert
   * must decrypt under the session's keys (werift would take a plaintext one, or an encrypted-looking one whose
   * first two bytes name an alert, as the peer's close).
   */
  #recordsOk(data: Buffer): boolean {
    let socket: DtlsSocketLike | undefined;
    let off = 0;
    while (off + RECORD_HEADER <= data.length) {
      const type = data[off]!;
      const len = data.readUInt16BE(off + 11);
      if (type < 20 || type > 23 || off + RECORD_HEADER + len > data.length) {
        return false;
      }
      if (type === CT_ALERT) {
        socket ??= this.#dtls();
        if (socket?.connected === true && !authenticAlert(socket, data, off, len)) {
          return false;
        }
      }
      off += RECORD_HEADER + len;
    }
    return off === data.length;
  }

  #drop(kind: keyof GuardCounters): false {
    this.counters[kind]++;
    const now = performance.now();
    if (now - this.#loggedAt >= LOG_INTERVAL_MS) {
      this.#loggedAt = now;
      this.#log.debug("inbound datagrams dropped (not from the selected ICE pair, or not a valid DTLS record)", {
        ...this.counters,
        last: kind,
      });
    }
    return false;
  }
}

/** An alert record of an established session: epoch > 0 and its AEAD tag verifies under the peer's write key. */
function authenticAlert(socket: DtlsSocketLike, data: Buffer, off: number, len: number): boolean {
  const epoch = data.readUInt16BE(off + 3);
  const cipher = socket.cipher;
  if (epoch === 0 || cipher === undefined) {
    return false;
  }
  try {
    cipher.decryptPacket({
      recordLayerHeader: {
        contentType: CT_ALERT,
        protocolVersion: { major: data[off + 1]!, minor: data[off + 2]! },
        epoch,
        sequenceNumber: data.readUIntBE(off + 5, 6),
        contentLen: len,
      },
      fragment: data.subarray(off + RECORD_HEADER, off + RECORD_HEADER + len),
    });
    return true;
  } catch {
    return false;
  }
}
