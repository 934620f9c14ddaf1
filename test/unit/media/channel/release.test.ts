/**
 * The worker side of the release contract (docs/closures.md), through WorkerDispatcher as the control plane drives
 * it: a pipeline of three RtpEndpoints goes with one `object.release` whose answer carries each element's final media
 * facts, no event is posted for any of them, and every port and socket is free afterwards; an element released alone
 * still disconnects its live peers with ElementDisconnected and raises nothing itself.
 */
import dgram from "node:dgram";
import t from "tap";
import type { FromWorker, JsonObject, JsonValue, MediaRequest } from "../../../../media/channel/protocol.js";
import { WorkerDispatcher } from "../../../../media/channel/WorkerDispatcher.js";
import { registerBuiltinElements } from "../../../../media/elements/index.js";
import { ElementRegistry } from "../../../../media/sdk/ElementRegistry.js";
import { reserveRtpRange } from "../../../helpers/ports.js";
import { Phone, settingsFor, sleep, until } from "../rtp/fixtures/rtpHarness.js";

/** Kurento's built-in element types, as a media worker registers them. */
function builtins(): ElementRegistry {
  const registry = new ElementRegistry();
  registerBuiltinElements(registry);
  return registry;
}

class Driver {
  readonly posted: FromWorker[] = [];
  readonly dispatcher: WorkerDispatcher;
  #id = 0;

  constructor(dispatcher: (post: (m: FromWorker) => void) => WorkerDispatcher) {
    this.dispatcher = dispatcher((m) => this.posted.push(m));
  }

  get events(): { objectId: string; event: string; data: JsonObject }[] {
    return this.posted.flatMap((m) => (m.kind === "event" ? [m] : []));
  }

  async request(req: MediaRequest): Promise<JsonValue> {
    const id = ++this.#id;
    this.dispatcher.handle({ kind: "request", id, ...req });
    await until(() => this.posted.some((m) => m.kind === "response" && m.id === id), 5000);
    const res = this.posted.find((m) => m.kind === "response" && m.id === id);
    if (res?.kind !== "response" || !res.ok) {
      throw new Error(`request ${req.method} failed`);
    }
    return res.value;
  }

  connect(sourceId: string, sinkId: string): Promise<JsonValue> {
    return this.request({
      method: "element.connect",
      params: { sourceId, sinkId, mediaType: "AUDIO", sourceDescription: "default", sinkDescription: "default" },
    });
  }
}

/** True when `port` can be bound on 127.0.0.1 again (its socket is closed). */
async function bindable(port: number): Promise<boolean> {
  const s = dgram.createSocket("udp4");
  const ok = await new Promise<boolean>((resolve) => {
    s.once("error", () => resolve(false));
    s.bind(port, "127.0.0.1", () => resolve(true));
  });
  s.close();
  return ok;
}

