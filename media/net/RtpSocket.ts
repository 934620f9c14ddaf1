/**
 * The UDP transport of one plain-RTP stream (RtpEndpoint, SIP legs): an even RTP port and RTCP on the odd one
 * after it (RFC 3550 §11), or RTCP multiplexed on the RTP port (RFC 5761), from the worker's {@link PortAllocator}.
 *
 * Symmetric RTP with latching (RFC 4961, rtpengine's endpoint learning): we send to the address the SDP gave
 * until a *valid* packet arrives (the caller's handler says so, after parsing and, with SRTP, authentication);
 * from then on we send to where that packet came from, which crosses NATs the SDP knows nothing about. Re-latch
 * rules:
 * - during the learning window ({@link RtpSocketOptions.learningMs}, 3 s) after the first latch, a valid packet
 *   from another address moves the latch (the first packets may come from a transient path);
 * - afterwards a valid packet from another address moves it only if the latched source has been silent for
 *   {@link RtpSocketOptions.relatchSilenceMs} (NAT rebinding, a re-INVITE from a new box); otherwise it is dropped
 *   and counted in {@link RtpSocketStats.foreignPackets}, so a third party cannot hijack a live stream;
 * - a new remote description ({@link setRemote}) forgets the latch.
 * RTP and RTCP latch separately (their ports differ unless muxed).
 *
 * The media timeout is not the socket's: the transport's MediaTimeoutStage (media/endpoint/stages/) sees every
 * valid RTP datagram the handler accepts.
 *
 * Ports are returned on every path: a failed bind quarantines the pair and tries the next; {@link close} (idempotent)
 * closes both sockets and releases the pair, whatever a last send did (a send that throws is counted as failed,
 * never left pending). The receive path never throws: a handler exception is logged at a bounded rate and the
 * datagram dropped.
 *
 * Hot path (docs/benchmarks.md, "Where the time goes"): a send's IP-literal address is resolved at once, not a
 * nextTick later; RTP sends skip dgram's completion callback but one in 64; outgoing RTP is built in a buffer lent
 * again and again ({@link RtpSocket.rtpBuffer}); the receive path reads the clock once and hands it to the handler,
 * and copies the sender's address only to latch it.
 */
import dgram from "node:dgram";
import { lookup as dnsLookup, type LookupOneOptions } from "node:dns";
import { isIP } from "node:net";
import { UnsupportedError } from "../errors.js";
import { RateLimitedLog, type Logger } from "../logger.js";
import { isRtcp } from "../rtp/RtpPacket.js";
import type { PortAllocator } from "./PortAllocator.js";

export interface UdpAddress {
  readonly address: string;
  readonly port: number;
}

/**
 * Handler for a datagram; returns true when it was valid (which may latch the sender's address). `now` is the
 * arrival time (performance.now()), read once per datagram.
 */
export type DatagramHandler = (data: Buffer, from: UdpAddress, now: number) => boolean;

export interface RtpSocketOptions {
  readonly ports: PortAllocator;
  /** Local address to bind ("0.0.0.0", "127.0.0.1", "::"). */
  readonly bindAddress: string;
  readonly ipv6?: boolean;
  readonly logger: Logger;
  readonly onRtp: DatagramHandler;
  readonly onRtcp: DatagramHandler;
  readonly learningMs?: number;
  readonly relatchSilenceMs?: number;
}

export interface RtpSocketStats {
  /** Datagrams dropped because they came from an address other than the latched one. */
  foreignPackets: number;
  /** Latch moves after the first latch. */
  relatches: number;
  /** Datagrams the handler refused (malformed, failed authentication, ...). */
  invalidPackets: number;
  /** Failed sends: every RTCP send, RTP sends that threw, and one RTP send in {@link RTP_SEND_CHECK_EVERY}. */
  sendErrors: number;
}

/** Bind attempts on successive pairs before giving up. */
const BIND_ATTEMPTS = 8;

/**
 * One RTP send in this many asks dgram for its completion (RTCP always does): a callback costs a process.nextTick
 * per packet, so RTP sends go without one, and a lasting failure (no route, EPERM) is still counted and logged.
 */
