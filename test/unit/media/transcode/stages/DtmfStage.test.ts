/**
 * DtmfStage: RFC 4733 telephone-events in a transcoded chain's timeline. The event's start lands on the output
 * timestamp of the audio it started with, durations are rescaled to the sink's telephone-event clock, every packet
 * of one event keeps one start, the chain's sequence and SSRC are used, and an event a sink cannot take is dropped
 * and counted.
 */
import t from "tap";
import type { MediaPacket } from "../../../../../media/core/types.js";
import { DtmfStage, type ChainTimeline } from "../../../../../media/transcode/stages/DtmfStage.js";
import { stageContext } from "./fixtures.js";

class Timeline implements ChainTimeline {
  readonly clockRate: number;
  readonly ssrc = 0xabcd;
  seq = 7;
  ts = 0;
  readonly sent: MediaPacket[] = [];
  constructor(clockRate: number) {
    this.clockRate = clockRate;
  }
  send(p: MediaPacket): void {
    this.sent.push(p);
    this.seq++;
  }
}

function event(ts: number, duration: number, end = false, clockRate = 8000): MediaPacket {
  return {
    kind: "AUDIO",
    codec: "telephone-event",
    clockRate,
    payloadType: 101,
    ssrc: 42,
    sequenceNumber: 1,
    timestamp: ts,
    marker: duration === 160,
    payload: Uint8Array.from([5, end ? 0x8a : 0x0a, duration >>> 8, duration & 0xff]),
    keyframe: false,
    arrivalMs: performance.now(),
  };
}

const duration = (p: MediaPacket | undefined): number => (p === undefined ? -1 : (p.payload[2]! << 8) | p.payload[3]!);

t.test("8 kHz events into a 48 kHz chain: start on the audio's output timestamp, durations ×6", (t) => {
  const out = new Timeline(48000);
  const ctx = stageContext();
  const stage = new DtmfStage(out, ctx);
  stage.teRates = [8000, 48000];
  // The audio packet with input timestamp 16000 went out at 480000 (48 kHz timeline).
  stage.anchor(16000, 8000, 480_000);
  out.ts = 480_000 + 3 * 960;
  const first = event(16000 + 320, 160);
  t.equal(stage.onRtp(first), false, "the packet ends here");
  stage.onRtp(first); // the same packet routed for another connection of the chain
  stage.onRtp(event(16000 + 320, 480));
  stage.onRtp(event(16000 + 320, 800, true));
  t.equal(out.sent.length, 3, "sent once per packet");
  t.same(
    out.sent.map((p) => p.timestamp),
    [481_920, 481_920, 481_920],
    "320 ticks after the anchor = 1920 at 48 kHz, the same for every packet of the event",
  );
  t.same(out.sent.map(duration), [960, 2880, 4800], "durations rescaled to 48 kHz");
  t.same(
    out.sent.map((p) => [p.clockRate, p.ssrc, p.sequenceNumber]),
    [
      [48000, 0xabcd, 7],
      [48000, 0xabcd, 8],
      [48000, 0xabcd, 9],
    ],
    "the sink's telephone-event clock, the chain's SSRC and sequence",
  );
  t.equal(out.sent[2]!.payload[1]! & 0x80, 0x80, "the end bit passes");
  t.equal(ctx.counters.dtmfForwarded, 3);
  stage.close();
  t.end();
});

t.test("no anchor yet: the event starts at the chain's current timestamp", (t) => {
  const out = new Timeline(8000);
  const stage = new DtmfStage(out, stageContext());
  stage.teRates = [8000];
  out.ts = 12345;
  stage.onRtp(event(999, 160));
  t.equal(out.sent[0]?.timestamp, 12345);
  t.equal(duration(out.sent[0]), 160, "same clock: duration unchanged");
  stage.anchor(1000, 8000, 50_000); // audio decoded meanwhile
  stage.onRtp(event(999, 320, true));
  t.equal(out.sent[1]?.timestamp, 12345, "the rest of the event keeps its start");
  stage.onRtp(event(1159, 160));
  t.equal(out.sent[2]?.timestamp, 50_159, "a new event is placed by the new anchor");
  t.end();
});

t.test("a sink without telephone-event, or a short payload: dropped and counted", (t) => {
  const out = new Timeline(8000);
  const ctx = stageContext();
  const stage = new DtmfStage(out, ctx);
  stage.onRtp(event(0, 160));
  stage.teRates = [8000];
  stage.onRtp({ ...event(0, 160), payload: Uint8Array.from([1]) });
  t.equal(out.sent.length, 0);
  t.equal(ctx.counters.dtmfDropped, 2);
  t.equal(out.seq, 7, "no sequence number used");
  t.end();
});
