import t from "tap";
import { buildRtp, parseRtpHeader } from "../../../../media/rtp/RtpPacket.js";
import {
  DtmfDetector,
  DtmfParseError,
  TimestampRescaler,
  buildTelephoneEvent,
  digitOf,
  dtmfPackets,
  eventOf,
  parseTelephoneEvent,
  remapPayloadType,
  rescaleDuration,
} from "../../../../media/rtp/dtmf.js";

t.test("payload layout (RFC 4733 §2.3) and the 16 DTMF events", (t) => {
  const p = buildTelephoneEvent({ event: 11, end: true, volume: 10, duration: 1600 });
  t.same([...p], [11, 0x80 | 10, 0x06, 0x40]);
  t.same(parseTelephoneEvent(p), { event: 11, end: true, volume: 10, duration: 1600 });
  t.equal(digitOf(11), "#");
  t.equal(digitOf(10), "*");
  t.equal(digitOf(15), "D");
  t.equal(digitOf(32), undefined);
  t.equal(eventOf("a"), 12);
  t.equal(eventOf("x"), undefined);
  t.throws(() => parseTelephoneEvent(Buffer.alloc(3)), DtmfParseError);
  t.end();
});

t.test("generated series: marker on the first, growing durations, end sent 3 times", (t) => {
  const pk = dtmfPackets("5", 200, 8000, 50);
  const evs = pk.map((p) => parseTelephoneEvent(p.payload));
  t.same(
    pk.map((p) => p.marker),
    [true, false, false, false, false, false],
  );
  t.same(
    evs.map((e) => e.duration),
    [400, 800, 1200, 1600, 1600, 1600],
  );
  t.same(
    evs.map((e) => e.end),
    [false, false, false, true, true, true],
  );
  t.ok(evs.every((e) => e.event === 5 && e.volume === 10));
  t.same(
    pk.map((p) => p.offsetMs),
    [50, 100, 150, 200, 200, 200],
  );
  // 48 kHz clock: same times, 6x the ticks.
  t.equal(parseTelephoneEvent(dtmfPackets("5", 200, 48000)[5]?.payload ?? Buffer.alloc(4)).duration, 9600);
  t.throws(() => dtmfPackets("Z", 100, 8000), DtmfParseError);
  t.end();
});

t.test("detector: one digit per event despite the triple end; lost end recovered at the next event", (t) => {
  const d = new DtmfDetector();
  const got: string[] = [];
  const feed = (ts: number, digit: string, ms: number, dropEnds = false): void => {
    for (const p of dtmfPackets(digit, ms, 8000)) {
      if (dropEnds && parseTelephoneEvent(p.payload).end) {
        continue;
      }
      for (const x of d.push(ts, p.payload, 8000)) {
        got.push(`${x.digit}:${x.durationMs}`);
      }
    }
  };
  feed(1000, "1", 100);
  feed(5000, "#", 160, true); // all ends lost
  feed(9000, "9", 240);
  t.same(got, ["1:100", "#:150", "9:240"], "the lost-end digit reports its last update's duration");
  // Late retransmission of an old end changes nothing.
  t.same(d.push(1000, buildTelephoneEvent({ event: 1, end: true, volume: 10, duration: 800 }), 8000), []);
  t.end();
});

t.test("clock rescaling and payload type remapping", (t) => {
  t.equal(rescaleDuration(1600, 8000, 48000), 9600);
  t.equal(rescaleDuration(9600, 48000, 8000), 1600);
  const r = new TimestampRescaler(8000, 48000, 0xffff_ff00);
  t.equal(r.map(160), 0xffff_ff00);
  t.equal(r.map(320), (0xffff_ff00 + 960) >>> 0, "wraps on the output side");
  t.equal(r.map(0), (0xffff_ff00 - 960) >>> 0, "earlier timestamps map before the base");
  const w = new TimestampRescaler(48000, 8000);
  t.equal(w.map(0xffff_fc40), 0);
  t.equal(w.map(0x0000_0000), 160, "wrap on the input side");
  const pkt = buildRtp(101, true, 1, 2, 3, Buffer.alloc(4));
  t.ok(remapPayloadType(pkt, new Map([[101, 126]])));
  const h = parseRtpHeader(pkt);
  t.equal(h.payloadType, 126);
  t.equal(h.marker, true, "marker kept");
  t.notOk(remapPayloadType(pkt, new Map([[0, 8]])), "unmapped PT left alone");
  t.equal(parseRtpHeader(pkt).payloadType, 126);
  t.end();
});
