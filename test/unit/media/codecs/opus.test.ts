import t from "tap";
import { CodecClosedError, CodecError } from "../../../../media/codecs/errors.js";
import { OpusDecoder, OpusEncoder, type OpusSampleRate } from "../../../../media/codecs/opus.js";
import {
  generateSpeechLike,
  generateTone,
  measureFrequency,
  rmsDbfs,
  seededRandom,
  snrDb,
  toneLevelDb,
} from "../../../helpers/tone.js";

function roundTrip(enc: OpusEncoder, dec: OpusDecoder, x: Int16Array): { y: Int16Array; bytes: number } {
  const n = enc.frameSamples * enc.channels;
  const y = new Int16Array(x.length);
  let bytes = 0;
  for (let o = 0; o + n <= x.length; o += n) {
    const p = enc.encode(x.subarray(o, o + n));
    bytes += p.length;
    y.set(dec.decode(p), o);
  }
  return { y, bytes };
}

// Opus is perceptual: waveform SNR (best lag and gain) of speech-like input is ~5.5–6.5 dB at complexity 5; the
// thresholds sit ~1.5 dB under that. A mismatched signal scores ~0 dB.
for (const [rate, minSnr] of [
  [8000, 4],
  [16000, 4.5],
  [48000, 4.5],
] as const) {
  t.test(`Opus ${rate} Hz mono round trip: speech-like SNR, tone frequency and level`, (t) => {
    const enc = new OpusEncoder({ sampleRate: rate as OpusSampleRate });
    const dec = new OpusDecoder({ sampleRate: rate as OpusSampleRate });
    t.same([enc.sampleRate, enc.channels, enc.frameSamples, enc.complexity], [rate, 1, rate / 50, 5]);
    t.equal(enc.lookahead, (rate * 6.5) / 1000, "6.5 ms look-ahead");
    const x = generateSpeechLike({ sampleRate: rate, samples: rate * 2 });
    const { y, bytes } = roundTrip(enc, dec, x);
    const snr = snrDb(x, y, { maxLag: enc.lookahead + 50, skip: rate / 10 });
    t.ok(snr > minSnr, `speech-like SNR ${snr.toFixed(2)} dB > ${minSnr}`);
    const other = generateSpeechLike({ sampleRate: rate, samples: rate * 2, pitchLow: 150, pitchHigh: 300, seed: 9 });
    t.ok(snrDb(other, y, { maxLag: enc.lookahead + 50, skip: rate / 10 }) < 2, "a different signal does not match");
    const kbps = (bytes * 8) / 2 / 1000;
    t.ok(kbps > 8 && kbps < 40, `bitrate ${kbps.toFixed(1)} kbit/s`);
    const tone = generateTone(1000, { sampleRate: rate, samples: rate });
    const ty = roundTrip(enc, dec, tone).y.subarray(rate / 10);
    t.ok(Math.abs(measureFrequency(ty, rate) - 1000) < 2, "1 kHz tone comes out at 1 kHz");
    const lvl = toneLevelDb(ty, rate, 1000) - toneLevelDb(tone, rate, 1000);
    t.ok(Math.abs(lvl) < 2, `tone level within 2 dB (${lvl.toFixed(2)})`);
    enc.close();
    dec.close();
    t.end();
  });
}

t.test("Opus stereo 48 kHz keeps the channels apart", (t) => {
  const enc = new OpusEncoder({ channels: 2, bitrate: 64000 });
  const dec = new OpusDecoder({ channels: 2 });
  const l = generateTone(500, { sampleRate: 48000, samples: 48000 });
  const r = generateTone(1500, { sampleRate: 48000, samples: 48000 });
  const x = new Int16Array(96000);
  for (let i = 0; i < 48000; i++) {
    x[2 * i] = l[i]!;
    x[2 * i + 1] = r[i]!;
  }
  const { y } = roundTrip(enc, dec, x);
  const yl = new Int16Array(48000);
  const yr = new Int16Array(48000);
  for (let i = 0; i < 48000; i++) {
    yl[i] = y[2 * i]!;
    yr[i] = y[2 * i + 1]!;
  }
  t.ok(Math.abs(measureFrequency(yl.subarray(4800), 48000) - 500) < 2, "left 500 Hz");
  t.ok(Math.abs(measureFrequency(yr.subarray(4800), 48000) - 1500) < 2, "right 1500 Hz");
  t.end();
});

t.test("Opus settings: bitrate, complexity, DTX, FEC are applied and read back", (t) => {
  const enc = new OpusEncoder({ sampleRate: 16000, bitrate: 20000, complexity: 3, dtx: true, fec: true });
  t.same([enc.bitrate, enc.complexity, enc.dtx, enc.fec], [20000, 3, true, true]);
  enc.setComplexity(10);
  enc.setBitrate(12000);
  enc.setDtx(false);
  enc.setFec(false);
  enc.setPacketLossPercent(10);
  t.same([enc.bitrate, enc.complexity, enc.dtx, enc.fec], [12000, 10, false, false]);
  t.throws(() => enc.setComplexity(11), CodecError, "complexity 11 refused by libopus");
  t.throws(() => enc.setPacketLossPercent(101), CodecError);
  t.end();
});