const RTP_SEND_CHECK_EVERY = 64;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string, family: number) => void;

/**
 * dgram resolves every send's address through its `lookup`, and the default (dns.lookup) answers even an IP literal
 * a process.nextTick later, deferring the send with a closure. Our targets are IP literals (SDP c= lines, latched
 * sources): answer those at once (the last one remembered per socket, so the hot path is one string comparison);
 * anything else still goes to dns.lookup.
 */
function literalLookup(
  inFlight: { lookups: number } = { lookups: 0 },
): (host: string, options: LookupOneOptions, cb: LookupCallback) => void {
  let known = "";
  let family = 0;
  return (host, options, cb) => {
    if (host === known) {
      cb(null, host, family);
      return;
    }
    const f = isIP(host);
    if (f === 0) {
      // The send waits for the resolver: its buffer must not be lent again meanwhile (RtpSocket.rtpBuffer).
      inFlight.lookups++;
      dnsLookup(host, options, (err, address, fam) => {
        inFlight.lookups--;
        cb(err, address, fam);
      });
      return;
    }
    known = host;
    family = f;
    cb(null, host, f);
  };
}

interface Latch {
  addr: UdpAddress | undefined;
  latchedAt: number;
  lastValid: number;
  first: boolean;
}

function bind(sock: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    sock.once("error", onError);
    sock.bind({ port, address, exclusive: true }, () => {
      sock.off("error", onError);
      resolve();
    });
  });
}

/** A destination we can send to: not hold (port 0, 0.0.0.0, ::) and a port within 1-65535. */
const usable = (a: UdpAddress | undefined): UdpAddress | undefined =>
  a === undefined || !(a.port >= 1 && a.port <= 65535) || a.address === "0.0.0.0" || a.address === "::" ? undefined : a;

const same = (a: UdpAddress | undefined, b: UdpAddress): boolean => a?.port === b.port && a.address === b.address;

export class RtpSocket {
  readonly port: number;
  readonly stats: RtpSocketStats = { foreignPackets: 0, relatches: 0, invalidPackets: 0, sendErrors: 0 };
  readonly #rtp: dgram.Socket;
  readonly #rtcp: dgram.Socket;
  readonly #opts: RtpSocketOptions;
  readonly #log: RateLimitedLog;
  #closed = false;
  #rtcpMux = false;
  #sdpRtp: UdpAddress | undefined;
  #sdpRtcp: UdpAddress | undefined;
  readonly #rtpLatch: Latch = { addr: undefined, latchedAt: 0, lastValid: 0, first: true };
  readonly #rtcpLatch: Latch = { addr: undefined, latchedAt: 0, lastValid: 0, first: true };
  /** Sends handed to the kernel asynchronously and not yet completed (close waits for them, e.g. an RTCP BYE). */
  #pending = 0;
  /** RTP sends until the next one that asks for its completion ({@link RTP_SEND_CHECK_EVERY}). */
  #rtpUnchecked = 0;
  /** The buffer {@link rtpBuffer} lends. */
  #scratch: Buffer | undefined;
  /** RTP sends waiting for a host name's resolution (their buffer is still to be read). */
  readonly #inFlight: { lookups: number };