t.test(
  "a pipeline of three RtpEndpoints: one request, no event, final facts, every port and socket freed",
  async (t) => {
    const range = await reserveRtpRange();
    const d = new Driver((post) => new WorkerDispatcher(settingsFor(range), post, builtins()));
    const phones = [await Phone.open(), await Phone.open(), await Phone.open()];
    t.teardown(() => {
      d.dispatcher.close();
      for (const p of phones) {
        p.close();
      }
      range.release();
    });
    await d.request({ method: "pipeline.create", params: { pipelineId: "p" } });
    const ids = ["p/a", "p/b", "p/c"];
    const ports: number[] = [];
    for (const [i, id] of ids.entries()) {
      await d.request({
        method: "element.create",
        params: { pipelineId: "p", elementId: id, type: "RtpEndpoint", ctor: {} },
      });
      const answer = await d.request({
        method: "object.invoke",
        params: { objectId: id, operation: "processOffer", args: { offer: phones[i]?.offer() ?? "" } },
      });
      if (typeof answer !== "string") {
        throw new TypeError("processOffer answers SDP");
      }
      phones[i]?.aimAt(answer);
      ports.push(Number(/m=audio (\d+)/.exec(answer)?.[1]));
    }
    await d.connect("p/a", "p/b");
    await d.connect("p/b", "p/c");
    await d.connect("p/c", "p/a");
    for (let i = 0; i < 20; i++) {
      phones[0]?.send(8, 100 + i, 160 * i, 0x1234, Buffer.alloc(160, 0xd5), i === 0);
      await sleep(2);
    }
    await until(() => (phones[1]?.received.length ?? 0) >= 20, 5000);
    t.equal(phones[1]?.received.length, 20, "B's phone got what A's phone sent");
    t.ok(
      ports.every((p) => p > 0),
      "three RTP ports in use",
    );
    for (const p of ports) {
      t.notOk(await bindable(p), `port ${p} is held before the release`);
    }

    const before = d.posted.length;
    const result = (await d.request({ method: "object.release", params: { objectId: "p" } })) as {
      final: Record<string, { stats: Record<string, JsonObject>; transcoding: boolean; pipelineAudioCodec: string }>;
    };
    await sleep(300);
    const after = d.posted.slice(before).filter((m) => m.kind !== "load" && m.kind !== "log");
    t.same(
      after.map((m) => m.kind),
      ["response"],
      "one response and nothing else: no ElementDisconnected, no state change, no flow event",
    );
    t.same(Object.keys(result.final).sort(), ids, "final media facts of every element");
    const inbound = Object.values(result.final["p/a"]?.stats ?? {}).find((r) => r["type"] === "inboundrtp");
    t.equal(inbound?.["packetsReceived"], 20, "A's final stats count the 20 packets its phone sent");
    const outbound = Object.values(result.final["p/b"]?.stats ?? {}).find((r) => r["type"] === "outboundrtp");
    t.equal(outbound?.["packetsSent"], 20, "B's final stats count the 20 packets it sent its phone");
    t.equal(result.final["p/b"]?.pipelineAudioCodec, "pcma", "the codec the pipeline fed B");
    const dump = (await d.request({ method: "worker.dump", params: {} })) as JsonObject;
    t.same(dump, { pipelines: 0, elements: 0, portsInUse: 0 }, "nothing left in the worker");
    for (const p of ports) {
      t.ok(await bindable(p), `port ${p} is free: its socket is closed`);
    }
    const again = await d.request({ method: "object.release", params: { objectId: "p" } });
    t.same(again, { final: {} }, "releasing twice answers with nothing");
  },
);

t.test("an element released alone: its live peers raise ElementDisconnected, it raises nothing", async (t) => {
  const range = await reserveRtpRange();
  const d = new Driver((post) => new WorkerDispatcher(settingsFor(range), post, builtins()));
  t.teardown(() => {
    d.dispatcher.close();
    range.release();
  });
  await d.request({ method: "pipeline.create", params: { pipelineId: "p" } });
  for (const id of ["p/x", "p/y", "p/z"]) {
    await d.request({
      method: "element.create",
      params: { pipelineId: "p", elementId: id, type: "PassThrough", ctor: {} },
    });
  }
  await d.connect("p/x", "p/y");
  await d.connect("p/y", "p/z");
  const before = d.events.length;
  const result = await d.request({ method: "object.release", params: { objectId: "p/y" } });
  await sleep(100);
  const events = d.events.slice(before);
  t.same(
    events.map((e) => [e.objectId, e.event, e.data["sink"]]),
    [["p/x", "ElementDisconnected", "p/y"]],
    "x (alive) reports losing its sink y; y (released) reports nothing",
  );
  t.same(Object.keys((result as { final: JsonObject }).final), ["p/y"], "final facts of the released element");
  t.same(
    await d.request({
      method: "object.invoke",
      params: { objectId: "p/z", operation: "getSourceConnections", args: {} },
    }),
    [],
    "z lost its source",
  );
});
