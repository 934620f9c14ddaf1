/**
 * The mixer's building blocks with real codecs: MixInput (jitter buffer reordering, loss concealed by PLC, garbage
 * payloads counted and concealed, codec/SSRC change restarts, bounded depth, 8 → 16 kHz resampling keeps the
 * tone), PcmFifo, the soft clipper and MixOutput's RTP numbering and talkspurt marker.
 */
import t from "tap";
import { createDecoder, createEncoder } from "../../../../media/codecs/index.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import { MixOutput, softClip } from "../../../../media/mixer/AudioMixer.js";
import {
  InputState,
  MAX_DEPTH_SAMPLES,
  MIX_FRAME,
  MIX_RATE,
  MixInput,
  PREFILL_SAMPLES,
  SHRINK_AFTER_TICKS,
} from "../../../../media/mixer/MixInput.js";
import { PcmFifo } from "../../../../media/mixer/PcmFifo.js";
import { generateTone, measureFrequency, toneLevelDb } from "../../../helpers/tone.js";

function packets(codec: string, rate: number, ticks: number, n: number, freq = 500, ssrc = 1): MediaPacket[] {
  const enc = createEncoder(codec, codec === "opus" ? { sampleRate: 48000 } : {});
  const tone = generateTone(freq, { sampleRate: rate, samples: enc.frameSamples * n, amplitude: 8000 });
  const out: MediaPacket[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      kind: "AUDIO",
      codec: codec.toLowerCase(),
      clockRate: codec === "opus" ? 48000 : 8000,
      payloadType: codec === "opus" ? 111 : 0,
      ssrc,
      sequenceNumber: (65530 + i) & 0xffff,
      timestamp: (i * ticks) >>> 0,
      marker: i === 0,
      payload: enc.encode(tone.subarray(i * enc.frameSamples, (i + 1) * enc.frameSamples)),
      keyframe: false,
      arrivalMs: 0,
    });
  }
  enc.close();
  return out;
}

/** Drains every frame the input yields (one tick each) into one signal; `now` is past the hangover. */
function drain(input: MixInput, now = 1000): Int16Array {
  const parts: Int16Array[] = [];
  for (let f = input.tick(now); f !== undefined; f = input.tick(now)) {
    parts.push(f.slice());
  }
  const out = new Int16Array(parts.length * MIX_FRAME);
  parts.forEach((p, i) => out.set(p, i * MIX_FRAME));
  return out;
}

t.test("PCMU in order: resampled to 16 kHz, the tone survives, talkspurt state", async (t) => {
  const input = new MixInput();
  t.teardown(() => input.close());
  const ps = packets("PCMU", 8000, 160, 10);
  t.equal(input.tick(1000), undefined, "nothing before the first packet");
  input.push(ps[0]!, 0);
  t.equal(input.tick(1000), undefined, "one frame is below the prefill");
  t.equal(input.state, InputState.Silent);
  for (const p of ps.slice(1)) {
    input.push(p, 0);
  }
  const pcm = drain(input);
  t.equal(pcm.length, 10 * MIX_FRAME, "ten 20 ms frames at 16 kHz (sequence wrap included)");
  const f = measureFrequency(pcm.subarray(MIX_FRAME * 2), MIX_RATE);
  t.ok(Math.abs(f - 500) < 5, `500 Hz at the mixing rate (${f.toFixed(1)})`);
  t.equal(input.state, InputState.Silent, "an underrun ends the talkspurt");
  t.equal(input.stats.talkspurts, 1);
  t.equal(input.stats.underruns, 1);
  t.equal(input.stats.decoded, 10);
});

t.test("reordering is restored; a loss is concealed by the decoder's PLC", async (t) => {
  const input = new MixInput();
  t.teardown(() => input.close());
  const ps = packets("PCMU", 8000, 160, 10);
  const order = [0, 1, 2, 4, 3, 5, 7, 8, 9]; // 3/4 swapped, 6 lost
  for (const i of order) {
    input.push(ps[i]!, 0);
  }
  // 4 waited for 3; 7, 8 and 9 waited for 6 until it was declared lost.
  t.equal(input.stats.reordered, 4, "packets played from the hold, in order");
  t.equal(input.stats.lost, 1, "the missing packet declared lost once three newer ones waited");
  t.equal(input.stats.concealed, 1, "and concealed");
  const pcm = drain(input);
  t.equal(pcm.length, 10 * MIX_FRAME, "the lost frame is filled: the timeline has no hole");
  const lostFrame = pcm.subarray(6 * MIX_FRAME, 7 * MIX_FRAME);
  t.ok(toneLevelDb(lostFrame, MIX_RATE, 500) > -30, "the PLC frame continues the tone");
});

t.test("garbage Opus payloads are counted and concealed; nothing throws", async (t) => {
  const input = new MixInput();
  t.teardown(() => input.close());
  const ps = packets("opus", 48000, 960, 9, 600);
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i]!;
    const bad = i === 3 || i === 6;
    // TOC code 3 with a frame count of 0 is an invalid Opus packet (RFC 6716 §3.2.5).
    input.push(bad ? { ...p, payload: new Uint8Array([0x03, 0x00]) } : p, 0);
  }
  input.push({ ...ps[0]!, sequenceNumber: (65530 + 9) & 0xffff, payload: new Uint8Array(0) }, 0);
  t.equal(input.stats.decodeErrors, 3, "three undecodable payloads counted (two invalid, one empty)");
  t.equal(input.stats.concealed, 3, "and concealed");
  const pcm = drain(input);
  t.equal(pcm.length, 10 * MIX_FRAME, "every frame present");
  const f = measureFrequency(pcm.subarray(2 * MIX_FRAME), MIX_RATE);
  t.ok(Math.abs(f - 600) < 5, `the tone goes on (${f.toFixed(1)} Hz)`);
});

