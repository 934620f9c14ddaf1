/**
 * Two RtpEndpoints in a real media worker thread (dist/media/mediaWorker.js, driven over the typed channel as the
 * control plane does), connected A ↔ B. Two UDP sockets on 127.0.0.1 play the phones: what phone A sends comes out
 * at phone B byte for byte and vice versa, DTMF from phone A raises DtmfReceived on A and reaches phone B as
 * RFC 4733 packets, and releasing the pipeline returns every port. Run `npm run build` first.
 */
import { randomBytes } from "node:crypto";
import { Worker } from "node:worker_threads";
import t from "tap";
import type { FromWorker, JsonObject, JsonValue, MediaRequest, WorkerDump } from "../../../media/channel/protocol.js";
import { dtmfPackets, parseTelephoneEvent } from "../../../media/rtp/dtmf.js";
import { reserveRtpRange } from "../../helpers/ports.js";
import { Phone, settingsFor, sleep, until } from "./rtp/fixtures/rtpHarness.js";

const WORKER = new URL("../../../dist/media/mediaWorker.js", import.meta.url);

class Channel {
  readonly worker: Worker;
  readonly events: { objectId: string; event: string; data: JsonObject }[] = [];
  readonly #waiting = new Map<number, (m: FromWorker) => void>();
  #id = 0;

  constructor(worker: Worker) {
    this.worker = worker;
    worker.on("message", (m: FromWorker) => {
      if (m.kind === "response") {
        this.#waiting.get(m.id)?.(m);
        this.#waiting.delete(m.id);
      } else if (m.kind === "event") {
        this.events.push({ objectId: m.objectId, event: m.event, data: m.data });
      }
    });
  }

  async request(req: MediaRequest): Promise<JsonValue> {
    const id = ++this.#id;
    const res = await new Promise<FromWorker>((resolve) => {
      this.#waiting.set(id, resolve);
      this.worker.postMessage({ kind: "request", id, ...req });
    });
    if (res.kind !== "response") {
      throw new Error("not a response");
    }
    if (!res.ok) {
      throw new Error(`${res.error.name}: ${res.error.message}`);
    }
    return res.value;
  }

  invoke(objectId: string, operation: string, args: JsonObject = {}): Promise<JsonValue> {
    return this.request({ method: "object.invoke", params: { objectId, operation, args } });
  }
}

