/**
 * The data channels of one peer connection (SCTP over the BUNDLEd DTLS transport, werift's RTCSctpTransport), as a
 * WebRtcEndpoint with `useDataChannels` sees them (KMS kmswebrtcdatasessionbin):
 *
 * - channels the peer opens (DCEP) and channels we open (`create`, WebRtcEndpoint.createDataChannel) are tracked by
 *   SCTP stream id; `opened`/`closed` report each once (DataChannelOpened / DataChannelClosed);
 * - every message the peer sends is handed on with its channel's id, label and protocol, string or binary;
 * - `send` writes a message on the channel of the same stream id (else the same label, else the only open one, as
 *   KMS bridges one channel per session) with a bounded send queue: while werift's buffered amount of that channel is
 *   over {@link MAX_BUFFERED_BYTES} (a slow or stalled peer, or a flood looped back at it), messages are dropped,
 *   counted and logged (rate-limited), never queued without bound;
 * - statistics as KMS reports them (RTCDataChannelStats per channel, RTCPeerConnectionStats for the session).
 *
 * Nothing here throws out of a werift callback.
 */
import { RateLimitedLog, type Logger } from "../logger.js";

/** Bytes werift may hold unsent per channel before we drop instead of queueing (16 × werift's max message size). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** Channels per peer connection (SCTP allows 65535 streams; a peer opening thousands is hostile). */
export const MAX_CHANNELS = 256;

/** What we use of werift's RTCDataChannel (narrow, so tests can stand in for it). */
export interface DataChannelLike {
  readonly id: number;
  readonly label: string;
  readonly protocol: string;
  readonly readyState: string;
  readonly bufferedAmount: number;
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly messagesReceived: number;
  readonly bytesReceived: number;
  readonly stateChanged: { subscribe(f: (state: string) => void): unknown };
  readonly onMessage: { subscribe(f: (data: string | Buffer) => void): unknown };
  send(data: Buffer | string): void;
  close(): void;
}

/** What we use of werift's RTCPeerConnection. */
export interface DataPeer {
  readonly onDataChannel: { subscribe(f: (ch: DataChannelLike) => void): unknown };
  readonly sctpTransport: object | undefined;
  createDataChannel(
    label: string,
    o: { ordered: boolean; protocol: string; maxPacketLifeTime?: number; maxRetransmits?: number },
  ): DataChannelLike;
}

export interface DataChannelInfo {
  readonly id: number;
  readonly label: string;
  readonly protocol: string;
}

export interface DataChannelHandlers {
  opened(id: number): void;
  closed(id: number): void;
  message(channel: DataChannelInfo, data: string | Uint8Array): void;
}

/** What to send, and where it came from (the sink picks its own channel by it). */
export interface OutgoingData {
  readonly channelId: number;
  readonly label: string;
  readonly data: string | Uint8Array;
}

export type DataSendResult = "sent" | "no-channel" | "full" | "too-big";

export interface CreateChannelOptions {
  label: string;
  ordered: boolean;
  /** ms; -1: unset. */
  maxPacketLifeTime: number;
  /** -1: unset. */
  maxRetransmits: number;
  protocol: string;
}

export class DataChannels {
  readonly #pc: DataPeer;
  readonly #h: DataChannelHandlers;
  readonly #log: RateLimitedLog;
  readonly #logger: Logger;
  /** Open or opening channels by stream id. */
  readonly #channels = new Map<number, DataChannelLike>();
  /** Their stats id (stable per channel, as KMS's uuid). */
  readonly #ids = new WeakMap<DataChannelLike, string>();
  readonly #statsId: string;
  #opened = 0;
  #closedCount = 0;
  #dropped = 0;
  #closed = false;

