/**
 * EncodeStage: frames in, RTP payloads out with the chain's timestamps. The payloads decode back to the tone
 * (PCMU, Opus fed at 8 kHz with its 48 kHz clock), AMR at 40 ms packs two frames per packet, and an AMR chain
 * follows the lowest mode its sinks' peers ask for within the mode-set.
 */
import t from "tap";
import { createDecoder } from "../../../../../media/codecs/index.js";
import { EncodeStage, type PayloadOutput } from "../../../../../media/transcode/stages/EncodeStage.js";
import { generateTone } from "../../../../helpers/tone.js";
import { analyse, concat } from "./fixtures.js";

class Payloads implements PayloadOutput {
  readonly payloads: Uint8Array[] = [];
  readonly ts: number[] = [];
  readonly silence: boolean[] = [];
  request: number | undefined;
  onPayload(payload: Uint8Array, timestamp: number, silence: boolean): void {
    this.payloads.push(payload.slice());
    this.ts.push(timestamp);
    this.silence.push(silence);
  }
  modeRequest(): number | undefined {
    return this.request;
  }
}

function feedTone(stage: EncodeStage, frames: number): void {
  const n = stage.frameLength;
  const tone = generateTone(1000, { sampleRate: stage.rate, samples: n * frames, amplitude: 8000 });
  for (let i = 0; i < frames; i++) {
    stage.onFrame(tone.subarray(i * n, (i + 1) * n));
  }
}

t.test("PCMU and Opus: the tone decodes back; timestamps advance by the format's clock", (t) => {
  for (const [codec, clockRate, channels, ticks] of [
    ["pcmu", 8000, 1, 160],
    ["opus", 48000, 2, 960],
  ] as const) {
    const out = new Payloads();
    const stage = new EncodeStage({ codec, clockRate, channels }, 20, "pcmu", out);
    t.equal(stage.rate, 8000, `${codec} fed at 8 kHz from a PCMU source`);
    const ts0 = stage.ts;
    feedTone(stage, 25);
    t.equal(out.ts[0], ts0, "the first packet starts the timeline");
    t.equal(out.payloads.length, 25);
    t.ok(
      out.ts.every((ts, i) => i === 0 || (ts - out.ts[i - 1]!) >>> 0 === ticks),
      `+${ticks} per 20 ms`,
    );
    const dec = createDecoder(codec, codec === "opus" ? { sampleRate: 8000 } : {});
    const pcm = concat(out.payloads.map((p) => dec.decode(p).slice()));
    dec.close();
    const a = analyse(pcm, 8000);
    t.ok(Math.abs(a.frequency - 1000) < 5, `${codec}: ${a.frequency.toFixed(1)} Hz`);
    stage.close();
  }
  t.end();
});

t.test(
  "AMR at 40 ms: two frames per packet, the packet stamped with its first frame; silence is whole packets",
  (t) => {
    const out = new Payloads();
    const stage = new EncodeStage({ codec: "amr", clockRate: 8000, channels: 1 }, 40, "pcmu", out);
    t.equal(stage.framesPerPacket, 2);
    const ts0 = stage.ts;
    feedTone(stage, 10);
    t.equal(out.ts[0], ts0, "stamped with its first frame");
    t.equal(out.payloads.length, 5, "ten frames, five packets");
    t.ok(
      out.ts.every((ts, i) => i === 0 || (ts - out.ts[i - 1]!) >>> 0 === 320),
      "+320 per packet",
    );
    stage.emitSilence();
    t.equal(out.payloads.length, 6, "one silence packet");
    t.same(out.silence.slice(-1), [true]);
    stage.close();
    t.end();
  },
);

t.test("AMR CMR: the encoder follows the request, mapped into the mode-set", (t) => {
  const out = new Payloads();
  const stage = new EncodeStage(
    { codec: "amr-wb", clockRate: 16000, channels: 1, parameters: "mode-set=0,2,5,8" },
    20,
    "pcmu",
    out,
  );
  t.same(stage.amrModes, [0, 2, 5, 8]);
  feedTone(stage, 2);
  t.equal(stage.amrMode, 8, "no request: the highest mode of the set");
  out.request = 4;
  feedTone(stage, 2);
  t.equal(stage.amrMode, 2, "request 4: the highest allowed mode not above it");
  const dec = createDecoder("AMR-WB");
  const last = dec.decode(out.payloads.at(-1)!);
  dec.close();
  t.equal(last.length, 320, "the payload at mode 2 still decodes");
  t.ok(out.payloads.at(-1)!.length < out.payloads[0]!.length, "mode 2 payloads are smaller than mode 8's");
  out.request = undefined;
  feedTone(stage, 1);
  t.equal(stage.amrMode, 8, "request withdrawn: back to the top");
  stage.close();
  t.end();
});

t.test("a format Korus cannot encode is refused at construction", (t) => {
  t.throws(() => new EncodeStage({ codec: "g729", clockRate: 8000, channels: 1 }, 20, "pcmu", new Payloads()));
  t.end();
});
