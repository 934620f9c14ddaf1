import t from "tap";
import { frameType, unpackAmr, AMR_WB, AMR_NB } from "../../../../media/codecs/amrPayload.js";
import { AmrRtpDecoder, AmrRtpEncoder } from "../../../../media/codecs/amrRtp.js";
import { AmrPayloadError, CodecError } from "../../../../media/codecs/errors.js";
import { generateTone, measureFrequency } from "../../../helpers/tone.js";

for (const [wideband, octetAligned] of [
  [false, false],
  [false, true],
  [true, false],
  [true, true],
] as const) {
  const name = `${wideband ? "AMR-WB" : "AMR"} ${octetAligned ? "octet-aligned" : "bandwidth-efficient"}`;
  t.test(`${name}: 3 frames per packet round trip at payload level`, (t) => {
    const enc = new AmrRtpEncoder(wideband, { octetAligned, framesPerPacket: 3 });
    const dec = new AmrRtpDecoder(wideband, { octetAligned });
    const rate = enc.sampleRate;
    const tone = generateTone(800, { sampleRate: rate, samples: enc.frameSamples * 60 });
    const out: Int16Array[] = [];
    let empty = 0;
    for (let i = 0; i < 60; i++) {
      const p = enc.encode(tone.subarray(i * enc.frameSamples, (i + 1) * enc.frameSamples));
      if (p.length === 0) {
        empty++;
        continue;
      }
      const u = unpackAmr(wideband ? AMR_WB : AMR_NB, p, { octetAligned });
      t.equal(u.frames.length, 3);
      const pcm = dec.decode(p);
      t.equal(pcm.length, 3 * enc.frameSamples);
      out.push(pcm);
    }
    t.equal(empty, 40, "two of every three encode() calls wait for the packet to fill");
    const all = new Int16Array(out.reduce((s, p) => s + p.length, 0));
    out.forEach((p, i) => all.set(p, i * p.length));
    t.ok(Math.abs(measureFrequency(all.subarray(rate / 10), rate) - 800) < 3, "800 Hz out");
    t.equal(dec.requestedMode, undefined, "no CMR sent, none requested");
    t.equal(dec.conceal().length, enc.frameSamples);
    enc.close();
    dec.close();
    t.end();
  });
}

t.test("CMR loop: B asks A for mode 2 within the mode-set; A's encoder follows", (t) => {
  const modeSet = [0, 2, 8];
  const a = new AmrRtpEncoder(true, { modeSet });
  const bEnc = new AmrRtpEncoder(true, { modeSet });
  const aDec = new AmrRtpDecoder(true, { modeSet });
  const pcm = generateTone(500, { sampleRate: 16000, samples: 320 });
  t.equal(a.mode, 8, "starts at the top of the mode-set");
  bEnc.requestMode = 2;
  aDec.decode(bEnc.encode(pcm)); // A receives B's packet carrying CMR 2
  t.equal(aDec.cmr, 2);
  t.equal(aDec.requestedMode, 2);
  a.applyCmr(aDec.requestedMode);
  const p = a.encode(pcm);
  t.equal(frameType(unpackAmr(AMR_WB, p, { octetAligned: false }).frames[0]!), 2, "A now sends 12.65k frames");
  a.applyCmr(undefined);
  t.equal(a.mode, 2, "no request: no change");
  t.throws(() => a.applyCmr(5), CodecError, "outside the mode-set");
  t.throws(() => (bEnc.requestMode = 5), AmrPayloadError, "cannot request a mode outside the set");
  t.throws(() => new AmrRtpEncoder(true, { modeSet, mode: 4 }), CodecError);
  t.end();
});

t.test("DTX at payload level: silence sends SID packets and nothing in between", (t) => {
  const enc = new AmrRtpEncoder(false, { dtx: true });
  const dec = new AmrRtpDecoder(false);
  let sent = 0;
  let nothing = 0;
  for (let i = 0; i < 100; i++) {
    const p = enc.encode(new Int16Array(160));
    if (p.length === 0) {
      nothing++;
    } else {
      sent++;
      t.equal(dec.decode(p).length, 160);
    }
  }
  t.ok(nothing > 60, `${nothing} of 100 silent frames send nothing`);
  t.ok(sent >= 10, `${sent} packets (speech hangover, then SID updates)`);
  t.throws(() => dec.decode(Uint8Array.of(0xf0)), AmrPayloadError, "truncated payload");
  t.end();
});
