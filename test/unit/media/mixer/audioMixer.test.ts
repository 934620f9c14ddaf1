/**
 * AudioMixer on its own timer with real codecs: six participants, five of them talking (PCMU tones at different
 * levels) and one listening. The four loudest are mixed; the quietest talker is left out; the listener hears the
 * four (one shared encoder for everyone who is not mixed), each mixed talker hears the other three and not itself
 * (its own encoder). Output packets are decoded with media/codecs and measured with Goertzel.
 */
import t from "tap";
import { createDecoder, createEncoder } from "../../../../media/codecs/index.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import type { Logger } from "../../../../media/logger.js";
import { AudioMixer, MAX_MIXED, type MixerPort } from "../../../../media/mixer/AudioMixer.js";
import { generateTone, toneLevelDb } from "../../../helpers/tone.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

/** A port that records the packets the mixer hands it. */
class RecordingPort implements MixerPort {
  readonly packets: MediaPacket[] = [];
  constructor(readonly id: string) {}
  wantsOutput(): boolean {
    return true;
  }
  deliver(packet: MediaPacket): void {
    this.packets.push(packet);
  }
}

t.test("top-4 talkers mixed; listeners share one encoder; talkers hear everyone mixed but themselves", async (t) => {
  t.equal(MAX_MIXED, 4);
  const mixer = new AudioMixer("mix", logger);
  t.teardown(() => mixer.close());
  const talkers = [
    { f: 300, amp: 8000 },
    { f: 500, amp: 7000 },
    { f: 700, amp: 6000 },
    { f: 900, amp: 5000 },
    { f: 1100, amp: 800 },
  ];
  const ports = [...talkers.map((x) => new RecordingPort(`t${x.f}`)), new RecordingPort("listener")];
  ports.forEach((p) => mixer.add(p));
  const enc = createEncoder("PCMU");
  t.teardown(() => enc.close());
  const tones = talkers.map((x) => generateTone(x.f, { sampleRate: 8000, samples: 160 * 75, amplitude: x.amp }));
  const start = performance.now();
  for (let i = 0; i < 75; i++) {
    talkers.forEach((_, k) => {
      mixer.input(ports[k]!.id, {
        kind: "AUDIO",
        codec: "pcmu",
        clockRate: 8000,
        payloadType: 0,
        ssrc: k + 1,
        sequenceNumber: i,
        timestamp: i * 160,
        marker: i === 0,
        payload: enc.encode(tones[k]!.subarray(i * 160, (i + 1) * 160)),
        keyframe: false,
        arrivalMs: 0,
      });
    });
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
  await sleep(60);
  const heard = (port: RecordingPort): Int16Array => {
    const dec = createDecoder("opus", { sampleRate: 16000 });
    const pcm = Int16Array.from(port.packets.flatMap((p) => Array.from(dec.decode(p.payload))));
    dec.close();
    return pcm.subarray(Math.floor(pcm.length * 0.4), Math.floor(pcm.length * 0.9));
  };
  const levels = (port: RecordingPort): Record<number, number> => {
    const pcm = heard(port);
    return Object.fromEntries(talkers.map((x) => [x.f, toneLevelDb(pcm, 16000, x.f)]));
  };
  const listener = levels(ports[5]!);
  t.comment(`listener: ${JSON.stringify(listener, (_k, v: unknown) => (typeof v === "number" ? +v.toFixed(1) : v))}`);
  for (const f of [300, 500, 700, 900]) {
    t.ok((listener[f] ?? -Infinity) > -35, `the listener hears ${f} Hz`);
  }
  t.ok((listener[1100] ?? 0) < -50, "the quietest (fifth) talker is not mixed");
  const t300 = levels(ports[0]!);
  t.ok(
    [500, 700, 900].every((f) => (t300[f] ?? -Infinity) > -35),
    "the 300 Hz talker hears the other mixed talkers",
  );
  t.ok((t300[300] ?? 0) < -50, `and not itself (${(t300[300] ?? 0).toFixed(1)} dB)`);
  const s = mixer.stats;
  t.ok(s.notMixed > 0, `talker frames left out (${s.notMixed})`);
  t.ok(
    s.sharedEncodes <= s.ticks && s.sharedEncodes > 0.8 * s.ticks,
    `one shared encode per tick (${s.sharedEncodes}/${s.ticks})`,
  );
  t.ok(s.ownEncodes <= 4 * s.ticks, `at most four own encodes per tick (${s.ownEncodes})`);
  const seqs = ports[5]!.packets.map((p) => p.sequenceNumber);
  t.ok(
    seqs.every((q, i) => i === 0 || q === ((seqs[i - 1]! + 1) & 0xffff)),
    "each port numbers its packets continuously",
  );
  t.not(ports[5]!.packets[0]?.ssrc, ports[4]!.packets[0]?.ssrc, "each port has its own SSRC");
});
