import t from "tap";
import { Rfc4733DtmfStage } from "../../../../../media/endpoint/stages/Rfc4733DtmfStage.js";
import { dtmfPackets } from "../../../../../media/rtp/dtmf.js";
import { MockStream } from "./mockStream.js";

t.test("telephone-events become one digit per key press, at the end packet; audio passes untouched", (t) => {
  const digits: string[] = [];
  let short = 0;
  const stage = new Rfc4733DtmfStage({
    onDigit: (d, ms) => digits.push(`${d}/${ms}`),
    onShortPayload: () => short++,
  });
  const audio = new MockStream();
  const events = new MockStream({ codec: "telephone-event", payloadType: 101 });
  t.ok(stage.onRtp(audio.next(Buffer.alloc(160))));
  for (const digit of ["5", "#"]) {
    const first = events.next(Buffer.alloc(0), {}, 800);
    for (const p of dtmfPackets(digit, 100, 8000)) {
      t.ok(stage.onRtp(events.next(p.payload, { timestamp: first.timestamp }, 0)), "events travel on");
    }
  }
  t.same(digits, ["5/100", "#/100"], "each digit once, although its end was sent three times");
  t.ok(stage.onRtp(events.next(Buffer.alloc(3))));
  t.equal(short, 1, "a short payload is reported, not parsed");
  t.equal(digits.length, 2);
  stage.close();
  t.end();
});
