import t from "tap";
import { InbandDtmfStage } from "../../../../../media/endpoint/stages/InbandDtmfStage.js";
import { InbandDtmfSender, type InbandFormat } from "../../../../../media/transcode/InbandDtmfSender.js";
import { MockStream } from "./mockStream.js";

const PCMU: InbandFormat = { codec: "pcmu", clockRate: 8000, parameters: undefined };

function tones(digits: string): Uint8Array[] {
  const tx = new InbandDtmfSender(PCMU);
  for (const d of digits) {
    tx.queue(d, 120, 80);
  }
  const frames: Uint8Array[] = [];
  for (let f = tx.nextFrame(); f !== undefined; f = tx.nextFrame()) {
    frames.push(f);
  }
  tx.close();
  for (let i = 0; i < 10; i++) {
    frames.push(Buffer.alloc(160, 0xff)); // µ-law silence: the last tone ends
  }
  return frames;
}

t.test("tones in the peer's audio become digits while enabled; the format is asked once", (t) => {
  const digits: string[] = [];
  let lookups = 0;
  const stage = new InbandDtmfStage({
    formatOf: (pt) => {
      lookups++;
      return pt === 0 ? PCMU : undefined;
    },
    onDigit: (d) => digits.push(d),
    onUnavailable: () => t.fail("PCMU has a decoder"),
  });
  const s = new MockStream();
  const frames = tones("19");
  for (const f of frames) {
    t.equal(stage.onRtp(s.next(f)), true);
  }
  t.same(digits, [], "disabled: nothing detected");
  t.equal(lookups, 0);
  stage.enabled = true;
  for (const f of tones("19")) {
    stage.onRtp(s.next(f));
  }
  t.same(digits, ["1", "9"]);
  t.equal(lookups, 1, "the format is looked up once, not per packet");
  stage.onRtp(new MockStream({ codec: "telephone-event", payloadType: 101 }).next(Buffer.alloc(4)));
  t.equal(lookups, 1, "telephone-events are not audio");
  stage.reset();
  stage.onRtp(s.next(Buffer.alloc(160, 0xff)));
  t.equal(lookups, 2, "a reset (renegotiation) asks again");
  stage.close();
  t.end();
});

t.test("no decoder for the peer's codec: reported once, and nothing thrown", (t) => {
  const failures: unknown[] = [];
  const stage = new InbandDtmfStage({
    formatOf: () => ({ codec: "nosuchcodec", clockRate: 8000, parameters: undefined }),
    onDigit: () => t.fail("no digit"),
    onUnavailable: (err) => {
      failures.push(err);
      stage.enabled = false;
    },
  });
  stage.enabled = true;
  const s = new MockStream({ codec: "nosuchcodec", payloadType: 120 });
  t.equal(stage.onRtp(s.next(Buffer.alloc(160))), true);
  t.equal(stage.onRtp(s.next(Buffer.alloc(160))), true);
  t.equal(failures.length, 1);
  t.end();
});
