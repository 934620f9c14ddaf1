/**
 * AudioCapture, driven on a clock of the test's: two G.711 sources on `left` / `right` come out on their own channel
 * of one A-law stream, on the wall clock (a side that stops is silence, nothing is compressed); sources on other
 * descriptions are mixed into one channel; Opus out decodes back to the tones.
 */
import t from "tap";
import { decodeG711, encodeG711, OpusDecoder, PCMA_TABLES, PCMU_TABLES } from "../../../../media/codecs/index.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import { AudioCapture, captureChannel } from "../../../../media/record/AudioCapture.js";
import type { AudioConfig } from "../../../../media/record/RecordingWriter.js";
import { generateTone, goertzelPower } from "../../../helpers/tone.js";

/** Far beyond performance.now(): the shared ticker's own ticks make nothing; the test's clock drives it. */
const T0 = 1e9;

function packets(codec: "pcma" | "pcmu", freq: number, count: number): MediaPacket[] {
  const pcm = generateTone(freq, { sampleRate: 8000, samples: count * 160, amplitude: 8000 });
  return Array.from({ length: count }, (_, i) => {
    const payload = new Uint8Array(160);
    encodeG711(codec === "pcma" ? PCMA_TABLES : PCMU_TABLES, pcm.subarray(i * 160, i * 160 + 160), payload);
    return {
      kind: "AUDIO",
      codec,
      clockRate: 8000,
      payloadType: codec === "pcma" ? 8 : 0,
      ssrc: freq,
      sequenceNumber: i,
      timestamp: i * 160,
      marker: false,
      payload,
      keyframe: false,
      arrivalMs: T0 + i * 20,
    };
  });
}

interface Out {
  data: Uint8Array;
  t: number;
  config: AudioConfig;
  dur: number;
}

function run(
  capture: AudioCapture,
  sources: { key: object; description: string; packets: MediaPacket[] }[],
  endMs: number,
): void {
  for (let ms = 0; ms <= endMs; ms += 20) {
    for (const s of sources) {
      const p = s.packets[ms / 20];
      if (p !== undefined) {
        capture.push(s.key, captureChannel(s.description), p);
      }
    }
    capture.tick(T0 + ms + 10);
  }
  capture.finish(T0 + endMs);
}

function channel(bytes: Uint8Array, channels: number, c: number): Int16Array {
  const law = new Uint8Array(bytes.length / channels);
  for (let i = 0; i < law.length; i++) {
    law[i] = bytes[i * channels + c] ?? 0;
  }
  const pcm = new Int16Array(law.length);
  decodeG711(PCMA_TABLES, law, pcm);
  return pcm;
}

const power = (pcm: Int16Array, fromMs: number, toMs: number, f: number): number =>
  goertzelPower(pcm.subarray(fromMs * 8, toMs * 8), 8000, f);

t.test("stereo A-law: one source per channel, a side that stops is silence, the wall clock kept", async (t) => {
  const out: Out[] = [];
  const capture = new AudioCapture({ rate: 8000, channels: 2, encoding: "g711" }, (data, tt, config, dur) =>
    out.push({ data, t: tt, config, dur }),
  );
  run(
    capture,
    [
      { key: {}, description: "left", packets: packets("pcma", 440, 50) },
      { key: {}, description: "right", packets: packets("pcma", 1000, 25) }, // stops after 500 ms
    ],
    1000,
  );
  t.match(out[0]?.config, { codec: "alaw", channels: 2, sampleRate: 8000 }, "the law of the sources");
  t.ok(out.length <= 3, `written in blocks (${out.length} writes for 1 s)`);
  const bytes = Buffer.concat(out.map((o) => o.data));
  t.equal(bytes.length, 50 * 160 * 2, "50 frames of 20 ms for 1 s: the timeline is the wall clock");
  t.same(
    out.map((o) => o.t),
    out.map((_, i) => i * 0.5),
    "blocks at their wall-clock times",
  );
  const left = channel(bytes, 2, 0);
  const right = channel(bytes, 2, 1);
  t.ok(power(left, 100, 900, 440) > 1000 * power(left, 100, 900, 1000), "left: 440 Hz only");
  t.ok(power(right, 100, 450, 1000) > 1000 * power(right, 100, 450, 440), "right: 1000 Hz only");
  t.ok(power(right, 600, 1000, 1000) < power(right, 100, 450, 1000) / 1e6, "right is silent once its source stops");
  t.ok(power(left, 600, 1000, 440) > power(left, 100, 450, 440) / 2, "while the left goes on");
});

t.test("mixed: sources on other descriptions are summed into one channel (µ-law)", async (t) => {
  const out: Out[] = [];
  const capture = new AudioCapture({ rate: 8000, channels: 1, encoding: "g711" }, (data, tt, config, dur) =>
    out.push({ data, t: tt, config, dur }),
  );
  run(
    capture,
    [
      { key: {}, description: "caller", packets: packets("pcmu", 440, 50) },
      { key: {}, description: "callee", packets: packets("pcmu", 1000, 50) },
    ],
    1000,
  );
  t.match(out[0]?.config, { codec: "ulaw", channels: 1 });
  const law = Buffer.concat(out.map((o) => o.data));
  const pcm = new Int16Array(law.length);
  decodeG711(PCMU_TABLES, law, pcm);
  const quiet = power(pcm, 100, 900, 700);
  t.ok(power(pcm, 100, 900, 440) > 100 * quiet && power(pcm, 100, 900, 1000) > 100 * quiet, "both tones");
});

t.test("stereo Opus: one encode, 20 ms packets that decode to each side's tone", async (t) => {
  const out: Out[] = [];
  const capture = new AudioCapture({ rate: 48000, channels: 2, encoding: "opus" }, (data, tt, config, dur) =>
    out.push({ data, t: tt, config, dur }),
  );
  run(
    capture,
    [
      { key: {}, description: "left", packets: packets("pcma", 440, 50) },
      { key: {}, description: "right", packets: packets("pcmu", 1000, 50) },
    ],
    1000,
  );
  t.equal(out.length, 50, "one packet per 20 ms");
  t.match(out[0]?.config, { codec: "opus", channels: 2, sampleRate: 48000 });
  t.equal(out[0]?.config.description?.length, 19, "OpusHead for Ogg");
  const dec = new OpusDecoder({ sampleRate: 48000, channels: 2 });
  const pcm = out.flatMap((o) => [...dec.decode(o.data)]);
  dec.close();
  const side = (c: number): Int16Array => {
    const s = new Int16Array(pcm.length / 2);
    for (let i = 0; i < s.length; i++) {
      s[i] = pcm[i * 2 + c] ?? 0;
    }
    return s;
  };
  const l = side(0).subarray(48000 * 0.2, 48000 * 0.9);
  const r = side(1).subarray(48000 * 0.2, 48000 * 0.9);
  t.ok(goertzelPower(l, 48000, 440) > 30 * goertzelPower(l, 48000, 1000), "left: 440 Hz");
  t.ok(goertzelPower(r, 48000, 1000) > 30 * goertzelPower(r, 48000, 440), "right: 1000 Hz");
});