t.test("Opus DTX: silence becomes tiny packets and the encoder says so", (t) => {
  const enc = new OpusEncoder({ sampleRate: 16000, dtx: true });
  const silence = new Int16Array(320);
  const dtxSizes: number[] = [];
  for (let i = 0; i < 50; i++) {
    const n = enc.encode(silence).length;
    if (enc.inDtx) {
      dtxSizes.push(n);
    }
  }
  t.ok(dtxSizes.length > 30, `${dtxSizes.length} of 50 silent frames in DTX`);
  const tiny = dtxSizes.filter((s) => s <= 2).length;
  t.ok(tiny >= dtxSizes.length - 3, `${tiny} DTX frames are 1–2 bytes (need not be sent)`);
  t.ok(
    dtxSizes.every((s) => s <= 12),
    `the others are small comfort-noise updates: sizes ${[...new Set(dtxSizes)].join(",")}`,
  );
  const noDtx = new OpusEncoder({ sampleRate: 16000 });
  noDtx.encode(silence);
  t.notOk(noDtx.inDtx);
  t.end();
});

t.test("Opus PLC (decode of null) continues the tone and fades; FEC recovers a lost frame", (t) => {
  const rate = 16000;
  const enc = new OpusEncoder({ sampleRate: rate, fec: true, packetLossPercent: 20, bitrate: 32000 });
  const dec = new OpusDecoder({ sampleRate: rate });
  const tone = generateTone(800, { sampleRate: rate, samples: rate });
  const packets: Uint8Array[] = [];
  for (let o = 0; o < tone.length; o += 320) {
    packets.push(enc.encode(tone.subarray(o, o + 320)));
  }
  for (let i = 0; i < 20; i++) {
    dec.decode(packets[i]!);
  }
  const plc = dec.conceal();
  t.equal(plc.length, 320, "one 20 ms frame of concealment");
  t.ok(Math.abs(measureFrequency(plc, rate) - 800) < 30, "concealment keeps the pitch");
  t.ok(rmsDbfs(plc) > -40, "and is not silence");
  // Loss of packet 31: recover it from the FEC in packet 32, then decode 32 normally.
  for (let i = 21; i <= 30; i++) {
    dec.decode(packets[i]!);
  }
  const rec = dec.decodeFec(packets[32]!);
  t.equal(rec.length, 320);
  t.ok(Math.abs(measureFrequency(rec, rate) - 800) < 30, "FEC frame has the tone");
  t.ok(rmsDbfs(rec) > -30, `FEC frame level ${rmsDbfs(rec).toFixed(1)} dBFS`);
  t.equal(dec.decode(packets[32]!).length, 320);
  t.end();
});

t.test("Opus bad input throws named errors and never crashes", (t) => {
  t.throws(() => new OpusEncoder({ sampleRate: 44100 as OpusSampleRate }), CodecError);
  t.throws(() => new OpusEncoder({ channels: 3 as 1 }), CodecError);
  t.throws(() => new OpusDecoder({ frameMs: 30 }), CodecError);
  t.throws(() => new OpusEncoder({ complexity: 42 }), CodecError);
  const enc = new OpusEncoder({ sampleRate: 8000 });
  const dec = new OpusDecoder({ sampleRate: 8000 });
  t.throws(() => enc.encode(new Int16Array(159)), CodecError, "wrong frame size");
  t.throws(() => dec.decode(new Uint8Array(0)), CodecError, "empty packet");
  t.throws(() => dec.decode(new Uint8Array(5000)), CodecError, "oversized packet");
  const rnd = seededRandom(42);
  let decoded = 0;
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const p = new Uint8Array(1 + Math.floor(rnd() * 300));
    for (let j = 0; j < p.length; j++) {
      p[j] = Math.floor(rnd() * 256);
    }
    try {
      const y = dec.decode(p);
      if (y.length > 960) {
        t.fail(`garbage decoded to ${y.length} samples`);
      }
      decoded++;
    } catch (e) {
      if (!(e instanceof CodecError)) {
        throw e;
      }
      refused++;
    }
  }
  t.equal(decoded + refused, 3000, `garbage: ${decoded} decoded as noise, ${refused} refused with CodecError`);
  t.ok(refused > 0, "some garbage is refused");
  enc.close();
  enc.close();
  dec.close();
  t.throws(() => enc.encode(new Int16Array(160)), CodecClosedError);
  t.throws(() => enc.setBitrate(10000), CodecClosedError);
  t.throws(() => enc.complexity, CodecClosedError);
  t.throws(() => dec.decode(Uint8Array.of(0xf8, 0xff, 0xfe)), CodecClosedError);
  t.throws(() => dec.conceal(), CodecClosedError);
  t.end();
});

t.test("Opus signal hint: voice keeps SILK/hybrid modes where auto may pick CELT for harmonic input", (t) => {
  // A steady harmonic series (no syllable envelope, no noise): music-like to libopus's analysis.
  const harmonics = Array.from({ length: 20 }, (_, k) => 165 * (k + 1));
  const x = generateTone(harmonics, { sampleRate: 48000, samples: 96000, amplitude: 1200 });
  const celtShare = (signal: "auto" | "voice"): number => {
    const enc = new OpusEncoder({ complexity: 9, signal });
    let celt = 0;
    for (let o = 0; o < x.length; o += 960) {
      const config = enc.encode(x.subarray(o, o + 960))[0]! >> 3;
      if (config >= 16) {
        celt++;
      }
    }
    return celt / (x.length / 960);
  };
  t.equal(celtShare("voice"), 0, "voice: no CELT-only frames");
  const auto = celtShare("auto");
  t.ok(auto > 0.3, `auto: libopus 1.3.1 takes this synthetic signal for music (${Math.round(auto * 100)} % CELT)`);
  t.end();
});
