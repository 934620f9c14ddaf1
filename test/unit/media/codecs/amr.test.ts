import t from "tap";
import { AmrNbDecoder, AmrNbEncoder, AmrWbDecoder, AmrWbEncoder } from "../../../../media/codecs/amr.js";
import { AMR_NB, AMR_WB, frameType } from "../../../../media/codecs/amrPayload.js";
import { CodecClosedError, CodecError } from "../../../../media/codecs/errors.js";
import type { AudioDecoder, AudioEncoder } from "../../../../media/codecs/types.js";
import {
  generateSpeechLike,
  generateTone,
  measureFrequency,
  rmsDbfs,
  seededRandom,
  snrDb,
  toneLevelDb,
} from "../../../helpers/tone.js";

function roundTrip(enc: AudioEncoder, dec: AudioDecoder, x: Int16Array): { y: Int16Array; frames: Uint8Array[] } {
  const n = enc.frameSamples;
  const y = new Int16Array(x.length);
  const frames: Uint8Array[] = [];
  for (let o = 0; o + n <= x.length; o += n) {
    const f = enc.encode(x.subarray(o, o + n));
    frames.push(f);
    y.set(dec.decode(f), o);
  }
  return { y, frames };
}

// CELP codecs are not waveform-exact: SNR (best lag and gain) of the speech-like signal at the top mode is
// ~7.3 dB (NB 12.2) and ~7.5 dB (WB 23.85); thresholds 1.5 dB below. A mismatched signal scores ~0 dB.
for (const [kind, Enc, Dec, minSnr] of [
  [AMR_NB, AmrNbEncoder, AmrNbDecoder, 5.5],
  [AMR_WB, AmrWbEncoder, AmrWbDecoder, 6],
] as const) {
  const fs = kind.sampleRate;
  t.test(`${kind.name} round trip at every mode: storage size, ToC, tone; SNR at the top mode`, (t) => {
    const tone = generateTone(1000, { sampleRate: fs, samples: fs });
    for (let mode = 0; mode < kind.modes; mode++) {
      const enc = new Enc({ mode });
      const dec = new Dec();
      const { y, frames } = roundTrip(enc, dec, tone);
      t.ok(
        frames.every((f) => f.length === kind.storageBytes[mode] && f[0] === ((mode << 3) | 0x04)),
        `mode ${mode}: every frame is ${kind.storageBytes[mode]} bytes with ToC FT=${mode} Q=1`,
      );
      const f = measureFrequency(y.subarray(fs / 10), fs);
      t.ok(Math.abs(f - 1000) < 3, `mode ${mode}: tone at ${f.toFixed(1)} Hz`);
      enc.close();
      dec.close();
    }
    const enc = new Enc();
    const dec = new Dec();
    t.equal(enc.mode, kind.modes - 1, "default mode is the highest");
    t.same([enc.sampleRate, enc.frameSamples, enc.channels], [fs, kind.frameSamples, 1]);
    const x = generateSpeechLike({ sampleRate: fs, samples: fs * 2 });
    const { y } = roundTrip(enc, dec, x);
    const snr = snrDb(x, y, { maxLag: 200, skip: fs / 10 });
    t.ok(snr > minSnr, `speech-like SNR ${snr.toFixed(2)} dB > ${minSnr}`);
    const other = generateSpeechLike({ sampleRate: fs, samples: fs * 2, pitchLow: 150, pitchHigh: 300, seed: 9 });
    t.ok(snrDb(other, y, { maxLag: 200, skip: fs / 10 }) < 2, "a different signal does not match");
    const ty = roundTrip(enc, dec, generateTone(700, { sampleRate: fs, samples: fs })).y.subarray(fs / 10);
    const lvl = toneLevelDb(ty, fs, 700) - 20 * Math.log10(10000 / 32767);
    t.ok(Math.abs(lvl) < 3, `700 Hz tone level within 3 dB (${lvl.toFixed(2)})`);
    t.end();
  });

  t.test(`${kind.name} mode switch mid-stream (CMR adaptation)`, (t) => {
    const enc = new Enc();
    const dec = new Dec();
    const x = generateTone(500, { sampleRate: fs, samples: kind.frameSamples * 20 });
    const fts: number[] = [];
    for (let i = 0; i < 20; i++) {
      if (i === 10) {
        enc.setMode(2);
      }
      const f = enc.encode(x.subarray(i * kind.frameSamples, (i + 1) * kind.frameSamples));
      fts.push(frameType(f));
      dec.decode(f);
    }
    t.same(fts, [...Array<number>(10).fill(kind.modes - 1), ...Array<number>(10).fill(2)]);
    t.throws(() => enc.setMode(kind.modes), CodecError);
    t.throws(() => enc.setMode(-1), CodecError);
    t.throws(() => new Enc({ mode: 1.5 }), CodecError);
    t.end();
  });

  t.test(`${kind.name} DTX: silence gives SID and NO_DATA; the decoder makes comfort noise`, (t) => {
    const enc = new Enc({ dtx: true });
    const dec = new Dec();
    const rnd = seededRandom(3);
    const speech = generateSpeechLike({ sampleRate: fs, samples: fs });
    const fts: number[] = [];
    const outs: Int16Array[] = [];
    for (let i = 0; i < 100; i++) {
      const pcm = new Int16Array(kind.frameSamples);
      for (let j = 0; j < pcm.length; j++) {
        // first 1 s speech, then 1 s of very low background noise
        pcm[j] = i < 50 ? speech[i * kind.frameSamples + j]! : Math.round((rnd() - 0.5) * 60);
      }
      const f = enc.encode(pcm);
      fts.push(frameType(f));
      if (f.length !== kind.storageBytes[frameType(f)]) {
        t.fail(`frame ${i} of type ${frameType(f)} has ${f.length} bytes`);
      }
      outs.push(dec.decode(f));
    }
    const tail = fts.slice(60);
    t.ok(tail.includes(kind.sidFt), `SID frames (FT ${kind.sidFt}) during silence`);
    t.ok(tail.includes(15), "NO_DATA frames (FT 15) during silence");
    t.ok(
      fts.slice(0, 50).every((ft) => ft === kind.modes - 1),
      "speech frames while there is speech",
    );
    const cn = new Int16Array(kind.frameSamples * 30);
    outs.slice(70).forEach((o, i) => cn.set(o, i * kind.frameSamples));
    const lvl = rmsDbfs(cn);
    t.ok(lvl > -90 && lvl < -45, `comfort noise at ${lvl.toFixed(1)} dBFS (low, not digital silence)`);
    t.end();
  });

  t.test(`${kind.name} conceal() and damaged frames (Q=0) use the library's concealment`, (t) => {
    const enc = new Enc();
    const dec = new Dec();
    const x = generateTone(400, { sampleRate: fs, samples: fs });
    const { frames } = roundTrip(enc, new Dec(), x);
    for (let i = 0; i < 25; i++) {
      dec.decode(frames[i]!);
    }
    const c = dec.conceal();
    t.equal(c.length, kind.frameSamples);
    t.ok(Math.abs(measureFrequency(c, fs) - 400) < 20, "concealment keeps the tone");
    // A damaged frame (Q=0) is concealed exactly like a lost one: compare with a twin decoder in the same state.
    const twin = new Dec();
    for (let i = 0; i < 25; i++) {
      twin.decode(frames[i]!);
    }
    const damaged = frames[25]!.slice();
    damaged[0]! &= ~0x04;
    t.same(Array.from(twin.decode(damaged)), Array.from(c), "a Q=0 frame gives exactly the concealment output");
    const good = new Dec();
    for (let i = 0; i < 25; i++) {
      good.decode(frames[i]!);
    }
    t.notSame(Array.from(good.decode(frames[25]!)), Array.from(c), "while the same frame with Q=1 is decoded");
    t.end();
  });

  t.test(`${kind.name} bad input throws named errors; garbage bits never crash`, (t) => {
    const enc = new Enc();
    const dec = new Dec();
    t.throws(() => enc.encode(new Int16Array(kind.frameSamples - 1)), CodecError);
    t.throws(() => dec.decode(new Uint8Array(0)), CodecError);
    t.throws(() => dec.decode(Uint8Array.of(((kind.modes - 1) << 3) | 4, 1, 2)), CodecError, "short frame");
    for (const ft of kind.name === "AMR" ? [9, 10, 11, 12, 13, 14] : [10, 11, 12, 13]) {
      t.throws(() => dec.decode(new Uint8Array(64).fill((ft << 3) | 4, 0, 1)), CodecError, `FT ${ft} refused`);
    }
    const rnd = seededRandom(11);
    let ok = 0;
    for (let i = 0; i < 2000; i++) {
      const ft = Math.floor(rnd() * (kind.sidFt + 1));
      const f = new Uint8Array(kind.storageBytes[ft]!);
      for (let j = 1; j < f.length; j++) {
        f[j] = Math.floor(rnd() * 256);
      }
      f[0] = (ft << 3) | 4;
      const y = dec.decode(f);
      if (y.length === kind.frameSamples) {
        ok++;
      }
    }
    t.equal(ok, 2000, "2000 frames of random bits decode to a frame each, no crash");
    for (const toc of kind.name === "AMR-WB" ? [0x70, 0x74, 0x7c, 0x78] : [0x7c, 0x78]) {
      t.equal(
        dec.decode(Uint8Array.of(toc)).length,
        kind.frameSamples,
        `one-byte frame 0x${toc.toString(16)} conceals`,
      );
    }
    enc.close();
    dec.close();
    dec.close();
    t.throws(() => enc.encode(new Int16Array(kind.frameSamples)), CodecClosedError);
    t.throws(() => dec.decode(Uint8Array.of(0x7c)), CodecClosedError);
    t.throws(() => dec.conceal(), CodecClosedError);
    t.end();
  });
}
