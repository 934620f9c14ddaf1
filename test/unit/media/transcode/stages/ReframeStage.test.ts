/**
 * ReframeStage: decoded PCM to encoder-sized frames. A frame of the right size passes as it is; 10 ms in becomes
 * 20 ms out (and 20 → 60); a rate change goes through a resampler that keeps the tone's frequency.
 */
import t from "tap";
import { createDecoder } from "../../../../../media/codecs/index.js";
import { ReframeStage, type FrameOutput } from "../../../../../media/transcode/stages/ReframeStage.js";
import { generateTone } from "../../../../helpers/tone.js";
import { analyse, concat, tonePackets } from "./fixtures.js";

class Frames implements FrameOutput {
  readonly frames: Int16Array[] = [];
  readonly same: boolean[] = [];
  input: Int16Array | undefined;
  onFrame(frame: Int16Array): void {
    this.same.push(frame === this.input);
    this.frames.push(frame.slice());
  }
}

t.test("a decoded frame of the encoder's size passes untouched (no copy)", (t) => {
  const out = new Frames();
  const stage = new ReframeStage(8000, 160, out);
  const pcm = generateTone(1000, { sampleRate: 8000, samples: 160 });
  out.input = pcm;
  stage.push(pcm, 8000);
  t.same(out.same, [true]);
  t.equal(stage.pending, 0);
  t.end();
});

t.test("10 ms PCMU frames become 20 ms frames; 20 ms become 60 ms; the signal is unchanged", (t) => {
  const dec = createDecoder("PCMU", { frameMs: 10 });
  const packets = tonePackets({
    codec: "PCMU",
    clockRate: 8000,
    payloadType: 0,
    rate: 8000,
    frequency: 1000,
    packets: 40,
    codecOptions: { frameMs: 10 },
  });
  const decoded = packets.map((p) => dec.decode(p.payload).slice());
  dec.close();
  for (const size of [160, 480]) {
    const out = new Frames();
    const stage = new ReframeStage(8000, size, out);
    for (const pcm of decoded) {
      stage.push(pcm, 8000);
    }
    t.ok(
      out.frames.every((f) => f.length === size),
      `every frame ${size} samples`,
    );
    t.equal(out.frames.length * size + stage.pending, 40 * 80, "no sample lost or added");
    t.same(concat(out.frames), concat(decoded).subarray(0, out.frames.length * size), "the same samples, in order");
  }
  t.end();
});

t.test("8 kHz into a 16 kHz encoder: resampled, the tone stays at 1 kHz", (t) => {
  const out = new Frames();
  const stage = new ReframeStage(16000, 320, out);
  const tone = generateTone(1000, { sampleRate: 8000, samples: 160 * 25 });
  for (let i = 0; i < 25; i++) {
    stage.push(tone.subarray(i * 160, (i + 1) * 160), 8000);
  }
  t.ok(out.frames.length >= 24, `${out.frames.length} frames of 20 ms at 16 kHz`);
  t.ok(
    out.frames.every((f) => f.length === 320),
    "320 samples each",
  );
  const a = analyse(concat(out.frames), 16000);
  t.ok(Math.abs(a.frequency - 1000) < 5, `${a.frequency.toFixed(1)} Hz at 16 kHz`);
  t.ok(a.levelDb > -15, `level ${a.levelDb.toFixed(1)} dB`);
  t.end();
});