t.test("video, DTMF and unknown codecs are ignored; a new SSRC restarts decoding", async (t) => {
  const input = new MixInput();
  t.teardown(() => input.close());
  const [p] = packets("PCMU", 8000, 160, 1);
  input.push({ ...p!, kind: "VIDEO", codec: "vp8" }, 0);
  input.push({ ...p!, codec: "telephone-event" }, 0);
  input.push({ ...p!, codec: "speex" }, 0);
  t.equal(input.stats.ignored, 3);
  input.push(p!, 0);
  input.push({ ...p!, ssrc: 99 }, 0);
  t.equal(input.stats.restarts, 1, "SSRC change restarts the decode stage");
  t.equal(input.stats.decoded, 2);
});

t.test("a burst deeper than the bound is trimmed back to the prefill depth", async (t) => {
  const input = new MixInput();
  t.teardown(() => input.close());
  for (const p of packets("PCMU", 8000, 160, 30)) {
    input.push(p, 0);
  }
  t.equal(input.depth, 30 * MIX_FRAME);
  t.ok(input.tick(1000) !== undefined, "a frame comes out");
  t.equal(input.stats.trimmedSamples, 30 * MIX_FRAME - PREFILL_SAMPLES, "trimmed to the prefill depth");
  t.ok(input.depth <= MAX_DEPTH_SAMPLES);
});

t.test("a late packet is concealed and played a frame later; a buffer deeper than needed shrinks", async (t) => {
  const input = new MixInput();
  t.teardown(() => input.close());
  const ps = packets("PCMU", 8000, 160, 80, 500);
  input.push(ps[0]!, 0);
  input.push(ps[1]!, 0);
  t.ok(input.tick(0) !== undefined, "talking after the prefill");
  t.ok(input.tick(20) !== undefined, "second frame");
  t.equal(input.depth, 0, "buffer empty, packet 2 is late");
  t.ok(input.tick(40) !== undefined, "the tick is filled by PLC within the hangover");
  t.equal(input.stats.stretched, 1);
  t.equal(input.state, InputState.Talking, "the talkspurt goes on");
  input.push(ps[2]!, 45);
  t.equal(input.depth, MIX_FRAME, "the late packet waits one frame");
  t.equal(input.stats.underruns, 0);
  // Now the buffer holds two spare frames for a second: it sheds one.
  input.push(ps[3]!, 45);
  input.push(ps[4]!, 45);
  let now = 60;
  let frames = 0;
  for (let i = 5; i < 5 + SHRINK_AFTER_TICKS; i++) {
    input.push(ps[i]!, now);
    frames += input.tick(now) === undefined ? 0 : 1;
    now += 20;
  }
  t.equal(frames, SHRINK_AFTER_TICKS, "a frame every tick");
  t.equal(input.stats.shrunk, 1, "one frame dropped after a second of excess depth");
  t.equal(input.stats.underruns, 0, "no underrun on the way");
  t.equal(input.tick(now + 1000) !== undefined, true, "buffered audio still plays after the sender stopped");
});

t.test("PcmFifo wraps and drops the oldest on overflow", async (t) => {
  const fifo = new PcmFifo(8);
  fifo.write(Int16Array.from([1, 2, 3, 4, 5, 6]));
  const out = new Int16Array(4);
  t.ok(fifo.read(out));
  t.same([...out], [1, 2, 3, 4]);
  fifo.write(Int16Array.from([7, 8, 9, 10, 11, 12, 13]));
  t.equal(fifo.dropped, 1, "one sample dropped");
  t.equal(fifo.size, 8);
  const all = new Int16Array(8);
  t.ok(fifo.read(all));
  t.same([...all], [6, 7, 8, 9, 10, 11, 12, 13]);
  t.notOk(fifo.read(new Int16Array(1)), "empty");
});

t.test("soft clipping and MixOutput numbering", async (t) => {
  t.equal(softClip(1000), 1000, "identity below the knee");
  t.equal(softClip(-24576), -24576);
  t.ok(softClip(100000) <= 32767 && softClip(100000) > 32000, "saturates below full scale");
  t.ok(softClip(-100000) >= -32767, "negative side too");
  t.ok(softClip(30000) < 30000 && softClip(30000) > softClip(28000), "monotonic compression");

  const out = new MixOutput();
  t.teardown(() => out.close());
  const silence = new Int16Array(MIX_FRAME);
  const tone = generateTone(440, { sampleRate: MIX_RATE, samples: MIX_FRAME });
  const ps = [
    out.packet(silence, false, 0),
    out.packet(tone, true, 0),
    out.packet(tone, true, 0),
    out.packet(silence, false, 0),
    out.packet(tone, true, 0),
  ];
  t.same(
    ps.map((p) => p.marker),
    [false, true, false, false, true],
    "marker on each talkspurt's first packet",
  );
  for (let i = 1; i < ps.length; i++) {
    t.equal((ps[i]!.sequenceNumber - ps[i - 1]!.sequenceNumber) & 0xffff, 1);
    t.equal((ps[i]!.timestamp - ps[i - 1]!.timestamp) >>> 0, 960, "48 kHz clock: 960 ticks per 20 ms");
  }
  t.ok(
    ps.every((p) => p.codec === "opus" && p.payloadType === 111 && p.clockRate === 48000 && p.ssrc === out.ssrc),
    "opus/48000, PT 111, one SSRC",
  );
  const dec = createDecoder("opus", { sampleRate: 48000 });
  t.teardown(() => dec.close());
  t.equal(dec.decode(ps[0]!.payload).length, 960, "a decodable 20 ms Opus frame");
});
