import t from "tap";
import type { JsonObject } from "../../../../media/channel/protocol.js";
import { G711Decoder, G711Encoder } from "../../../../media/codecs/index.js";
import { MediaElement, type Connection, type ElementContext } from "../../../../media/core/MediaElement.js";
import { MediaPipeline } from "../../../../media/core/MediaPipeline.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import type { Logger } from "../../../../media/logger.js";
import { PortAllocator } from "../../../../media/net/PortAllocator.js";
import { AudioFilter, Element, type AudioFormat, type AudioFrameInfo } from "../../../../media/sdk/index.js";
import { generateTone, rmsDbfs } from "../../../helpers/tone.js";

const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
const events: { id: string; event: string; data: JsonObject }[] = [];

function harness(): { pipeline: MediaPipeline; ctx: (id: string, type: string) => ElementContext } {
  const holder: { pipeline?: MediaPipeline } = {};
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
    lookup: (other) => (other === "p" ? holder.pipeline : holder.pipeline?.elements.get(other)),
  });
  const pipeline = new MediaPipeline(ctx("p", "MediaPipeline"));
  holder.pipeline = pipeline;
  return { pipeline, ctx };
}

/** A source that sends what the test gives it, and a sink that records what it gets. */
class Source extends MediaElement {
  push(p: MediaPacket): void {
    this.sendToSinks(p);
  }
  protected override onMedia(): void {
    // A source takes nothing.
  }
  protected override dispose(): void {
    // Nothing of its own.
  }
}
class Sink extends MediaElement {
  readonly got: MediaPacket[] = [];
  protected override onMedia(p: MediaPacket, _conn: Connection): void {
    this.got.push(p);
  }
  protected override dispose(): void {
    // Nothing of its own.
  }
}

function pcmuPackets(amplitude: number, count: number): MediaPacket[] {
  const enc = new G711Encoder("PCMU");
  const pcm = generateTone(440, { sampleRate: 8000, samples: 160 * count, amplitude });
  return Array.from({ length: count }, (_, i) => ({
    kind: "AUDIO" as const,
    codec: "pcmu",
    clockRate: 8000,
    payloadType: 0,
    ssrc: 42,
    sequenceNumber: 100 + i,
    timestamp: 1000 + 160 * i,
    marker: i === 0,
    payload: enc.encode(pcm.subarray(160 * i, 160 * (i + 1))),
    keyframe: false,
    arrivalMs: 0,
  }));
}

class Meter extends AudioFilter {
  readonly frames: Int16Array[] = [];
  readonly infos: AudioFrameInfo[] = [];
  disposed = 0;
  protected override audioFormat(): AudioFormat {
    return { sampleRate: 16000, frameMs: 10 };
  }
  protected override processAudio(frame: Int16Array, info: AudioFrameInfo): Int16Array | undefined {
    this.frames.push(frame.slice());
    this.infos.push(info);
    return new Int16Array(frame.length); // ignored in analyze mode
  }
  protected override dispose(): void {
    this.disposed++;
  }
}

class Halver extends AudioFilter {
  protected override audioFormat(): AudioFormat {
    return { sampleRate: 8000, frameMs: 20, mode: "transform" };
  }
  protected override processAudio(frame: Int16Array): Int16Array {
    for (let i = 0; i < frame.length; i++) {
      frame[i] = (frame[i] ?? 0) >> 1;
    }
    return frame;
  }
}

async function wire(
  cls: new (ctx: ElementContext, ctor: JsonObject) => MediaElement,
): Promise<{ src: Source; filter: MediaElement; sink: Sink; pipeline: MediaPipeline }> {
  const { pipeline, ctx } = harness();
  const src = await pipeline.createElement(Source, ctx("src", "Source"), {});
  const filter = await pipeline.createElement(cls, ctx("f", "Filter"), {});
  const sink = await pipeline.createElement(Sink, ctx("sink", "Sink"), {});
  pipeline.connect(src, filter, "AUDIO", "default", "default");
  pipeline.connect(filter, sink, "AUDIO", "default", "default");
  return { src: src as Source, filter, sink: sink as Sink, pipeline };
}

