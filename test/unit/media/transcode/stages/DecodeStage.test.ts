/**
 * DecodeStage: real encoded packets in, PCM out. The tone survives decoding (PCMU, AMR-WB, Opus decoded straight at
 * 8 kHz), reordered packets are played in order, a lost one is concealed (one frame), and a payload the decoder
 * rejects is counted and concealed without stopping the stream.
 */
import t from "tap";
import type { MediaPacket } from "../../../../../media/core/types.js";
import { DecodeStage, type PcmOutput } from "../../../../../media/transcode/stages/DecodeStage.js";
import { analyse, concat, stageContext, tonePackets } from "./fixtures.js";

class Collect implements PcmOutput {
  readonly frames: Int16Array[] = [];
  /** Timestamp of each frame's packet; -1 for concealment. */
  readonly from: number[] = [];
  onPcm(pcm: Int16Array, _from: DecodeStage, packet: MediaPacket | undefined): void {
    this.frames.push(pcm.slice());
    this.from.push(packet?.timestamp ?? -1);
  }
}

t.test("PCMU: a 1 kHz tone decodes to 1 kHz, one frame per packet, in order", (t) => {
  const ctx = stageContext();
  const out = new Collect();
  const packets = tonePackets({
    codec: "PCMU",
    clockRate: 8000,
    payloadType: 0,
    rate: 8000,
    frequency: 1000,
    packets: 25,
  });
  const stage = DecodeStage.open(packets[0]!, 8000, undefined, out, ctx);
  t.equal(stage.rate, 8000);
  for (const p of packets) {
    t.equal(stage.onRtp(p), false, "the packet ends here");
  }
  stage.onRtp(packets[24]!); // the same packet routed for a second connection
  t.equal(ctx.counters.decoded, 25, "each packet decoded once");
  t.equal(ctx.counters.late, 0, "the second routing is not taken for a late duplicate");
  t.same(
    out.from,
    packets.map((p) => p.timestamp),
  );
  const a = analyse(concat(out.frames), 8000);
  t.ok(Math.abs(a.frequency - 1000) < 5, `decoded tone at ${a.frequency.toFixed(1)} Hz`);
  t.ok(a.levelDb > -16, `level ${a.levelDb.toFixed(1)} dB`);
  stage.close();
  t.end();
});

t.test("Opus is decoded straight at the rate asked for (8 kHz), AMR-WB at 16 kHz", (t) => {
  for (const [codec, clock, rate, open] of [
    ["opus", 48000, 48000, 8000],
    ["AMR-WB", 16000, 16000, 16000],
  ] as const) {
    const ctx = stageContext();
    const out = new Collect();
    const packets = tonePackets({
      codec,
      clockRate: clock,
      payloadType: 96,
      rate,
      frequency: 1000,
      packets: 25,
      ...(codec === "opus" ? { codecOptions: { sampleRate: 48000 } } : {}),
    });
    const stage = DecodeStage.open(packets[0]!, open, undefined, out, ctx);
    t.equal(stage.rate, open, `${codec} decoded at ${open} Hz`);
    for (const p of packets) {
      stage.onRtp(p);
    }
    const a = analyse(concat(out.frames), stage.rate);
    t.ok(Math.abs(a.frequency - 1000) < 5, `${codec}: ${a.frequency.toFixed(1)} Hz`);
    t.equal(ctx.counters.decodeErrors, 0);
    stage.close();
  }
  t.end();
});

t.test("reordering, loss and garbage: played in order, concealed, counted; the tone goes on", (t) => {
  const ctx = stageContext();
  const out = new Collect();
  const packets = tonePackets({
    codec: "AMR",
    clockRate: 8000,
    payloadType: 97,
    rate: 8000,
    frequency: 1000,
    packets: 30,
  });
  const stage = DecodeStage.open(packets[0]!, 8000, undefined, out, ctx);
  const order = [...packets.keys()];
  [order[5], order[6]] = [order[6]!, order[5]!]; // 6 before 5
  order.splice(order.indexOf(10), 1); // 10 lost
  for (const i of order) {
    const p = packets[i]!;
    stage.onRtp(i === 15 ? { ...p, payload: Uint8Array.from([0xf3, 0x00]) } : p); // 15: truncated AMR
  }
  t.equal(ctx.counters.reordered, 4, "played from the hold: 6 (behind 5), 11–13 (behind the lost 10)");
  t.equal(out.from[5], packets[5]!.timestamp, "…in its place");
  t.equal(ctx.counters.lost, 1);
  t.equal(out.from[10], -1, "the lost packet is one frame of concealment");
  t.equal(ctx.counters.decodeErrors, 1, "the truncated payload failed the decoder");
  t.equal(out.from[15], -1, "…and was concealed");
  t.equal(ctx.counters.concealed, 2);
  t.equal(out.frames.length, 30, "one frame per 20 ms, none missing");
  const after = analyse(concat(out.frames.slice(16)), 8000);
  t.ok(Math.abs(after.frequency - 1000) < 10, `the tone after the bad payload: ${after.frequency.toFixed(1)} Hz`);
  stage.close();
  t.end();
});

t.test("a held gap is flushed by the timer after 60 ms; matches() tells a new stream", (t) => {
  const ctx = stageContext();
  const out = new Collect();
  const packets = tonePackets({
    codec: "PCMA",
    clockRate: 8000,
    payloadType: 8,
    rate: 8000,
    frequency: 1000,
    packets: 4,
  });
  const stage = DecodeStage.open(packets[0]!, 8000, undefined, out, ctx);
  stage.onRtp(packets[0]!);
  stage.onRtp(packets[2]!);
  t.equal(out.frames.length, 1, "packet 2 waits for 1");
  stage.flush(performance.now() + 100);
  t.same(out.from, [packets[0]!.timestamp, -1, packets[2]!.timestamp], "gap concealed, 2 played");
  t.ok(stage.matches(packets[3]!));
  t.notOk(stage.matches({ ...packets[3]!, ssrc: 99 }), "another SSRC");
  t.notOk(stage.matches({ ...packets[3]!, payloadType: 0, codec: "pcmu" }), "another codec");
  stage.close();
  t.end();
});
