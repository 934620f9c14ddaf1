/**
 * media/webrtc/DataChannels against a stand-in peer connection: channel life (opened/closed once each), message
 * hand-off, the choice of the channel a message goes out on, the bounded send queue (a flood to a peer that does
 * not keep up is dropped and logged, rate-limited), the channel cap, and the KMS stats records.
 */
import t from "tap";
import {
  DataChannels,
  MAX_BUFFERED_BYTES,
  MAX_CHANNELS,
  type DataChannelLike,
  type DataPeer,
} from "../../../../media/webrtc/DataChannels.js";
import type { LogContext, Logger } from "../../../../media/logger.js";

class Emitter<T> {
  readonly #fns: ((v: T) => void)[] = [];
  subscribe(f: (v: T) => void): void {
    this.#fns.push(f);
  }
  execute(v: T): void {
    for (const f of this.#fns) {
      f(v);
    }
  }
}

class FakeChannel implements DataChannelLike {
  readyState = "connecting";
  bufferedAmount = 0;
  messagesSent = 0;
  bytesSent = 0;
  messagesReceived = 0;
  bytesReceived = 0;
  readonly sent: (string | Buffer)[] = [];
  readonly stateChanged = new Emitter<string>();
  readonly onMessage = new Emitter<string | Buffer>();
  constructor(
    readonly id: number,
    readonly label: string,
    readonly protocol = "",
  ) {}
  setState(s: string): void {
    this.readyState = s;
    this.stateChanged.execute(s);
  }
  receive(m: string | Buffer): void {
    this.messagesReceived++;
    this.bytesReceived += typeof m === "string" ? Buffer.byteLength(m) : m.length;
    this.onMessage.execute(m);
  }
  send(data: Buffer | string): void {
    this.sent.push(data);
    this.messagesSent++;
    this.bytesSent += typeof data === "string" ? Buffer.byteLength(data) : data.length;
  }
  close(): void {
    this.setState("closed");
  }
}

class FakePeer implements DataPeer {
  readonly onDataChannel = new Emitter<DataChannelLike>();
  sctpTransport: object | undefined = {};
  next = 0;
  createDataChannel(label: string, o: { protocol: string }): DataChannelLike {
    return new FakeChannel(this.next++ * 2, label, o.protocol);
  }
}

function recordingLogger(): { logger: Logger; warns: { msg: string; ctx?: LogContext | undefined }[] } {
  const warns: { msg: string; ctx?: LogContext | undefined }[] = [];
  const noop = (): void => undefined;
  const logger: Logger = {
    trace: noop,
    debug: noop,
    info: noop,
    error: noop,
    warn: (msg, ctx) => warns.push({ msg, ctx }),
    child: () => logger,
  };
  return { logger, warns };
}

function setup(): {
  pc: FakePeer;
  dc: DataChannels;
  events: string[];
  messages: { id: number; label: string; data: string | Uint8Array }[];
  warns: { msg: string; ctx?: LogContext | undefined }[];
} {
  const pc = new FakePeer();
  const events: string[] = [];
  const messages: { id: number; label: string; data: string | Uint8Array }[] = [];
  const { logger, warns } = recordingLogger();
  const dc = new DataChannels(
    pc,
    {
      opened: (id) => events.push(`opened ${id}`),
      closed: (id) => events.push(`closed ${id}`),
      message: (ch, data) => messages.push({ id: ch.id, label: ch.label, data }),
    },
    logger,
  );
  return { pc, dc, events, messages, warns };
}

t.test("a peer's channel: opened once, messages handed on, closed once", async (t) => {
  const { pc, dc, events, messages } = setup();
  const ch = new FakeChannel(1, "chat");
  pc.onDataChannel.execute(ch);
  t.same(events, [], "not announced while connecting");
  ch.setState("open");
  ch.setState("open");
  t.same(events, ["opened 1"]);
  ch.receive("hi");
  ch.receive(Buffer.from([1, 2]));
  t.same(messages, [
    { id: 1, label: "chat", data: "hi" },
    { id: 1, label: "chat", data: Buffer.from([1, 2]) },
  ]);
  ch.setState("closing");
  ch.setState("closed");
  ch.setState("closed");
  t.same(events, ["opened 1", "closed 1"]);
  t.equal(dc.size, 0);
});

t.test("a channel closed before it opened raises neither event", async (t) => {
  const { pc, dc, events } = setup();
  const ch = new FakeChannel(3, "x");
  pc.onDataChannel.execute(ch);
  ch.setState("closed");
  t.same(events, []);
  t.equal(dc.size, 0);
});