t.test("analyze: frames at the rate and size asked for, the level of the tone; packets pass untouched", async (t) => {
  const { src, filter, sink } = await wire(Meter);
  const packets = pcmuPackets(8000, 25);
  for (const p of packets) {
    src.push(p);
  }
  const m = filter as Meter;
  t.ok(m.frames.length >= 45, `10 ms frames of 0.5 s (${m.frames.length})`);
  t.ok(
    m.frames.every((f) => f.length === 160),
    "160 samples = 10 ms at 16 kHz",
  );
  t.same(m.infos[0], { codec: "pcmu", ssrc: 42, sampleRate: 16000 });
  const tail = new Int16Array(m.frames.slice(10).flatMap((f) => [...f]));
  const expected = 20 * Math.log10(8000 / Math.SQRT2 / 32768);
  t.ok(Math.abs(rmsDbfs(tail) - expected) < 0.5, `level ${rmsDbfs(tail).toFixed(2)} ≈ ${expected.toFixed(2)} dBFS`);
  t.equal(sink.got.length, packets.length, "every packet went on");
  t.ok(
    sink.got.every((p, i) => p === packets[i]),
    "the very same packets (no re-encode in analyze mode)",
  );
});

t.test("transform: the returned frames replace the audio, in the stream's codec, SSRC and timing", async (t) => {
  const { src, sink } = await wire(Halver);
  const packets = pcmuPackets(8000, 25);
  for (const p of packets) {
    src.push(p);
  }
  t.equal(sink.got.length, 25, "one PCMU packet per 20 ms frame");
  t.ok(
    sink.got.every((p) => p.codec === "pcmu" && p.ssrc === 42 && p.payloadType === 0 && p.payload.length === 160),
    "same codec, SSRC and payload type",
  );
  t.same(
    sink.got.slice(0, 3).map((p) => [p.sequenceNumber, p.timestamp]),
    [
      [100, 1000],
      [101, 1160],
      [102, 1320],
    ],
    "sequence numbers and timestamps continue the stream's",
  );
  const dec = new G711Decoder("PCMU");
  const out = new Int16Array(sink.got.slice(2).flatMap((p) => [...dec.decode(p.payload)]));
  const expected = 20 * Math.log10(4000 / Math.SQRT2 / 32768);
  t.ok(Math.abs(rmsDbfs(out) - expected) < 0.5, `halved: ${rmsDbfs(out).toFixed(2)} ≈ ${expected.toFixed(2)} dBFS`);
});

t.test("DTMF and video pass through untouched; release clears timers and disposes once", async (t) => {
  const { src, filter, sink, pipeline } = await wire(Meter);
  const dtmf: MediaPacket = { ...pcmuPackets(1000, 1)[0]!, codec: "telephone-event", payloadType: 101 };
  const video: MediaPacket = { ...dtmf, kind: "VIDEO", codec: "vp8", payloadType: 96 };
  src.push(dtmf);
  pipeline.connect(src, filter, "VIDEO", "default", "default");
  pipeline.connect(filter, sink, "VIDEO", "default", "default");
  src.push(video);
  t.same(sink.got, [dtmf, video]);
  const m = filter as Meter;
  t.equal(m.frames.length, 0, "nothing was decoded");
  let ticks = 0;
  m.context.timers.setInterval(() => ticks++, 1);
  m.context.emit("Probe", { n: 1 });
  pipeline.release();
  t.equal(m.disposed, 1, "dispose ran");
  m.release();
  t.equal(m.disposed, 1, "once");
  t.equal(m.context.timers.size, 0, "its timers were cleared");
  m.context.emit("Probe", { n: 2 });
  t.same(
    events.filter((e) => e.event === "Probe").map((e) => e.data),
    [{ n: 1 }],
    "emit does nothing once released",
  );
  await new Promise((r) => setTimeout(r, 10));
  t.equal(ticks, 0);
});

t.test("an unusable audioFormat is refused at construction; lookup finds objects of the pipeline", async (t) => {
  class Bad extends AudioFilter {
    protected override audioFormat(): AudioFormat {
      return { sampleRate: 16000, frameMs: 7 };
    }
  }
  const { pipeline, ctx } = harness();
  await t.rejects(pipeline.createElement(Bad, ctx("bad", "Bad"), {}), TypeError);
  const a = await pipeline.createElement(Element, ctx("a", "Element"), { x: 1 });
  const b = (await pipeline.createElement(Element, ctx("b", "Element"), {})) as Element;
  t.equal(b.context.lookup("a"), a);
  t.equal(b.context.lookup("nope"), undefined);
  t.same((a as Element).params, { x: 1 });
});
