import t from "tap";
import type { MediaPacket } from "../../../../../media/core/types.js";
import { DtmfInjectStage } from "../../../../../media/endpoint/stages/DtmfInjectStage.js";
import { DtmfParseError, parseTelephoneEvent } from "../../../../../media/rtp/dtmf.js";
import { MockStream } from "./mockStream.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test("an injected digit is an RFC 4733 event in the peer's timeline; the peer's audio waits for it", async (t) => {
  const out: MediaPacket[] = [];
  const stage = new DtmfInjectStage((p) => out.push(p));
  const audio = new MockStream();
  const last = audio.next(Buffer.alloc(160));
  t.equal(stage.onRtp(last), true, "audio passes while no event plays");
  t.throws(() => stage.inject("x", 100), DtmfParseError);
  stage.inject("7", 60);
  t.equal(stage.active, true);
  t.equal(stage.onRtp(audio.next(Buffer.alloc(160))), false, "the peer's audio is held back during the event");
  t.equal(
    stage.onRtp(new MockStream({ codec: "telephone-event", payloadType: 101 }).next(Buffer.alloc(4))),
    true,
    "telephone-events from the peer are not held",
  );
  await sleep(200);
  t.equal(stage.active, false, "the event ended");
  t.equal(stage.onRtp(audio.next(Buffer.alloc(160))), true);
  t.ok(out.length >= 4, "start, update(s) and three ends");
  t.equal(out[0]?.marker, true);
  t.equal(out[0]?.codec, "telephone-event");
  const ts = out[0]!.timestamp;
  t.ok(
    out.every((p) => p.timestamp === ts),
    "one timestamp for the event",
  );
  const delta = (ts - last.timestamp) >>> 0;
  t.ok(delta < 8 * 100, `placed just after the peer's last audio (${delta} ticks)`);
  const ends = out.filter((p) => parseTelephoneEvent(p.payload).end);
  t.equal(ends.length, 3);
  t.ok(out.every((p, i) => i === 0 || p.sequenceNumber === ((out[i - 1]!.sequenceNumber + 1) & 0xffff)));
  stage.close();
  stage.inject("1", 100);
  await sleep(20);
  t.equal(stage.active, false, "nothing plays after close");
});
