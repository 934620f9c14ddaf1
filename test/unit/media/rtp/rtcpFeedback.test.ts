/**
 * The RTCP feedback codec against two independent implementations: what Korus builds is read back by werift's and
 * rtp.js's parsers, and what werift builds (REMB, NACK) is read by Korus's readers.
 */
import { NackPacket, PliPacket, parseNackItem } from "rtp.js/packets";
import t from "tap";
import {
  GenericNack,
  ReceiverEstimatedMaxBitrate,
  RtcpPacketConverter,
  RtcpPayloadSpecificFeedback,
  RtcpTransportLayerFeedback,
} from "werift";
import { parseRtcp, type RtcpOther } from "../../../../media/rtp/Rtcp.js";
import { buildFir, buildNack, buildPli, firTargets, nackLost, readRemb } from "../../../../media/rtp/rtcpFeedback.js";

const view = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function other(b: Buffer): RtcpOther {
  const p = parseRtcp(b)[0];
  if (p?.type !== "other") {
    throw new Error(`not a feedback packet: ${p?.type ?? "nothing"}`);
  }
  return p;
}

/** werift's view of a PSFB packet: FMT and the fields of its feedback object. */
function weriftPsfb(b: Buffer): { count: number; senderSsrc?: number; mediaSsrc?: number; fir?: unknown } {
  const p = RtcpPacketConverter.deSerialize(b)[0];
  if (!(p instanceof RtcpPayloadSpecificFeedback)) {
    throw new Error("werift did not read a PSFB packet");
  }
  return p.feedback;
}

t.test("PLI: werift and rtp.js read sender and media SSRC", (t) => {
  const b = buildPli(1, 0xdead_beef);
  t.equal(b.length, 12);
  const w = weriftPsfb(b);
  t.equal(w.count, 1);
  t.equal(w.senderSsrc, 1);
  t.equal(w.mediaSsrc, 0xdead_beef);
  const r = new PliPacket(view(b));
  t.equal(r.getSenderSsrc(), 1);
  t.equal(r.getMediaSsrc(), 0xdead_beef);
  t.same(firTargets(other(b)), [], "a PLI has no FIR targets");
  t.end();
});

t.test("FIR: one FCI entry with the target SSRC and sequence number (RFC 5104 §4.3.1)", (t) => {
  const b = buildFir(0x1234, 0xc0ff_ee00, 257);
  t.equal(b.length, 20);
  const w = weriftPsfb(b);
  t.equal(w.count, 4);
  t.same(w.fir, [{ ssrc: 0xc0ff_ee00, sequenceNumber: 1 }], "sequence number modulo 256");
  t.equal(w.mediaSsrc, 0, "media source field 0");
  t.same(firTargets(other(b)), [0xc0ff_ee00]);
  t.end();
});

t.test("NACK: PID/BLP items that rtp.js expands to the same lost list, across the wrap", (t) => {
  const lost = [65_534, 65_535, 0, 1, 17, 18, 100, 117, 118];
  const b = buildNack(1, 0x5555, lost);
  const r = new NackPacket(view(b));
  t.equal(r.getSenderSsrc(), 1);
  t.equal(r.getMediaSsrc(), 0x5555);
  const items = r.getItems();
  t.same(
    items.map((i) => i.pid),
    [65_534, 17, 100, 117],
    "a new item where the gap is 16 or more",
  );
  t.same(
    items.flatMap((i) => parseNackItem(i.pid, i.bitmask)).map((s) => s & 0xffff),
    lost,
  );
  t.same(nackLost(other(b)), lost, "our reader too");
  t.same(nackLost(other(buildPli(1, 2))), [], "a PLI is not a NACK");
  t.end();
});

t.test("NACK built by werift is read by nackLost", (t) => {
  const nack = new RtcpTransportLayerFeedback({
    feedback: new GenericNack({ senderSsrc: 7, mediaSourceSsrc: 8, lost: [10, 12, 40] }),
  });
  const p = other(nack.serialize());
  t.equal(p.mediaSsrc, 8);
  t.same(nackLost(p), [10, 12, 40]);
  t.end();
});

t.test("REMB built by werift: bitrate and SSRCs; other AFB messages are not REMB", (t) => {
  const remb = new RtcpPayloadSpecificFeedback({
    feedback: new ReceiverEstimatedMaxBitrate({
      senderSsrc: 1,
      mediaSsrc: 0,
      brExp: 3,
      brMantissa: 250_000,
      ssrcNum: 2,
      ssrcFeedbacks: [0xaaaa, 0xbbbb],
    }),
  });
  t.same(readRemb(other(remb.serialize())), { bitrate: 2_000_000, ssrcs: [0xaaaa, 0xbbbb] });
  const afb = Buffer.from(remb.serialize());
  afb.write("XXXX", 12, "latin1");
  t.equal(readRemb(other(afb)), undefined, "AFB without the REMB identifier");
  t.equal(readRemb(other(buildPli(1, 2))), undefined, "a PLI");
  t.end();
});