t.test("a message goes out on the channel of the same id, else the same label, else the only open one", async (t) => {
  const { pc, dc } = setup();
  const a = new FakeChannel(1, "a");
  const b = new FakeChannel(3, "b");
  for (const c of [a, b]) {
    pc.onDataChannel.execute(c);
    c.setState("open");
  }
  t.equal(dc.send({ channelId: 1, label: "a", data: "1" }), "sent");
  t.equal(dc.send({ channelId: 7, label: "b", data: "2" }), "sent");
  t.equal(dc.send({ channelId: 5, label: "zzz", data: "3" }), "no-channel", "two open, none matches");
  t.same(a.sent, ["1"]);
  t.same(b.sent, ["2"]);
  b.close();
  t.equal(dc.send({ channelId: 5, label: "zzz", data: Buffer.from("4") }), "sent", "the only open one");
  t.same(a.sent, ["1", Buffer.from("4")]);
});

t.test("a flood to a peer that does not keep up is dropped, counted and logged (rate-limited)", async (t) => {
  const { pc, dc, warns } = setup();
  const ch = new FakeChannel(1, "chat");
  pc.onDataChannel.execute(ch);
  ch.setState("open");
  ch.bufferedAmount = MAX_BUFFERED_BYTES + 1;
  let full = 0;
  for (let i = 0; i < 1000; i++) {
    if (dc.send({ channelId: 1, label: "chat", data: "x".repeat(1000) }) === "full") {
      full++;
    }
  }
  t.equal(full, 1000, "every message over the bound is refused");
  t.equal(ch.sent.length, 0, "none reaches werift's queue");
  t.equal(dc.dropped, 1000, "counted");
  t.ok(warns.length >= 1 && warns.length <= 10, `logged, rate-limited (${warns.length} lines)`);
  t.match(warns[0]?.msg, /send queue full/);
  ch.bufferedAmount = 0;
  t.equal(dc.send({ channelId: 1, label: "chat", data: "again" }), "sent", "sends again once it drained");
});

t.test("at most MAX_CHANNELS channels; more are closed at once", async (t) => {
  const { pc, dc, events, warns } = setup();
  for (let i = 0; i < MAX_CHANNELS + 3; i++) {
    const c = new FakeChannel(i * 2 + 1, `c${i}`);
    pc.onDataChannel.execute(c);
    c.setState("open");
  }
  t.equal(dc.size, MAX_CHANNELS);
  t.equal(events.length, MAX_CHANNELS, "only the accepted ones are announced");
  t.ok(warns.some((w) => w.msg.includes("too many channels")));
});

t.test("stats: RTCDataChannelStats per channel and the session's RTCPeerConnectionStats, as KMS", async (t) => {
  const { pc, dc } = setup();
  const ch = new FakeChannel(1, "chat", "proto");
  pc.onDataChannel.execute(ch);
  ch.setState("open");
  ch.receive("abc");
  dc.send({ channelId: 1, label: "chat", data: "abcd" });
  const recs = Object.values(dc.stats(1234));
  t.match(
    recs.find((r) => r["type"] === "datachannel"),
    {
      __type__: "RTCDataChannelStats",
      label: "chat",
      protocol: "proto",
      datachannelid: 1,
      state: "open",
      messagesReceived: 1,
      bytesReceived: 3,
      messagesSent: 1,
      bytesSent: 4,
      timestampMillis: 1234,
    },
  );
  t.match(
    recs.find((r) => r["type"] === "session"),
    {
      __type__: "RTCPeerConnectionStats",
      dataChannelsOpened: 1,
      dataChannelsClosed: 0,
    },
  );
  for (const r of recs) {
    t.equal(dc.stats(1)[String(r["id"])]?.["id"], r["id"], "keyed by a stable id");
  }
});

t.test("create needs a negotiated data session; after close nothing is reported", async (t) => {
  const { pc, dc, events } = setup();
  dc.create({ label: "mine", ordered: true, maxPacketLifeTime: -1, maxRetransmits: -1, protocol: "" });
  t.equal(dc.size, 1, "opening");
  pc.sctpTransport = undefined;
  t.throws(() => dc.create({ label: "no", ordered: true, maxPacketLifeTime: -1, maxRetransmits: -1, protocol: "" }));
  dc.close();
  const late = new FakeChannel(9, "late");
  pc.onDataChannel.execute(late);
  late.setState("open");
  t.same(events, [], "nothing after close");
  t.equal(dc.send({ channelId: 9, label: "late", data: "x" }), "no-channel");
});
