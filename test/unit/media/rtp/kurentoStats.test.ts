/**
 * getStats records from the stream statistics: every field RtpEndpoint and WebRtcEndpoint returned before their
 * statistics were merged (kurento-client reads them), with the values taken from the right counters.
 */
import t from "tap";
import { endpointRecord, latencyStat, streamRecord } from "../../../../media/rtp/kurentoStats.js";
import { RecvStreamStats, SendStreamStats } from "../../../../media/rtp/RtpStreamStats.js";

const COMMON = [
  "__module__",
  "__type__",
  "id",
  "type",
  "timestampMillis",
  "ssrc",
  "associateStatsId",
  "isRemote",
  "mediaTrackId",
  "transportId",
  "codecId",
  "firCount",
  "pliCount",
  "nackCount",
  "sliCount",
  "remb",
];

t.test("inboundrtp: RFC 3550 loss and jitter, the feedback we sent, the fraction the endpoint chose", (t) => {
  const rx = new RecvStreamStats(0xabcd, "VIDEO", 90_000);
  for (const seq of [1, 2, 4, 5]) {
    rx.update(seq, seq * 3000, 1000, seq * 33);
  }
  rx.feedback.pli = 2;
  rx.feedback.nack = 1;
  const r = streamRecord(rx, 1234, "dtls-1", { fractionLost: 0.5 });
  t.same(
    Object.keys(r).sort(),
    [...COMMON, "packetsReceived", "bytesReceived", "jitter", "packetsLost", "fractionLost"].sort(),
  );
  t.match(r, {
    __type__: "RTCInboundRTPStreamStats",
    type: "inboundrtp",
    id: String(0xabcd),
    ssrc: String(0xabcd),
    timestampMillis: 1234,
    transportId: "dtls-1",
    packetsReceived: 4,
    bytesReceived: 4000,
    packetsLost: 1,
    fractionLost: 0.5,
    pliCount: 2,
    firCount: 0,
    nackCount: 1,
  });
  t.equal(r["jitter"], rx.jitterSeconds, "jitter in seconds");
  rx.reportBlock(200);
  t.equal(streamRecord(rx, 0, "")["fractionLost"], Math.floor(256 / 5) / 256, "default: the last report's fraction");
  t.end();
});

t.test("outboundrtp: counts, the peer's report, RTT, and the PLI/FIR/NACK/REMB it sent", (t) => {
  const tx = new SendStreamStats(0x1111, "VIDEO", 90_000);
  tx.sent(0, 1200, 0);
  tx.sent(3000, 800, 33);
  tx.feedback.fir = 3;
  tx.remb = 750_000;
  const before = streamRecord(tx, 5, "");
  t.same(
    Object.keys(before).sort(),
    [...COMMON, "packetsSent", "bytesSent", "targetBitrate", "roundTripTime", "packetsLost", "fractionLost"].sort(),
  );
  t.match(before, { type: "outboundrtp", packetsSent: 2, bytesSent: 2000, roundTripTime: 0, packetsLost: 0 });
  t.match(before, { firCount: 3, targetBitrate: 750_000, remb: 750_000 });
  tx.report = {
    ssrc: 0x1111,
    fractionLost: 128,
    cumulativeLost: 9,
    extendedHighestSeq: 2,
    jitter: 4,
    lastSr: 0,
    delaySinceLastSr: 0,
  };
  tx.roundTripTime = 0.08;
  t.match(streamRecord(tx, 5, ""), { packetsLost: 9, fractionLost: 0.5, roundTripTime: 0.08 });
  t.match(streamRecord(tx, 5, "", { roundTripTime: 0.2 }), { roundTripTime: 0.2 }, "an RTT measured elsewhere");
  t.end();
});

t.test("endpoint record with its E2E latencies in nanoseconds", (t) => {
  t.same(endpointRecord("ep", 7, [latencyStat("AUDIO", 2)]), {
    __module__: "kurento",
    __type__: "EndpointStats",
    id: "ep",
    type: "endpoint",
    timestampMillis: 7,
    inputLatency: [],
    E2ELatency: [{ __module__: "kurento", __type__: "MediaLatencyStat", name: "default", type: "AUDIO", avg: 2e6 }],
  });
  t.end();
});
