/**
 * TargetChain: decode → re-frame → encode → number → deliver, for one target format, on real codecs. A PCMU tone
 * comes out as Opus that decodes to the tone; packets are numbered continuously with one SSRC; every connection of
 * the chain gets the same packet; telephone-events share the audio's sequence; a continuous chain fills a pause
 * with silence at the shared tick and a non-continuous one does not.
 */
import t from "tap";
import { createDecoder } from "../../../../media/codecs/index.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import { TargetChain, type Deliver } from "../../../../media/transcode/TargetChain.js";
import type { TranscodeTarget } from "../../../../media/transcode/stages/context.js";
import { DecodeStage } from "../../../../media/transcode/stages/DecodeStage.js";
import { analyse, concat, stageContext, tonePackets } from "./stages/fixtures.js";

function target(id: string, amr?: number): TranscodeTarget {
  return { sink: { id, amrModeRequest: () => amr } };
}

class Sinks implements Deliver<TranscodeTarget> {
  readonly got: { p: MediaPacket; to: string }[] = [];
  deliver(p: MediaPacket, conn: TranscodeTarget): void {
    this.got.push({ p, to: conn.sink.id });
  }
  of(id: string, codec: string): MediaPacket[] {
    return this.got.filter((g) => g.to === id && g.p.codec === codec).map((g) => g.p);
  }
}

const OPUS = { codec: "opus", clockRate: 48000, channels: 2 };

t.test("PCMU in, Opus out to two sinks: the tone survives, one stream numbered continuously", (t) => {
  const ctx = stageContext();
  const sinks = new Sinks();
  const chain = new TargetChain("opus/48000/2/20", OPUS, 20, "pcmu", sinks, ctx);
  const a = target("a");
  const b = target("b");
  chain.add(a);
  chain.add(b);
  chain.add(a);
  t.equal(chain.size, 2, "a connection joins once");
  t.equal(chain.encRate, 8000, "Opus fed at 8 kHz from PCMU");
  const packets = tonePackets({
    codec: "PCMU",
    clockRate: 8000,
    payloadType: 0,
    rate: 8000,
    frequency: 1000,
    packets: 25,
  });
  const decode = DecodeStage.open(packets[0]!, 8000, undefined, chain, ctx);
  for (const p of packets) {
    decode.onRtp(p);
  }
  const toA = sinks.of("a", "opus");
  const toB = sinks.of("b", "opus");
  t.equal(toA.length, 25);
  t.ok(
    toA.every((p, i) => p === toB[i]),
    "both sinks get the same packet objects",
  );
  t.ok(
    toA.every(
      (p, i) =>
        i === 0 ||
        (((p.sequenceNumber - toA[i - 1]!.sequenceNumber) & 0xffff) === 1 &&
          (p.timestamp - toA[i - 1]!.timestamp) >>> 0 === 960),
    ),
    "sequence +1, timestamp +960 per packet",
  );
  t.ok(
    toA.every((p) => p.ssrc === chain.ssrc && p.clockRate === 48000),
    "one SSRC, 48 kHz clock",
  );
  t.same(
    toA.map((p) => p.marker),
    [true, ...Array<boolean>(24).fill(false)],
    "marker on the first packet only",
  );
  const dec = createDecoder("opus", { sampleRate: 48000 });
  const pcm = concat(toA.map((p) => dec.decode(p.payload).slice()));
  dec.close();
  const m = analyse(pcm, 48000);
  t.ok(Math.abs(m.frequency - 1000) < 5, `the Opus sink hears ${m.frequency.toFixed(1)} Hz`);
  t.ok(m.levelDb > -20, `level ${m.levelDb.toFixed(1)} dB`);
  chain.remove(b);
  decode.onRtp({ ...packets[24]!, sequenceNumber: packets[24]!.sequenceNumber + 1 });
  t.equal(sinks.of("b", "opus").length, 25, "a removed connection gets nothing more");
  t.equal(sinks.of("a", "opus").length, 26);
  decode.close();
  chain.close();
  t.end();
});

t.test("telephone-events take the chain's sequence and SSRC", (t) => {
  const ctx = stageContext();
  const sinks = new Sinks();
  const chain = new TargetChain(
    "pcmu/8000/1/20",
    { codec: "pcmu", clockRate: 8000, channels: 1 },
    20,
    "opus",
    sinks,
    ctx,
  );
  chain.add(target("a"));
  chain.dtmf.teRates = [8000];
  const packets = tonePackets({
    codec: "opus",
    clockRate: 48000,
    payloadType: 111,
    rate: 48000,
    frequency: 1000,
    packets: 3,
    codecOptions: { sampleRate: 48000 },
  });
  const decode = DecodeStage.open(packets[0]!, 8000, undefined, chain, ctx);
  for (const p of packets) {
    decode.onRtp(p);
  }
  chain.dtmf.onRtp({
    ...packets[2]!,
    codec: "telephone-event",
    payloadType: 101,
    payload: Uint8Array.from([1, 10, 3, 0xc0]),
  });
  const all = sinks.got.map((g) => g.p);
  t.same(
    all.map((p) => p.codec),
    ["pcmu", "pcmu", "pcmu", "telephone-event"],
  );
  t.equal(all[3]!.sequenceNumber, (all[2]!.sequenceNumber + 1) & 0xffff, "next in the audio's sequence");
  t.equal(all[3]!.timestamp, all[2]!.timestamp, "starts with the audio packet it was sent with");
  t.equal((all[3]!.payload[2]! << 8) | all[3]!.payload[3]!, 160, "960 ticks at 48 kHz → 160 at 8 kHz");
  t.equal(all[3]!.ssrc, all[0]!.ssrc);
  decode.close();
  chain.close();
  t.end();
});

t.test("keep-alive: a continuous chain fills a pause with decodable silence at the packet rate", (t) => {
  const ctx = stageContext();
  const sinks = new Sinks();
  const chain = new TargetChain(
    "pcma/8000/1/20",
    { codec: "pcma", clockRate: 8000, channels: 1 },
    20,
    "pcmu",
    sinks,
    ctx,
  );
  chain.add(target("a"));
  const now = performance.now();
  chain.tick(now + 200);
  t.equal(sinks.got.length, 0, "not continuous: nothing");
  chain.continuous = true;
  chain.tick(now + 50);
  t.equal(sinks.got.length, 0, "a pause under 80 ms is left alone");
  chain.tick(now + 100);
  chain.tick(now + 120);
  chain.tick(now + 140);
  t.equal(sinks.got.length, 3, "then one packet per 20 ms tick");
  t.equal(ctx.counters.silencePackets, 3);
  const dec = createDecoder("PCMA");
  const pcm = concat(sinks.got.map((g) => dec.decode(g.p.payload).slice()));
  dec.close();
  t.ok(
    pcm.every((s) => Math.abs(s) < 16),
    "silence",
  );
  chain.close();
  t.end();
});
