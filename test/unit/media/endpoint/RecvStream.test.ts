/**
 * RecvStream, the receive side of one kind from one peer: RFC 3550 statistics per remote SSRC, SSRC changes
 * counted, bounded against SSRC floods; two streams (AUDIO and VIDEO of one BUNDLE group) can share one SSRC map,
 * and a flood on one kind leaves the other kind's statistics alone.
 */
import t from "tap";
import { newDiagnostics, RecvStream, type StreamOwner } from "../../../../media/endpoint/RecvStream.js";
import { StageChain } from "../../../../media/endpoint/stages/RtpStage.js";
import { RateLimitedLog, type Logger } from "../../../../media/logger.js";
import type { RecvStreamStats } from "../../../../media/rtp/RtpStreamStats.js";

const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

function owner(): StreamOwner {
  return { elementId: "ep", diagnostics: newDiagnostics(), log: new RateLimitedLog(logger), logger };
}

t.test("statistics per SSRC; a new SSRC mid-stream is an SSRC change", (t) => {
  const o = owner();
  const s = new RecvStream("AUDIO", o, new StageChain([]));
  for (let i = 0; i < 10; i++) {
    t.equal(s.countPacket(0xaaaa, 100 + i, 160 * i, 160, 8000, 20 * i), true);
  }
  for (let i = 0; i < 5; i++) {
    s.countPacket(0xbbbb, 7 + i, 160 * i, 80, 8000, 200 + 20 * i);
  }
  t.equal(s.receivers.get(0xaaaa)?.packets, 10);
  t.equal(s.receivers.get(0xaaaa)?.bytes, 1600);
  t.equal(s.receivers.get(0xbbbb)?.packets, 5);
  t.equal(s.currentRemoteSsrc, 0xbbbb);
  t.equal(o.diagnostics.ssrcChanges, 1, "one SSRC change");
  s.countPacket(0xaaaa, 110, 1600, 160, 8000, 400);
  t.equal(s.receivers.get(0xaaaa)?.packets, 11, "back to the first SSRC: its statistics go on");
  t.equal(s.currentRemoteSsrc, 0xaaaa);
  t.end();
});

t.test("two kinds share one SSRC map; a flood of one kind evicts only its own", (t) => {
  const o = owner();
  const shared = new Map<number, RecvStreamStats>();
  const chain = new StageChain([]);
  const audio = new RecvStream("AUDIO", o, chain, shared);
  const video = new RecvStream("VIDEO", o, chain, shared);
  audio.countPacket(1, 1, 0, 160, 48_000, 0);
  video.countPacket(2, 1, 0, 1000, 90_000, 0);
  t.equal(shared.size, 2, "both kinds in one map");
  t.equal(shared.get(1)?.kind, "AUDIO");
  t.equal(shared.get(2)?.kind, "VIDEO");
  for (let ssrc = 100; ssrc < 140; ssrc++) {
    audio.countPacket(ssrc, 1, 0, 160, 48_000, 1);
  }
  const audioSsrcs = [...shared.values()].filter((st) => st.kind === "AUDIO").length;
  t.equal(audioSsrcs, 8, "the audio SSRCs are bounded");
  t.ok(shared.has(2), "the video SSRC was not evicted by the audio flood");
  t.notOk(shared.has(1), "the oldest audio SSRC was");
  video.countPacket(2, 2, 3000, 1000, 90_000, 33);
  t.equal(shared.get(2)?.packets, 2, "the video stream's statistics went on");
  t.end();
});
