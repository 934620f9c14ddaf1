/**
 * AudioTranscoder driven directly with packets, on connections of a real pipeline (RtpEndpoints negotiated with
 * phones): the encoder and decoder rates it picks (Opus fed natively at 8/16 kHz, an Opus source decoded at the
 * highest rate a chain needs), exact telephone-event timestamp mapping into the transcoded timeline, and sinks
 * whose formats cannot be encoded.
 */
import t from "tap";
import type { Connection } from "../../../../media/core/MediaElement.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import type { Logger } from "../../../../media/logger.js";
import { createEncoder } from "../../../../media/codecs/index.js";
import { AudioTranscoder, type SinkAudioCaps, type TranscodeTarget } from "../../../../media/transcode/index.js";
import { generateTone } from "../../../helpers/tone.js";
import { Phone, RtpHarness, invoke } from "../rtp/fixtures/rtpHarness.js";

interface Delivered {
  p: MediaPacket;
  conn: Connection;
}

async function setup(
  t: { teardown: (fn: () => void) => void },
  sinkOffers: { codecs: string; extra?: string[] }[],
): Promise<{ tx: AudioTranscoder; conns: Connection[]; caps: SinkAudioCaps[]; out: Delivered[]; events: string[] }> {
  const h = await RtpHarness.create();
  const src = await h.rtp();
  const phones: Phone[] = [];
  const caps: SinkAudioCaps[] = [];
  for (const o of sinkOffers) {
    const ep = await h.rtp();
    const ph = await Phone.open();
    phones.push(ph);
    await invoke(ep, "processOffer", { offer: ph.offer(o) });
    h.pipeline.connect(src, ep, "AUDIO", "default", "default");
    const c = ep.audioSinkCaps();
    if (c === undefined) {
      throw new Error("sink not negotiated");
    }
    caps.push(c);
  }
  const out: Delivered[] = [];
  const events: string[] = [];
  const noop = (): void => undefined;
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  const tx = new AudioTranscoder<Connection>({
    id: "tx",
    logger,
    emit: (e, d) => events.push(`${e}:${d.state}`),
    sourceParameters: () => undefined,
    deliver: (p, conn) => out.push({ p, conn }),
  });
  t.teardown(() => {
    tx.close();
    for (const p of phones) {
      p.close();
    }
    h.close();
  });
  return { tx, conns: src.sinkConnections("AUDIO"), caps, out, events };
}

function packet(codec: string, clockRate: number, seq: number, ts: number, payload: Uint8Array): MediaPacket {
  return {
    kind: "AUDIO",
    codec,
    clockRate,
    payloadType: codec === "telephone-event" ? 101 : 0,
    ssrc: 42,
    sequenceNumber: seq,
    timestamp: ts,
    marker: false,
    payload,
    keyframe: false,
    arrivalMs: performance.now(),
  };
}

const OPUS = { codecs: "111" };
const PCMU = { codecs: "0 101" };
const AMRWB = { codecs: "98", extra: ["a=rtpmap:98 AMR-WB/16000"] };

t.test("narrowband sources feed Opus natively: PCMU → 8 kHz encoder, AMR-WB → 16 kHz", async (t) => {
  const { tx, conns, caps, out, events } = await setup(t, [OPUS]);
  const conn = conns[0]!;
  const mu = new Uint8Array(160).fill(0x7f);
  tx.route(packet("pcmu", 8000, 1, 0, mu), conn, caps[0]!);
  t.same(
    tx.targets.map((x) => [x.key, x.encoderRate]),
    [["opus/48000/2/20", 8000]],
  );
  t.equal(out.length, 1, "one Opus packet per 20 ms of PCMU");
  t.equal(out[0]?.p.codec, "opus");
  t.equal(out[0]?.p.clockRate, 48000);
  tx.route(packet("pcmu", 8000, 2, 160, mu), conn, caps[0]!);
  t.equal((out[1]!.p.timestamp - out[0]!.p.timestamp) >>> 0, 960, "RTP clock still 48 kHz: +960 per 20 ms");
  t.equal((out[1]!.p.sequenceNumber - out[0]!.p.sequenceNumber) & 0xffff, 1);
  t.same(events, ["MediaTranscodingStateChanged:TRANSCODING"]);
});

t.test("AMR-WB source: Opus encoder at 16 kHz", async (t) => {
  const { tx, conns, caps } = await setup(t, [OPUS]);
  const enc = createEncoder("AMR-WB");
  const payload = enc.encode(generateTone(1000, { sampleRate: 16000, samples: 320 }));
  enc.close();
  tx.route(packet("amr-wb", 16000, 1, 0, payload), conns[0]!, caps[0]!);
  t.same(
    tx.targets.map((x) => x.encoderRate),
    [16000],
  );
  t.equal(tx.decoderRate, 16000);
});

