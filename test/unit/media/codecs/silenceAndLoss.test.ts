import t from "tap";
import { AmrWbDecoder, AmrWbEncoder } from "../../../../media/codecs/amr.js";
import { frameType } from "../../../../media/codecs/amrPayload.js";
import { measureDbov } from "../../../../media/codecs/comfortNoise.js";
import { ConcealingDecoder } from "../../../../media/codecs/concealment.js";
import { CodecError } from "../../../../media/codecs/errors.js";
import { createEncoder } from "../../../../media/codecs/factory.js";
import { G711Decoder, G711Encoder } from "../../../../media/codecs/g711.js";
import { OpusDecoder, OpusEncoder } from "../../../../media/codecs/opus.js";
import { SilenceGenerator } from "../../../../media/codecs/silence.js";
import { generateTone, measureFrequency, rmsDbfs } from "../../../helpers/tone.js";

t.test("SilenceGenerator: a valid silent payload per ptime for every codec", (t) => {
  const pcmu = new SilenceGenerator(new G711Encoder("PCMU"));
  t.same([...new Set(pcmu.next())], [0xff], "µ-law silence is 0xff");
  t.equal(pcmu.next().length, 160);
  const pcma = new SilenceGenerator(new G711Encoder("PCMA", { frameSamples: 240 }));
  t.same([...new Set(pcma.next())], [0xd5], "A-law silence is 0xd5");
  t.equal(pcma.next().length, 240, "30 ms ptime");
  const amr = new SilenceGenerator(new AmrWbEncoder({ mode: 2 }));
  const dec = new AmrWbDecoder();
  for (let i = 0; i < 10; i++) {
    const f = amr.next();
    t.equal(frameType(f), 2, "AMR-WB sends speech frames, not NO_DATA");
    t.ok(rmsDbfs(dec.decode(f)) < -60, "that decode to silence");
  }
  const opus = new SilenceGenerator(new OpusEncoder({ sampleRate: 8000 }));
  const od = new OpusDecoder({ sampleRate: 8000 });
  t.ok(rmsDbfs(od.decode(opus.next())) < -60, "Opus silence decodes to silence");
  const noisy = new SilenceGenerator(new G711Encoder("PCMU"), { noiseDbov: 70 });
  const gd = new G711Decoder("PCMU");
  const pcm = gd.decode(noisy.next());
  t.ok(Math.abs(measureDbov(pcm) - 70) <= 3, `optional noise floor at −${measureDbov(pcm)} dBov`);
  t.not(noisy.next()[0], undefined);
  t.throws(() => new SilenceGenerator(new G711Encoder("PCMU"), { noiseDbov: -1 }), CodecError);
  const dtx = new SilenceGenerator(createEncoder("AMR", { dtx: true }));
  t.throws(
    () => {
      for (let i = 0; i < 50; i++) {
        dtx.next();
      }
    },
    CodecError,
    "a DTX encoder cannot keep RTP flowing: refused loudly",
  );
  const amrRtp = new SilenceGenerator(createEncoder("AMR-WB"));
  t.ok(amrRtp.next().length > 1, "AMR-WB RTP payloads of silence without DTX");
  t.end();
});

t.test("ConcealingDecoder: gaps become PLC frames, late/duplicate packets are dropped, long gaps reset", (t) => {
  const enc = new G711Encoder("PCMA");
  const cd = new ConcealingDecoder(new G711Decoder("PCMA"), { maxConceal: 3 });
  const tone = generateTone(300, { sampleRate: 8000, samples: 8000 });
  const pkt = (i: number): Uint8Array => enc.encode(tone.subarray(i * 160, i * 160 + 160));
  t.equal(cd.receive(65534, pkt(0)).length, 1);
  t.equal(cd.receive(65535, pkt(1)).length, 1);
  const afterGap = cd.receive(1, pkt(3)); // 0 lost, across the wrap
  t.equal(afterGap.length, 2, "one concealment frame, then the packet");
  t.ok(Math.abs(measureFrequency(afterGap[0]!, 8000) - 300) < 20, "concealment continues the tone");
  t.equal(cd.receive(1, pkt(3)).length, 0, "duplicate dropped");
  t.equal(cd.receive(0, pkt(2)).length, 0, "late packet dropped");
  t.equal(cd.receive(10, pkt(4)).length, 1, "8 lost > maxConceal: no concealment, a restart");
  t.equal(cd.missing().length, 160, "underrun tick conceals one frame");
  t.equal(cd.receive(12, pkt(5)).length, 1, "and the sequence moved on with it");
  t.same(cd.stats, { decoded: 5, concealed: 2, fecRecovered: 0, late: 2, resets: 1 });
  t.end();
});

t.test("ConcealingDecoder uses Opus in-band FEC for the frame before a received packet", (t) => {
  const enc = new OpusEncoder({ sampleRate: 16000, fec: true, packetLossPercent: 20 });
  const cd = new ConcealingDecoder(new OpusDecoder({ sampleRate: 16000 }));
  const tone = generateTone(600, { sampleRate: 16000, samples: 16000 });
  const pkts = Array.from({ length: 50 }, (_, i) => enc.encode(tone.subarray(i * 320, i * 320 + 320)));
  for (let i = 0; i < 30; i++) {
    cd.receive(i, pkts[i]!);
  }
  const out = cd.receive(33, pkts[33]!); // 30, 31, 32 lost
  t.equal(out.length, 4, "two PLC frames, one FEC frame, the packet");
  t.ok(Math.abs(measureFrequency(out[2]!, 16000) - 600) < 20, "the FEC frame has the tone");
  t.same([cd.stats.concealed, cd.stats.fecRecovered], [2, 1]);
  t.end();
});
