/**
 * MixFormat: the format a HubPort's mix is encoded in follows the sink's negotiated caps (the peer's preferred
 * format the mixer can encode in 20 ms frames, else Opus); formats are interned (compared by identity per tick);
 * MixGroup encodes once per tick and reuses G.711 silence; MixOutput numbers packets in its format's clock and
 * encodes a talker's own mix in its format (checked by decoding the tone).
 */
import t from "tap";
import { createDecoder } from "../../../../media/codecs/index.js";
import { createMixEncoder, mixFormatFor, OPUS_MIX_FORMAT } from "../../../../media/mixer/MixFormat.js";
import { MIX_FRAME, MIX_RATE } from "../../../../media/mixer/MixInput.js";
import { MixGroup, MixOutput } from "../../../../media/mixer/MixOutput.js";
import type { SinkAudioCaps, SinkAudioFormat } from "../../../../media/transcode/format.js";
import { generateTone, toneLevelDb } from "../../../helpers/tone.js";

const caps = (formats: SinkAudioFormat[], ptimeMs?: number): SinkAudioCaps => ({
  formats,
  telephoneEvents: [8000],
  ptimeMs,
  continuous: true,
});
const PCMU = { codec: "pcmu", clockRate: 8000, channels: 1 };
const G722 = { codec: "g722", clockRate: 8000, channels: 1 };

t.test("the format follows the sink's caps", async (t) => {
  t.equal(mixFormatFor(undefined), OPUS_MIX_FORMAT, "no caps (takes anything): Opus");
  const u = mixFormatFor(caps([PCMU, G722]));
  t.match(u, { codec: "pcmu", clockRate: 8000, pcmRate: 8000, tsStep: 160, stateless: true });
  t.equal(mixFormatFor(caps([PCMU])), u, "interned: the same object for the same format");
  t.match(mixFormatFor(caps([G722, PCMU])), { codec: "g722", clockRate: 8000, pcmRate: 16000, tsStep: 160 });
  t.match(mixFormatFor(caps([{ codec: "g729", clockRate: 8000, channels: 1 }, PCMU])), { codec: "pcmu" }, "skips g729");
  t.equal(mixFormatFor(caps([{ codec: "g729", clockRate: 8000, channels: 1 }])), OPUS_MIX_FORMAT, "none fits: Opus");
  t.equal(mixFormatFor(caps([PCMU], 30)), OPUS_MIX_FORMAT, "ptime 30: Opus (the transcoder re-frames)");
  t.equal(mixFormatFor(caps([PCMU], 20)).codec, "pcmu", "ptime 20 is fine");
  const wb = mixFormatFor(caps([{ codec: "amr-wb", clockRate: 16000, channels: 1, parameters: "octet-align=1" }]));
  t.match(wb, { codec: "amr-wb", pcmRate: 16000, tsStep: 320, octetAligned: true });
  t.match(mixFormatFor(caps([{ codec: "opus", clockRate: 48000, channels: 2 }])), { tsStep: 960, payloadType: 111 });
});

t.test("MixGroup: one encode per tick; G.711 silence encoded once", async (t) => {
  const g = new MixGroup(mixFormatFor(caps([PCMU])));
  t.teardown(() => g.close());
  const zeros = new Int16Array(MIX_FRAME / 2);
  for (let tick = 0; tick < 5; tick++) {
    t.notOk(g.has(tick));
    g.encode(tick, zeros, true);
    t.ok(g.has(tick));
    t.same([...g.payload], new Array<number>(160).fill(0xff), "µ-law silence");
  }
  t.equal(g.encodes, 1, "silence encoded once");
  const tone = generateTone(500, { sampleRate: 8000, samples: 160 });
  g.encode(5, tone, false);
  t.equal(g.encodes, 2, "speech is encoded");
  const o = new MixGroup(OPUS_MIX_FORMAT);
  t.teardown(() => o.close());
  o.encode(0, new Int16Array(MIX_FRAME), true);
  o.encode(1, new Int16Array(MIX_FRAME), true);
  t.equal(o.encodes, 2, "Opus silence is encoded every tick (its encoder has state)");
});

t.test("MixOutput: its own mix in its format, numbered in its clock", async (t) => {
  const out = new MixOutput(mixFormatFor(caps([PCMU])));
  t.teardown(() => out.close());
  const tone = generateTone(700, { sampleRate: MIX_RATE, samples: MIX_FRAME * 20, amplitude: 8000 });
  const ps = Array.from({ length: 20 }, (_, i) =>
    out.packet(tone.subarray(i * MIX_FRAME, (i + 1) * MIX_FRAME), true, 0),
  );
  t.ok(ps.every((p) => p.codec === "pcmu" && p.clockRate === 8000 && p.payloadType === 0 && p.payload.length === 160));
  t.equal((ps[1]!.timestamp - ps[0]!.timestamp) >>> 0, 160, "8 kHz clock");
  const dec = createDecoder("PCMU");
  const pcm = Int16Array.from(ps.flatMap((p) => Array.from(dec.decode(p.payload))));
  t.ok(toneLevelDb(pcm.subarray(800), 8000, 700) > -20, "the 700 Hz tone, resampled to 8 kHz and µ-law");
  out.setFormat(OPUS_MIX_FORMAT);
  const p = out.packet(tone.subarray(0, MIX_FRAME), true, 0);
  t.match(p, { codec: "opus", clockRate: 48000 });
  t.equal((p.sequenceNumber - ps[19]!.sequenceNumber) & 0xffff, 1, "numbering goes on across the switch");
  const enc = createMixEncoder(mixFormatFor(caps([G722])));
  t.equal(enc.sampleRate, 16000);
  enc.close();
});
