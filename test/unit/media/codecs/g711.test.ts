import t from "tap";
import { CodecClosedError, CodecError } from "../../../../media/codecs/errors.js";
import {
  decodeG711,
  encodeG711,
  G711Decoder,
  G711Encoder,
  PCMA_TABLES,
  PCMU_TABLES,
} from "../../../../media/codecs/g711.js";
import { generateSpeechLike, generateTone, measureFrequency, snrDbExact } from "../../../helpers/tone.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";

const bytesOf = (a: Int16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

for (const [law, tables, fmt] of [
  ["PCMU", PCMU_TABLES, "mulaw"],
  ["PCMA", PCMA_TABLES, "alaw"],
] as const) {
  t.test(`${law} encode is bit-exact with ffmpeg ${fmt} for all 65536 inputs`, (t) => {
    const ramp = new Int16Array(65536);
    for (let i = 0; i < 65536; i++) {
      ramp[i] = i - 32768;
    }
    const ref = ffmpegSync(
      ["-f", "s16le", "-ar", "8000", "-ac", "1", "-i", "pipe:0", "-f", fmt, "pipe:1"],
      bytesOf(ramp),
    );
    t.equal(ref.length, 65536);
    const ours = new Uint8Array(65536);
    encodeG711(tables, ramp, ours);
    let diff = 0;
    for (let i = 0; i < 65536; i++) {
      if (ours[i] !== ref[i]) {
        diff++;
      }
    }
    t.equal(diff, 0, "no input differs");
    t.end();
  });

  t.test(`${law} decode is bit-exact with ffmpeg ${fmt} for all 256 codes`, (t) => {
    const codes = new Uint8Array(256);
    for (let i = 0; i < 256; i++) {
      codes[i] = i;
    }
    const ref = ffmpegSync(["-f", fmt, "-ar", "8000", "-ac", "1", "-i", "pipe:0", "-f", "s16le", "pipe:1"], codes);
    const refPcm = new Int16Array(ref.buffer.slice(ref.byteOffset, ref.byteOffset + ref.length));
    const ours = new Int16Array(256);
    decodeG711(tables, codes, ours);
    t.same(Array.from(ours), Array.from(refPcm));
    t.end();
  });

  t.test(`${law} on a sine sweep matches ffmpeg both ways and keeps the tone`, (t) => {
    const n = 16000;
    const sweep = new Int16Array(n);
    let ph = 0;
    for (let i = 0; i < n; i++) {
      const f = 100 + (3800 - 100) * (i / n);
      ph += (2 * Math.PI * f) / 8000;
      sweep[i] = Math.round(20000 * Math.sin(ph) * (0.05 + 0.95 * (i / n)));
    }
    const enc = new G711Encoder(law);
    const dec = new G711Decoder(law);
    const coded = new Uint8Array(n);
    const decoded = new Int16Array(n);
    for (let off = 0; off < n; off += 160) {
      const c = enc.encode(sweep.subarray(off, off + 160));
      t.equal(c.length, 160);
      coded.set(c, off);
      decoded.set(dec.decode(c), off);
    }
    const refCoded = ffmpegSync(
      ["-f", "s16le", "-ar", "8000", "-ac", "1", "-i", "pipe:0", "-f", fmt, "pipe:1"],
      bytesOf(sweep),
    );
    t.same(Buffer.from(coded), refCoded, "encoded bytes equal ffmpeg's");
    const refDec = ffmpegSync(["-f", fmt, "-ar", "8000", "-ac", "1", "-i", "pipe:0", "-f", "s16le", "pipe:1"], coded);
    t.same(Buffer.from(bytesOf(decoded)), refDec, "decoded samples equal ffmpeg's");
    const snr = snrDbExact(sweep, decoded);
    t.ok(snr > 30, `sweep SNR ${snr.toFixed(1)} dB > 30`);
    t.end();
  });

  t.test(`${law} round trip of speech-like signal and a 1 kHz tone`, (t) => {
    const speech = generateSpeechLike({ sampleRate: 8000, samples: 16000 });
    const enc = new G711Encoder(law);
    const dec = new G711Decoder(law);
    const out = new Int16Array(speech.length);
    for (let off = 0; off < speech.length; off += 160) {
      out.set(dec.decode(enc.encode(speech.subarray(off, off + 160))), off);
    }
    const snr = snrDbExact(speech, out);
    t.ok(snr > 30, `speech-like SNR ${snr.toFixed(1)} dB > 30 (G.711 gives ~38 dB)`);
    const tone = generateTone(1000, { sampleRate: 8000, samples: 8000 });
    const toneOut = new Int16Array(tone.length);
    for (let off = 0; off < tone.length; off += 160) {
      toneOut.set(dec.decode(enc.encode(tone.subarray(off, off + 160))), off);
    }
    t.ok(Math.abs(measureFrequency(toneOut, 8000) - 1000) < 1, "1 kHz tone survives");
    t.end();
  });
}

t.test("G.711 wrappers: info, bad input and close()", (t) => {
  const enc = new G711Encoder("PCMA");
  const dec = new G711Decoder("PCMA", { frameSamples: 240 });
  t.same([enc.name, enc.sampleRate, enc.channels, enc.frameSamples], ["PCMA", 8000, 1, 160]);
  t.same([dec.name, dec.frameSamples], ["PCMA", 240]);
  t.throws(() => dec.decode(new Uint8Array(0)), CodecError);
  t.throws(() => dec.decode(new Uint8Array(961)), CodecError);
  t.throws(() => new G711Decoder("PCMU", { frameSamples: 0 }), CodecError);
  t.throws(() => new G711Encoder("PCMU", { frameSamples: 1.5 }), CodecError);
  t.equal(dec.conceal().length, 240, "conceal gives frameSamples");
  enc.close();
  enc.close();
  dec.close();
  t.throws(() => enc.encode(new Int16Array(160)), CodecClosedError);
  t.throws(() => dec.decode(new Uint8Array(160)), CodecClosedError);
  t.throws(() => dec.conceal(), CodecClosedError);
  t.end();
});

t.test("G.711 PLC repeats the pitch, fades after 10 ms, is silent by 60 ms, and cross-fades back", (t) => {
  const enc = new G711Encoder("PCMU");
  const dec = new G711Decoder("PCMU");
  const tone = generateTone(250, { sampleRate: 8000, samples: 8000, amplitude: 12000 });
  const frames: Int16Array[] = [];
  for (let off = 0; off < 1600; off += 160) {
    frames.push(dec.decode(enc.encode(tone.subarray(off, off + 160))));
  }
  const c1 = dec.conceal();
  // The concealment continues the 250 Hz tone: compare with what the tone would have been.
  const expected = tone.subarray(1600, 1760);
  t.ok(snrDbExact(expected.subarray(0, 80), c1.subarray(0, 80)) > 15, "first 10 ms of concealment continues the wave");
  t.ok(Math.abs(measureFrequency(c1, 8000) - 250) < 15, "concealment has the pitch of the signal");
  const c2 = dec.conceal();
  const c3 = dec.conceal();
  const peak = (a: Int16Array): number => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  t.ok(peak(c2) < peak(c1), "fading in the second lost frame");
  t.ok(peak(c3) < peak(c2), "still fading in the third");
  t.equal(peak(dec.conceal()), 0, "silent from 60 ms of loss");
  t.equal(peak(dec.conceal()), 0, "stays silent");
  const back = dec.decode(enc.encode(tone.subarray(2400, 2560)));
  t.ok(Math.abs(back[0]!) < 2000, "first sample after loss is cross-faded from silence");
  t.ok(snrDbExact(tone.subarray(2440, 2560), back.subarray(40)) > 30, "after the cross-fade the frame is untouched");
  t.end();
});