  private constructor(
    port: number,
    rtp: dgram.Socket,
    rtcp: dgram.Socket,
    opts: RtpSocketOptions,
    inFlight: { lookups: number },
  ) {
    this.port = port;
    this.#inFlight = inFlight;
    this.#rtp = rtp;
    this.#rtcp = rtcp;
    this.#opts = opts;
    this.#log = new RateLimitedLog(opts.logger);
    rtp.on("message", (m, r) => this.#receive(m, r, false));
    rtcp.on("message", (m, r) => this.#receive(m, r, true));
    const onError = (err: Error): void =>
      this.#log.warn("rtp-socket-error", "RTP socket error", { error: String(err) });
    rtp.on("error", onError);
    rtcp.on("error", onError);
  }

  /**
   * Allocates a port pair and binds RTP and RTCP sockets on it.
   * @throws UnsupportedError when no pair can be bound (the allocator is exhausted or every pair is taken).
   */
  static async open(opts: RtpSocketOptions): Promise<RtpSocket> {
    const type = opts.ipv6 === true ? "udp6" : "udp4";
    let lastError: unknown;
    for (let attempt = 0; attempt < BIND_ATTEMPTS; attempt++) {
      const port = opts.ports.allocatePair();
      const inFlight = { lookups: 0 };
      const rtp = dgram.createSocket({ type, lookup: literalLookup(inFlight) });
      const rtcp = dgram.createSocket({ type, lookup: literalLookup() });
      try {
        await bind(rtp, port, opts.bindAddress);
        await bind(rtcp, port + 1, opts.bindAddress);
        return new RtpSocket(port, rtp, rtcp, opts, inFlight);
      } catch (err) {
        lastError = err;
        rtp.close();
        rtcp.close();
        if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") {
          opts.ports.release(port);
          break;
        }
        // Another process holds it: skip the pair for a while.
        opts.ports.quarantine(port);
      }
    }
    throw new UnsupportedError(`could not bind an RTP port pair: ${String(lastError)}`);
  }

  get rtcpPort(): number {
    return this.port + 1;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Where RTP goes now: the latched source, else the SDP address. */
  get rtpTarget(): UdpAddress | undefined {
    return this.#rtpLatch.addr ?? this.#sdpRtp;
  }

  get rtcpTarget(): UdpAddress | undefined {
    if (this.#rtcpMux) {
      return this.rtpTarget;
    }
    return this.#rtcpLatch.addr ?? this.#sdpRtcp;
  }

  get latchedRtp(): UdpAddress | undefined {
    return this.#rtpLatch.addr;
  }

  /**
   * Applies the remote description: where to send until latched, whether RTCP is muxed. A changed address resets
   * latching. `rtp` undefined (or port 0 / 0.0.0.0, i.e. hold) sends nothing, and
   * so does a port outside 1-65535 (RTCP of an RTP port 65535 included), which the SDP layer already refuses.
   */
  setRemote(rtp: UdpAddress | undefined, rtcp: UdpAddress | undefined, rtcpMux: boolean): void {
    const newRtp = usable(rtp);
    const changed =
      newRtp?.address !== this.#sdpRtp?.address || newRtp?.port !== this.#sdpRtp?.port || rtcpMux !== this.#rtcpMux;
    this.#sdpRtp = newRtp;
    this.#sdpRtcp =
      usable(rtcp) ?? (newRtp === undefined ? undefined : usable({ address: newRtp.address, port: newRtp.port + 1 }));
    this.#rtcpMux = rtcpMux;
    if (changed) {
      for (const l of [this.#rtpLatch, this.#rtcpLatch]) {
        l.addr = undefined;
        l.first = true;
      }
    }
  }

  #receive(data: Buffer, rinfo: dgram.RemoteInfo, onRtcpPort: boolean): void {
    if (this.#closed) {
      return;
    }
    const rtcp = onRtcpPort || isRtcp(data);
    // Muxed RTCP latches with RTP (same port); RTCP on its own port latches separately.
    const latch = rtcp && onRtcpPort ? this.#rtcpLatch : this.#rtpLatch;
    const from: UdpAddress = rinfo; // no copy per datagram: only a latch keeps one
    const now = performance.now();
    const latched = latch.addr;
    let relatch = false;
    if (latched !== undefined && !same(latched, from)) {
      const learning = now - latch.latchedAt < (this.#opts.learningMs ?? 3000);
      const silent = now - latch.lastValid >= (this.#opts.relatchSilenceMs ?? 2000);
      if (!learning && !silent) {
        this.stats.foreignPackets++;
        this.#log.warn("rtp-foreign", "dropping a datagram from an address other than the latched source", {
          from: `${from.address}:${from.port}`,
          latched: `${latched.address}:${latched.port}`,
        });
        return;
      }
      relatch = true;
    }
    let valid = false;
    try {
      valid = rtcp ? this.#opts.onRtcp(data, from, now) : this.#opts.onRtp(data, from, now);
    } catch (err) {
      this.#log.warn("rtp-handler", "RTP handler failed on a datagram", { error: String(err) });
    }
    if (!valid) {
      this.stats.invalidPackets++;
      return;
    }
    if (latched === undefined || relatch) {
      if (relatch) {
        this.stats.relatches++;
      }
      latch.addr = { address: from.address, port: from.port };
      if (latch.first) {
        latch.first = false;
        latch.latchedAt = now;
      }
    }
    latch.lastValid = now;
  }

  /**
   * A buffer of at least `size` bytes to build the next outgoing RTP packet in, and send with {@link sendRtp}
   * before asking again. The same buffer comes back while every send of it left at once (the common case: no
   * allocation, no garbage per packet); once a send of it waits (in the socket's queue, or for a host name's
   * resolution), it is left to that send and a new one is made.
   */
  rtpBuffer(size: number): Buffer {
    let b = this.#scratch;
    if (b === undefined || b.length < size || this.#rtp.getSendQueueCount() !== 0 || this.#inFlight.lookups !== 0) {
      b = Buffer.allocUnsafeSlow(Math.max(size, 1500));
      this.#scratch = b;
    }
    return b;
  }

  /**
   * Sends an RTP packet to the current target; false when there is none or the socket is closed. Without a
   * completion callback but one in {@link RTP_SEND_CHECK_EVERY}: an error of the others goes unseen, a send in
   * flight at close is dropped (RTCP keeps both).
   */
  sendRtp(packet: Uint8Array): boolean {
    if (--this.#rtpUnchecked < 0) {
      this.#rtpUnchecked = RTP_SEND_CHECK_EVERY - 1;
      return this.#send(this.#rtp, packet, this.rtpTarget);
    }
    const to = this.#rtpLatch.addr ?? this.#sdpRtp;
    if (this.#closed || to === undefined) {
      return false;
    }
    try {
      this.#rtp.send(packet, to.port, to.address);
    } catch (err) {
      this.stats.sendErrors++;
      this.#log.warn("rtp-send", "RTP send failed", { error: String(err) });
      return false;
    }
    return true;
  }

  /** Sends RTCP: on the RTP socket when muxed, else from the RTCP port. */
  sendRtcp(packet: Uint8Array): boolean {
    return this.#send(this.#rtcpMux ? this.#rtp : this.#rtcp, packet, this.rtcpTarget);
  }

  #send(sock: dgram.Socket, packet: Uint8Array, to: UdpAddress | undefined): boolean {
    if (this.#closed || to === undefined) {
      return false;
    }
    this.#pending++;
    try {
      sock.send(packet, to.port, to.address, this.#sent);
    } catch (err) {
      // A synchronous throw (bad port or address, socket closed under us) never calls back: undo the count so
      // close() still closes the sockets (issue 9: an RTCP BYE to port 65536 kept both sockets bound for good).
      this.#sent(err instanceof Error ? err : new Error(String(err)));
      return false;
    }
    return true;
  }

  /** Completion of a send (one bound callback for all packets: no closure per packet). */
  readonly #sent = (err: Error | null): void => {
    this.#pending--;
    if (this.#closed && this.#pending === 0) {
      this.#closeSockets();
    }
    if (err !== null) {
      this.stats.sendErrors++;
      this.#log.warn("rtp-send", "RTP send failed", { error: String(err) });
    }
  };

  /**
   * Stops receiving, returns the port pair and closes both sockets (once sends in flight, such as a final RTCP
   * BYE, have left). Idempotent, never throws.
   */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    this.#opts.ports.release(this.port);
    if (this.#pending === 0) {
      this.#closeSockets();
    }
  }

  #closeSockets(): void {
    for (const s of [this.#rtp, this.#rtcp]) {
      try {
        s.close();
      } catch {
        // Already closed.
      }
    }
  }
}