  constructor(pc: DataPeer, handlers: DataChannelHandlers, logger: Logger) {
    this.#pc = pc;
    this.#h = handlers;
    this.#logger = logger;
    this.#log = new RateLimitedLog(logger);
    this.#statsId = `data-session-${Math.random().toString(36).slice(2, 10)}`;
    pc.onDataChannel.subscribe((ch) => this.#add(ch));
  }

  /** Messages dropped at a full send queue (or with no channel to go to). */
  get dropped(): number {
    return this.#dropped;
  }

  /** The number of channels open now. */
  get size(): number {
    return this.#channels.size;
  }

  /**
   * Opens a channel of ours (WebRtcEndpoint.createDataChannel); DataChannelOpened follows once the peer acks it.
   * @throws Error when there is no SCTP association to open it on.
   */
  create(o: CreateChannelOptions): void {
    if (this.#pc.sctpTransport === undefined || this.#closed) {
      throw new Error("no data session: the peer's description has no m=application section");
    }
    const ch = this.#pc.createDataChannel(o.label, {
      ordered: o.ordered,
      protocol: o.protocol,
      maxPacketLifeTime: o.maxPacketLifeTime >= 0 ? o.maxPacketLifeTime : undefined,
      maxRetransmits: o.maxRetransmits >= 0 ? o.maxRetransmits : undefined,
    });
    this.#add(ch);
  }

  /** Closes channel `id` (WebRtcEndpoint.closeDataChannel); false when there is none. */
  closeChannel(id: number): boolean {
    const ch = this.#channels.get(id);
    if (ch === undefined) {
      return false;
    }
    ch.close();
    return true;
  }

  send(msg: OutgoingData): DataSendResult {
    if (this.#closed) {
      return "no-channel";
    }
    const ch = this.#target(msg);
    if (ch === undefined) {
      this.#drop("no-channel", "data message dropped: no open data channel to send it on", msg);
      return "no-channel";
    }
    if (ch.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.#drop("full", "data message dropped: the peer does not keep up (send queue full)", msg, ch);
      return "full";
    }
    try {
      ch.send(typeof msg.data === "string" ? msg.data : toBuffer(msg.data));
      return "sent";
    } catch (err) {
      this.#drop("send", "data message dropped: werift refused it", msg, ch, String(err));
      return "too-big";
    }
  }

  /** The channel a message for `msg`'s channel goes to: same stream id, else same label, else the only one. */
  #target(msg: OutgoingData): DataChannelLike | undefined {
    const byId = this.#channels.get(msg.channelId);
    if (byId?.readyState === "open" && byId.label === msg.label) {
      return byId;
    }
    let only: DataChannelLike | undefined;
    let open = 0;
    for (const ch of this.#channels.values()) {
      if (ch.readyState !== "open") {
        continue;
      }
      if (ch.label === msg.label) {
        return ch;
      }
      open++;
      only = ch;
    }
    if (byId?.readyState === "open") {
      return byId;
    }
    return open === 1 ? only : undefined;
  }

  #drop(key: string, text: string, msg: OutgoingData, ch?: DataChannelLike, error?: string): void {
    this.#dropped++;
    this.#log.warn(`dc-${key}`, text, {
      channelId: ch?.id ?? msg.channelId,
      label: msg.label,
      bufferedAmount: ch?.bufferedAmount,
      dropped: this.#dropped,
      error,
    });
  }

  #add(ch: DataChannelLike): void {
    if (this.#closed) {
      return;
    }
    if (this.#channels.size >= MAX_CHANNELS) {
      this.#logger.warn("data channel refused: too many channels on this peer connection", {
        channelId: ch.id,
        max: MAX_CHANNELS,
      });
      safely(() => ch.close(), this.#logger);
      return;
    }
    this.#ids.set(ch, `${this.#statsId}-${ch.id}`);
    let announced = false;
    const onState = (s: string): void => {
      if (s === "open" && !announced) {
        announced = true;
        this.#channels.set(ch.id, ch);
        this.#opened++;
        safely(() => this.#h.opened(ch.id), this.#logger);
      } else if (s === "closed" && this.#channels.get(ch.id) === ch) {
        this.#channels.delete(ch.id);
        if (announced) {
          this.#closedCount++;
          safely(() => this.#h.closed(ch.id), this.#logger);
        }
      }
    };
    ch.stateChanged.subscribe(onState);
    ch.onMessage.subscribe((data) => {
      if (!this.#closed) {
        safely(() => this.#h.message({ id: ch.id, label: ch.label, protocol: ch.protocol }, data), this.#logger);
      }
    });
    if (ch.readyState === "open") {
      onState("open");
    } else if (ch.id !== undefined && Number.isInteger(ch.id)) {
      this.#channels.set(ch.id, ch); // opening: counted in stats, announced on open
    }
  }

  /** getStats records (KMS WebRtcEndpointImpl::collectRTCDataChannelStats), keyed by their ids. */
  stats(now: number): Record<string, Record<string, string | number>> {
    const out: Record<string, Record<string, string | number>> = {};
    for (const ch of this.#channels.values()) {
      const id = this.#ids.get(ch) ?? `${this.#statsId}-${ch.id}`;
      out[id] = {
        __module__: "kurento",
        __type__: "RTCDataChannelStats",
        id,
        type: "datachannel",
        timestampMillis: now,
        label: ch.label,
        protocol: ch.protocol,
        datachannelid: ch.id,
        state: ch.readyState,
        messagesSent: ch.messagesSent,
        bytesSent: ch.bytesSent,
        messagesReceived: ch.messagesReceived,
        bytesReceived: ch.bytesReceived,
      };
    }
    out[this.#statsId] = {
      __module__: "kurento",
      __type__: "RTCPeerConnectionStats",
      id: this.#statsId,
      type: "session",
      timestampMillis: now,
      dataChannelsOpened: this.#opened,
      dataChannelsClosed: this.#closedCount,
    };
    return out;
  }

  /** Stops reporting (the peer connection is closing); its channels close with it. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#channels.clear();
  }
}

const toBuffer = (u: Uint8Array): Buffer =>
  Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);

function safely(f: () => void, logger: Logger): void {
  try {
    f();
  } catch (err) {
    logger.warn("data channel handler failed", { error: String(err) });
  }
}
