/**
 * DATA in the element SDK's media-kind model: data-channel messages travel DATA connections only (never AUDIO or
 * VIDEO ones), a plain SDK Element forwards them by default, a subclass may take them (`onData`), a cycle of
 * forwarding elements stops, and the DATA flow states follow the messages.
 */
import t from "tap";
import type { JsonObject } from "../../../../media/channel/protocol.js";
import { MediaElement, type Connection, type ElementContext } from "../../../../media/core/MediaElement.js";
import type { DataMessage, MediaPacket } from "../../../../media/core/types.js";
import type { Logger } from "../../../../media/logger.js";
import { PortAllocator } from "../../../../media/net/PortAllocator.js";
import { Element } from "../../../../media/sdk/index.js";

const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
const events: { id: string; event: string; data: JsonObject }[] = [];

const ctx = (id: string, type: string): ElementContext => ({
  id,
  pipelineId: "p",
  type,
  settings: {
    workerIndex: 0,
    rtpPortMin: 50000,
    rtpPortMax: 50001,
    logLevel: "warn",
    webrtc: { interfaces: [], externalIPv4: "", stunServer: "", turnServer: "", turnUsername: "", turnPassword: "" },
    flowTimeoutMs: 2000,
    loadReportMs: 1000,
  },
  ports: new PortAllocator(50000, 50001),
  logger,
  emit: (event, data) => events.push({ id, event, data }),
  emitDescribed: (event, data) => events.push({ id, event, data }),
});

class Source extends MediaElement {
  push(m: DataMessage): void {
    this.sendDataToSinks(m);
  }
  protected override onMedia(): void {
    // A source takes nothing.
  }
  protected override dispose(): void {
    // Nothing of its own.
  }
}

class DataSink extends Element {
  readonly got: DataMessage[] = [];
  protected override onData(m: DataMessage, _conn: Connection): void {
    this.got.push(m);
  }
  protected override onMedia(_p: MediaPacket): void {
    // Media ignored.
  }
}

const msg = (data: string | Uint8Array): DataMessage => ({
  kind: "DATA",
  channelId: 1,
  label: "chat",
  protocol: "",
  data,
});

t.test("messages travel DATA connections only; a plain Element forwards them; flow states follow", async (t) => {
  const src = new Source(ctx("src", "Source"));
  const mid = new Element(ctx("mid", "Element"), {});
  const sink = new DataSink(ctx("sink", "DataSink"), {});
  const avOnly = new DataSink(ctx("av", "DataSink"), {});
  src.connectTo(mid, ["DATA"], "default", "default");
  mid.connectTo(sink, ["AUDIO", "VIDEO", "DATA"], "default", "default");
  src.connectTo(avOnly, ["AUDIO", "VIDEO"], "default", "default");
  src.push(msg("hello"));
  src.push(msg(new Uint8Array([1, 2, 3])));
  t.same(
    sink.got.map((m) => m.data),
    ["hello", new Uint8Array([1, 2, 3])],
    "through the plain Element",
  );
  t.same(avOnly.got, [], "an AUDIO/VIDEO connection carries no data");
  t.ok(src.isFlowingOut("DATA") && sink.isFlowingIn("DATA"), "DATA flows");
  t.notOk(sink.isFlowingIn("AUDIO"), "AUDIO does not");
  t.ok(events.some((e) => e.id === "sink" && e.event === "MediaFlowInStateChanged" && e.data["mediaType"] === "DATA"));
});

t.test("a cycle of forwarding elements stops; a MediaElement without onData drops", async (t) => {
  const a = new Element(ctx("a", "Element"), {});
  const b = new Element(ctx("b", "Element"), {});
  const sink = new DataSink(ctx("s2", "DataSink"), {});
  const src = new Source(ctx("src2", "Source"));
  const plain = new Source(ctx("plain", "Source"));
  src.connectTo(a, ["DATA"], "default", "default");
  a.connectTo(b, ["DATA"], "default", "default");
  b.connectTo(a, ["DATA"], "default", "x");
  b.connectTo(sink, ["DATA"], "default", "default");
  src.connectTo(plain, ["DATA"], "default", "y");
  src.push(msg("once"));
  t.same(
    sink.got.map((m) => m.data),
    ["once"],
    "delivered once, no endless loop",
  );
});

t.test("a released sink gets nothing", async (t) => {
  const src = new Source(ctx("src3", "Source"));
  const sink = new DataSink(ctx("s3", "DataSink"), {});
  src.connectTo(sink, ["DATA"], "default", "default");
  sink.release();
  src.push(msg("late"));
  t.same(sink.got, []);
});