t.test("RtpEndpoint ↔ RtpEndpoint in a media worker: payload bytes both ways, DTMF, ports returned", async (t) => {
  t.setTimeout(30_000);
  const range = await reserveRtpRange();
  const worker = new Worker(WORKER, { workerData: settingsFor(range) });
  const ch = new Channel(worker);
  const [pa, pb] = [await Phone.open(), await Phone.open()];
  t.teardown(async () => {
    pa.close();
    pb.close();
    await worker.terminate();
    range.release();
  });
  await new Promise<void>((resolve) => {
    const onReady = (m: FromWorker): void => {
      if (m.kind === "ready") {
        worker.off("message", onReady);
        resolve();
      }
    };
    worker.on("message", onReady);
  });

  await ch.request({ method: "pipeline.create", params: { pipelineId: "p" } });
  for (const id of ["p/a", "p/b"]) {
    await ch.request({
      method: "element.create",
      params: { pipelineId: "p", elementId: id, type: "RtpEndpoint", ctor: {} },
    });
  }
  pa.aimAt((await ch.invoke("p/a", "processOffer", { offer: pa.offer() })) as string);
  pb.aimAt((await ch.invoke("p/b", "processOffer", { offer: pb.offer() })) as string);
  for (const [s, k] of [
    ["p/a", "p/b"],
    ["p/b", "p/a"],
  ] as const) {
    await ch.request({
      method: "element.connect",
      params: { sourceId: s, sinkId: k, mediaType: "AUDIO", sourceDescription: "default", sinkDescription: "default" },
    });
  }

  const frame = (who: string, i: number): Buffer => {
    const b = Buffer.alloc(160);
    b.write(`${who}-${i}`);
    for (let k = 20; k < 160; k++) {
      b[k] = (i * 7 + k) & 0xff;
    }
    return b;
  };
  for (let i = 0; i < 50; i++) {
    pa.send(8, 100 + i, 160 * i, 0xaaaa, frame("A", i), i === 0);
    pb.send(8, 9000 + i, 320 * i, 0xbbbb, frame("B", i), i === 0);
    await sleep(2);
  }
  await until(() => pa.received.length >= 50 && pb.received.length >= 50, 5000);
  t.equal(pb.received.length, 50, "phone B got all 50 of A's packets");
  t.equal(pa.received.length, 50, "phone A got all 50 of B's packets");
  t.ok(
    pb.received.every((p, i) => p.payload.equals(frame("A", i)) && p.pt === 8),
    "A → B payload bytes identical, PT 8",
  );
  t.ok(
    pa.received.every((p, i) => p.payload.equals(frame("B", i)) && p.pt === 8),
    "B → A payload bytes identical, PT 8",
  );
  t.ok(new Set(pb.received.map((p) => p.ssrc)).size === 1 && pb.received[0]?.ssrc !== 0xaaaa, "B's own SSRC");

  // DTMF "7" from phone A.
  let seq = 200;
  for (const p of dtmfPackets("7", 100, 8000)) {
    pa.send(101, seq++, 16000, 0xaaaa, p.payload, p.marker);
  }
  await until(() => ch.events.some((e) => e.objectId === "p/a" && e.event === "DtmfReceived"), 3000);
  t.same(
    ch.events.filter((e) => e.event === "DtmfReceived").map((e) => [e.objectId, e.data]),
    [["p/a", { digit: "7", durationMs: 100 }]],
    "DtmfReceived on A",
  );
  // 100 ms at 50 ms updates: one update with the marker, then the end packet three times.
  await until(() => pb.received.filter((p) => p.pt === 101).length >= 4, 3000);
  const ev = pb.received.filter((p) => p.pt === 101).map((p) => parseTelephoneEvent(p.payload));
  t.ok(ev.length === 4 && ev.every((e) => e.event === 7), "phone B receives all 4 telephone-event 7 packets on PT 101");
  t.equal(pb.received.find((p) => p.pt === 101)?.marker, true, "marker on the event's first packet");
  t.ok(
    ev.some((e) => e.end && e.duration === 800),
    "end packet with the 8 kHz duration (100 ms = 800 ticks)",
  );

  // Garbage at both ports of A (RTP and RTCP) from the latched phone: counted and dropped, the worker lives on.
  // On the RTP port the garbage never carries a negotiated payload type (plain RTP cannot tell a random packet
  // with PT 8 from audio, and would rightly forward it); a quarter of it has version 2 and gets past the header.
  for (let i = 0; i < 1000; i++) {
    const junk = randomBytes(1 + (i % 200));
    if (i % 2 === 0 && junk.length >= 2) {
      junk[0] = ((junk[0] ?? 0) & 0x3f) | (i % 4 === 0 ? 0x80 : 0);
      junk[1] = ((junk[1] ?? 0) & 0x80) | 127;
    }
    pa.raw(junk, i % 2 === 1);
    if (i % 100 === 0) {
      await sleep(1);
    }
  }
  const before = pb.received.length;
  pa.send(8, 300, 160 * 300, 0xaaaa, frame("A", 300));
  await until(() => pb.received.length > before, 3000);
  t.ok(pb.received.at(-1)?.payload.equals(frame("A", 300)), "media still flows after 1000 garbage datagrams");

  const stats = (await ch.invoke("p/b", "getStats", { mediaType: "AUDIO" })) as Record<string, JsonObject>;
  t.equal(
    Object.values(stats).find((r) => r["type"] === "outboundrtp")?.["packetsSent"],
    51 + ev.length,
    "B's outboundrtp counts the audio and DTMF it sent",
  );
  await ch.request({ method: "object.release", params: { objectId: "p" } });
  const dump = (await ch.request({ method: "worker.dump", params: {} })) as unknown as WorkerDump;
  t.equal(dump.portsInUse, 0, "every port pair returned");
  t.equal(dump.elements, 0);
});
