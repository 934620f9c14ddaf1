import t from "tap";
import { CodecClosedError, CodecError } from "../../../../media/codecs/errors.js";
import { G722Decoder, G722Encoder } from "../../../../media/codecs/g722.js";
import { generateSpeechLike, generateTone, measureFrequency, seededRandom, snrDb } from "../../../helpers/tone.js";
import { ffmpegSync } from "../../../helpers/ffmpeg.js";

const bytesOf = (a: Int16Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const pcmOf = (b: Buffer): Int16Array => new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));

/** Speech-like signal plus a loud sweep and clipping-level bursts, to exercise every quantiser step. */
function testSignal(): Int16Array {
  const x = generateSpeechLike({ sampleRate: 16000, samples: 32000, amplitude: 12000 });
  const rnd = seededRandom(4);
  let ph = 0;
  for (let i = 16000; i < 32000; i++) {
    ph += (2 * Math.PI * (50 + (7900 * (i - 16000)) / 16000)) / 16000;
    x[i] = Math.max(-32768, Math.min(32767, Math.round(x[i]! + 20000 * Math.sin(ph) + (rnd() - 0.5) * 4000)));
  }
  return x;
}

t.test("G.722 encoder output is bit-exact with ffmpeg's g722 encoder", (t) => {
  const x = testSignal();
  const ref = ffmpegSync(
    ["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0", "-f", "g722", "pipe:1"],
    bytesOf(x),
  );
  const enc = new G722Encoder();
  const ours = new Uint8Array(x.length / 2);
  for (let o = 0; o < x.length; o += 320) {
    ours.set(enc.encode(x.subarray(o, o + 320)), o / 2);
  }
  t.equal(ref.length, ours.length);
  let first = -1;
  for (let i = 0; i < ours.length && first < 0; i++) {
    if (ours[i] !== ref[i]) {
      first = i;
    }
  }
  t.equal(first, -1, first < 0 ? "all bytes equal" : `first difference at byte ${first}`);
  t.end();
});

t.test("G.722 decoder output is bit-exact with ffmpeg's g722 decoder (on ffmpeg's bitstream and on noise)", (t) => {
  const x = testSignal();
  const coded = ffmpegSync(
    ["-f", "s16le", "-ar", "16000", "-ac", "1", "-i", "pipe:0", "-f", "g722", "pipe:1"],
    bytesOf(x),
  );
  const rnd = seededRandom(8);
  const garbage = Uint8Array.from({ length: 8000 }, () => Math.floor(rnd() * 256));
  for (const [what, stream] of [
    ["ffmpeg-encoded speech and sweep", new Uint8Array(coded)],
    ["random bytes", garbage],
  ] as const) {
    const ref = pcmOf(ffmpegSync(["-f", "g722", "-i", "pipe:0", "-f", "s16le", "pipe:1"], stream));
    const dec = new G722Decoder();
    const ours = new Int16Array(stream.length * 2);
    for (let o = 0; o < stream.length; o += 160) {
      ours.set(dec.decode(stream.subarray(o, o + 160)), o * 2);
    }
    let diff = 0;
    for (let i = 0; i < ours.length; i++) {
      if (ours[i] !== ref[i]) {
        diff++;
      }
    }
    t.equal(ref.length, ours.length, `${what}: same length`);
    t.equal(diff, 0, `${what}: every sample equal`);
  }
  t.end();
});

t.test("G.722 round trip: speech-like SNR, 7 kHz bandwidth, PLC, bad input", (t) => {
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const x = generateSpeechLike({ sampleRate: 16000, samples: 32000 });
  const y = new Int16Array(x.length);
  for (let o = 0; o < x.length; o += 320) {
    y.set(dec.decode(enc.encode(x.subarray(o, o + 320))), o);
  }
  const snr = snrDb(x, y, { maxLag: 60, skip: 1600 });
  t.ok(snr > 17, `speech-like SNR ${snr.toFixed(1)} dB > 17 (ADPCM at 64 kbit/s measures ~19.7)`);
  for (const f of [1000, 6000]) {
    const e2 = new G722Encoder();
    const d2 = new G722Decoder();
    const tone = generateTone(f, { sampleRate: 16000, samples: 16000 });
    const out = new Int16Array(tone.length);
    for (let o = 0; o < tone.length; o += 320) {
      out.set(d2.decode(e2.encode(tone.subarray(o, o + 320))), o);
    }
    t.ok(Math.abs(measureFrequency(out.subarray(1600), 16000) - f) < 2, `${f} Hz tone passes (wideband)`);
  }
  t.equal(dec.conceal().length, 320);
  t.throws(() => enc.encode(new Int16Array(319)), CodecError);
  t.throws(() => dec.decode(new Uint8Array(0)), CodecError);
  t.throws(() => new G722Encoder({ frameSamples: 3 }), CodecError);
  enc.close();
  dec.close();
  t.throws(() => enc.encode(new Int16Array(320)), CodecClosedError);
  t.throws(() => dec.conceal(), CodecClosedError);
  t.end();
});
