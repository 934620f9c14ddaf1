/**
 * InbandDtmfSender → InbandDtmfReceiver through every codec a trunk may negotiate: the digits queued on the sender,
 * encoded in that codec 20 ms at a time, come out of the receiver's decoder + Goertzel detector once each, in order,
 * with their durations; gaps are encoded silence; a garbage payload is counted, not thrown.
 */
import t from "tap";
import { InbandDtmfReceiver } from "../../../../media/transcode/InbandDtmfReceiver.js";
import { InbandDtmfSender, type InbandFormat } from "../../../../media/transcode/InbandDtmfSender.js";

const FORMATS: InbandFormat[] = [
  { codec: "pcmu", clockRate: 8000, parameters: undefined },
  { codec: "pcma", clockRate: 8000, parameters: undefined },
  { codec: "g722", clockRate: 8000, parameters: undefined },
  { codec: "amr", clockRate: 8000, parameters: "octet-align=1" },
  { codec: "amr-wb", clockRate: 16000, parameters: undefined },
  { codec: "opus", clockRate: 48000, parameters: undefined },
];

for (const format of FORMATS) {
  t.test(`${format.codec}: 1, 5, # and D survive encoding and are detected once each`, async (t) => {
    const tx = new InbandDtmfSender(format);
    const rx = new InbandDtmfReceiver(format);
    t.teardown(() => {
      tx.close();
      rx.close();
    });
    t.equal(tx.ticksPerFrame, (format.clockRate * 20) / 1000, "20 ms of RTP clock per payload");
    t.equal(tx.nextFrame(), undefined, "idle: nothing to send");
    for (const d of ["1", "5", "#", "D"]) {
      tx.queue(d, 100, 60);
    }
    t.ok(tx.busy);
    const heard = [];
    let frames = 0;
    for (let payload = tx.nextFrame(); payload !== undefined; payload = tx.nextFrame()) {
      frames++;
      heard.push(...rx.push(payload));
    }
    heard.push(...rx.flush());
    t.equal(frames, 4 * 8, "each digit: 5 frames of tone and 3 of gap");
    t.notOk(tx.busy);
    t.same(
      heard.map((h) => h.digit),
      ["1", "5", "#", "D"],
    );
    for (const h of heard) {
      t.ok(Math.abs(h.durationMs - 100) <= 25, `${h.digit} lasted ${h.durationMs} ms`);
    }
    t.equal(rx.decodeErrors, 0);
  });
}

t.test("gapMs 0: digits follow each other without a silent frame", async (t) => {
  const tx = new InbandDtmfSender({ codec: "pcmu", clockRate: 8000, parameters: undefined });
  t.teardown(() => tx.close());
  tx.queue("1", 40, 0);
  tx.queue("2", 40, 0);
  let frames = 0;
  while (tx.nextFrame() !== undefined) {
    frames++;
  }
  t.equal(frames, 4, "2 × 40 ms of tone, nothing else");
});

t.test("clear() drops queued digits; garbage payloads are counted", async (t) => {
  const tx = new InbandDtmfSender({ codec: "pcmu", clockRate: 8000, parameters: undefined });
  tx.queue("9", 200, 50);
  t.ok(tx.nextFrame() !== undefined);
  tx.clear();
  t.notOk(tx.busy);
  t.equal(tx.nextFrame(), undefined);
  tx.close();
  const rx = new InbandDtmfReceiver({ codec: "amr", clockRate: 8000, parameters: undefined });
  t.same(rx.push(new Uint8Array([0xff, 0xff, 0xff])), []);
  t.same(rx.push(new Uint8Array(0)), []);
  t.ok(rx.decodeErrors >= 1, `decode errors counted (${rx.decodeErrors})`);
  rx.close();
  t.throws(() => new InbandDtmfSender({ codec: "speex", clockRate: 8000, parameters: undefined }));
});