t.test("an Opus source is decoded at the highest rate its chains need", async (t) => {
  const { tx, conns, caps, out } = await setup(t, [PCMU, AMRWB]);
  const enc = createEncoder("opus", { sampleRate: 48000 });
  const tone = generateTone(1000, { sampleRate: 48000, samples: 960 * 4 });
  const p = (i: number): MediaPacket =>
    packet("opus", 48000, i, 960 * i, enc.encode(tone.subarray(960 * i, 960 * (i + 1))).slice());
  const p0 = p(0);
  tx.route(p0, conns[0]!, caps[0]!);
  t.equal(tx.decoderRate, 8000, "only a PCMU chain: Opus decoded straight at 8 kHz (no resampler)");
  tx.route(p0, conns[1]!, caps[1]!);
  const p1 = p(1);
  tx.route(p1, conns[0]!, caps[0]!);
  tx.route(p1, conns[1]!, caps[1]!);
  t.equal(tx.decoderRate, 16000, "an AMR-WB chain joined: decoder restarted at 16 kHz");
  t.same(tx.targets.map((x) => x.encoderRate).sort(), [16000, 8000].sort());
  t.equal(tx.diagnostics.decoded, 2, "each packet decoded once for both chains");
  t.ok(
    out.some((d) => d.p.codec === "amr-wb") && out.some((d) => d.p.codec === "pcmu"),
    "both chains produced packets",
  );
  enc.close();
});

t.test("telephone-event timestamps land exactly on the transcoded timeline, durations rescaled", async (t) => {
  const { tx, conns, caps, out } = await setup(t, [
    { codecs: "111 110", extra: ["a=rtpmap:110 telephone-event/48000"] },
  ]);
  const conn = conns[0]!;
  const mu = new Uint8Array(160).fill(0x7f);
  for (let i = 0; i < 8; i++) {
    tx.route(packet("pcmu", 8000, 100 + i, 8000 + 160 * i, mu), conn, caps[0]!);
  }
  const audio = out.filter((d) => d.p.codec === "opus");
  // An event that started with the 6th packet (index 5), reported after the 8th was decoded.
  tx.route(packet("telephone-event", 8000, 108, 8000 + 160 * 5, Uint8Array.from([1, 10, 0x01, 0x40])), conn, caps[0]!);
  const ev = out.at(-1)?.p;
  t.equal(ev?.codec, "telephone-event");
  t.equal(ev?.clockRate, 48000, "the sink's telephone-event/48000");
  t.equal(ev?.timestamp, audio[5]?.p.timestamp, "the event's timestamp is that of the audio it started with");
  t.equal(ev !== undefined ? (ev.payload[2]! << 8) | ev.payload[3]! : -1, 320 * 6, "duration 320 → 1920 ticks");
  t.equal(ev?.sequenceNumber, ((audio.at(-1)?.p.sequenceNumber ?? 0) + 1) & 0xffff, "next in the stream's sequence");
  t.equal(ev?.ssrc, audio[0]?.p.ssrc, "same SSRC as the transcoded audio");
});

t.test("a sink with no encodable format, and a sink without telephone-event: dropped and counted", async (t) => {
  const { tx, conns, caps } = await setup(t, [OPUS]);
  const none: SinkAudioCaps = {
    formats: [{ codec: "g729", clockRate: 8000, channels: 1 }],
    telephoneEvents: [],
    ptimeMs: undefined,
    continuous: true,
  };
  tx.route(packet("pcmu", 8000, 1, 0, new Uint8Array(160)), conns[0]!, none);
  t.equal(tx.diagnostics.noTarget, 1);
  t.equal(tx.transcoding, false);
  tx.route(packet("pcmu", 8000, 2, 160, new Uint8Array(160)), conns[0]!, caps[0]!);
  tx.route(packet("telephone-event", 8000, 3, 160, Uint8Array.from([1, 0x8a, 0, 160])), conns[0]!, caps[0]!);
  t.equal(tx.diagnostics.dtmfDropped, 1, "the Opus phone negotiated no telephone-event");
  tx.route(packet("telephone-event", 8000, 4, 320, Uint8Array.from([1])), conns[0]!, caps[0]!);
  t.equal(tx.diagnostics.dtmfDropped, 2, "short payload");
});

t.test("a chain that fails on a frame is isolated: the other chains still get every frame", (t) => {
  const noop = (): void => undefined;
  const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };
  const conn = (id: string): TranscodeTarget => ({ sink: { id, amrModeRequest: () => undefined } });
  const broken = conn("broken");
  const good = conn("good");
  const got: MediaPacket[] = [];
  const tx = new AudioTranscoder<TranscodeTarget>({
    id: "tx",
    logger,
    emit: noop,
    sourceParameters: () => undefined,
    deliver: (p, c) => {
      if (c === broken) {
        throw new Error("sink exploded");
      }
      got.push(p);
    },
  });
  t.teardown(() => tx.close());
  const caps = (codec: string, clockRate: number, channels: number): SinkAudioCaps => ({
    formats: [{ codec, clockRate, channels }],
    telephoneEvents: [],
    ptimeMs: undefined,
    continuous: false,
  });
  const pcma = caps("pcma", 8000, 1);
  const opus = caps("opus", 48000, 2);
  const tone = generateTone(1000, { sampleRate: 8000, samples: 160 * 20, amplitude: 8000 });
  const enc = createEncoder("PCMU");
  for (let i = 0; i < 20; i++) {
    const p = packet("pcmu", 8000, i, 160 * i, enc.encode(tone.subarray(160 * i, 160 * (i + 1))).slice());
    tx.route(p, broken, pcma); // the failing chain is first in line
    tx.route(p, good, opus);
  }
  enc.close();
  t.equal(got.length, 19, "the Opus sink got every packet after it joined (the first was decoded before it did)");
  t.equal(tx.diagnostics.chainErrors, 20, "every failure of the PCMA chain counted");
  t.equal(tx.diagnostics.decoded, 20, "each packet decoded once");
  t.end();
});
