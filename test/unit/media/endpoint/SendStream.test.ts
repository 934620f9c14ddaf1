/**
 * SendStream, the one send stream of every endpoint: it rewrites numbering across source switches, adds the
 * wire offsets it was asked for, hands the packet to the transport and counts only what the transport sent (with
 * the wire timestamp, which an SR extrapolates from), and keeps the E2E latency.
 */
import t from "tap";
import type { RtpMediaKind } from "../../../../media/core/types.js";
import { SendStream } from "../../../../media/endpoint/SendStream.js";
import type { OutgoingRtp } from "../../../../media/endpoint/SendStream.js";
import type { SendResult, Transport } from "../../../../media/endpoint/Transport.js";

interface Sent {
  kind: RtpMediaKind;
  pt: number;
  codec: string;
  seq: number;
  ts: number;
  marker: boolean;
  bytes: number;
}

/** A transport that records what it is given and answers `result`. */
class FakeTransport implements Transport {
  result: SendResult = "sent";
  readonly sent: Sent[] = [];
  sendRtp(
    kind: RtpMediaKind,
    pt: number,
    codec: string,
    seq: number,
    ts: number,
    marker: boolean,
    payload: Uint8Array,
  ): SendResult {
    this.sent.push({ kind, pt, codec, seq, ts, marker, bytes: payload.byteLength });
    return this.result;
  }
  requestKeyframe(): undefined {
    return undefined;
  }
  close(): void {
    this.result = "not-ready";
  }
}

const pkt = (ssrc: number, seq: number, timestamp: number, bytes = 160): OutgoingRtp => ({
  ssrc,
  sequenceNumber: seq,
  timestamp,
  clockRate: 8000,
  payload: new Uint8Array(bytes),
  codec: "pcmu",
});

t.test("without offsets the first source's numbering passes through; a switch continues it", (t) => {
  const tr = new FakeTransport();
  const s = new SendStream("AUDIO");
  const a = {};
  const b = {};
  s.send(tr, 0, true, a, pkt(1, 100, 8000), performance.now());
  s.send(tr, 0, false, a, pkt(1, 101, 8160), performance.now());
  s.send(tr, 0, false, b, pkt(2, 5000, 90), performance.now());
  t.same(
    tr.sent.map((x) => x.seq),
    [100, 101, 102],
    "sequence continues across the switch",
  );
  t.same(
    tr.sent.slice(0, 2).map((x) => x.ts),
    [8000, 8160],
    "first source's timestamps unchanged",
  );
  t.ok(tr.sent[2]!.ts > 8160, "the new source's timestamp moves on");
  t.same(
    tr.sent.map((x) => [x.kind, x.pt, x.codec, x.marker]),
    [
      ["AUDIO", 0, "pcmu", true],
      ["AUDIO", 0, "pcmu", false],
      ["AUDIO", 0, "pcmu", false],
    ],
    "kind, payload type, codec and marker reach the transport",
  );
  t.equal(s.stats.ssrc, s.localSsrc, "the statistics are of our SSRC");
  t.equal(s.stats.packets, 3);
  t.equal(s.stats.bytes, 480);
  t.end();
});

t.test("only what the transport sent is counted; `sender` exists once something was", (t) => {
  const tr = new FakeTransport();
  const s = new SendStream("AUDIO");
  tr.result = "not-ready";
  t.equal(s.send(tr, 0, false, tr, pkt(1, 1, 0), performance.now()), "not-ready");
  tr.result = "no-codec";
  t.equal(s.send(tr, 0, false, tr, pkt(1, 2, 160), performance.now()), "no-codec");
  t.equal(s.stats.packets, 0, "nothing counted");
  t.equal(s.sender, undefined, "no sender statistics before the first packet");
  t.equal(s.e2eMs, undefined, "no latency either");
  tr.result = "sent";
  t.equal(s.send(tr, 0, false, tr, pkt(1, 3, 320, 80), performance.now() - 10), "sent");
  t.equal(s.sender, s.stats, "the one statistics object once sent");
  t.equal(s.stats.packets, 1);
  t.equal(s.stats.bytes, 80);
  t.ok(s.e2eMs !== undefined && s.e2eMs >= 10 && s.e2eMs < 1000, `E2E latency from arrival (${s.e2eMs} ms)`);
  t.end();
});

t.test("with a given SSRC and random offsets: constant wire offsets, counted on the wire timestamp", (t) => {
  const tr = new FakeTransport();
  const s = new SendStream("VIDEO", { ssrc: 0xdead_beef, clockRate: 90_000, randomOffsets: true });
  t.equal(s.localSsrc, 0xdead_beef);
  t.equal(s.stats.ssrc, 0xdead_beef);
  t.equal(s.stats.clockRate, 90_000);
  const src = {};
  for (let i = 0; i < 5; i++) {
    s.send(tr, 96, false, src, { ...pkt(7, 65_533 + i, 3000 * i), clockRate: 90_000 }, performance.now());
  }
  const seqOffsets = new Set(tr.sent.map((x, i) => (x.seq - ((65_533 + i) & 0xffff) + 0x1_0000) & 0xffff));
  const tsOffsets = new Set(tr.sent.map((x, i) => (x.ts - 3000 * i + 0x1_0000_0000) % 0x1_0000_0000));
  t.equal(seqOffsets.size, 1, "one constant sequence offset, across the 16-bit wrap");
  t.equal(tsOffsets.size, 1, "one constant timestamp offset");
  t.ok(
    tr.sent.every((x) => x.seq >= 0 && x.seq <= 0xffff && x.ts >= 0 && x.ts <= 0xffff_ffff),
    "in range",
  );
  const last = tr.sent.at(-1)!.ts;
  const at = s.stats.rtpTimestampAt(performance.now());
  t.ok((at - last + 0x1_0000_0000) % 0x1_0000_0000 < 90_000, "an SR extrapolates from the wire timestamp");
  t.end();
});
