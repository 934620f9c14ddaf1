import t from "tap";
import { randomBytes } from "node:crypto";
import { SrtpStage, type SrtpStageOwner } from "../../../../../media/endpoint/stages/SrtpStage.js";
import { RateLimitedLog, type LogContext, type Logger } from "../../../../../media/logger.js";
import { buildReceiverReport, buildSdes, cnameChunk } from "../../../../../media/rtp/Rtcp.js";
import { buildRtp } from "../../../../../media/rtp/RtpPacket.js";
import { rtpHeaderFields } from "../../../../../media/srtp/rtpHeader.js";
import { SrtpSession } from "../../../../../media/srtp/SrtpSession.js";
import { dtlsProfileSuite, findSuite, type SrtpSuite } from "../../../../../media/srtp/SrtpSuite.js";

/** An owner whose warnings are kept (keys of the rate-limited log lines). */
function owner(): SrtpStageOwner & { warned: string[] } {
  const warned: string[] = [];
  const logger: Logger = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (msg: string, _ctx?: LogContext) => warned.push(msg),
    error: () => undefined,
    child: () => logger,
  };
  return {
    elementId: "ep-1",
    diagnostics: { srtpFailures: 0, malformedRtp: 0 },
    log: new RateLimitedLog(logger),
    warned,
  };
}

const suites: [string, SrtpSuite | undefined][] = [
  ["AES_CM_128_HMAC_SHA1_80 (SDES)", findSuite("AES_CM_128_HMAC_SHA1_80")],
  ["AEAD_AES_128_GCM (DTLS profile 7, RFC 7714)", dtlsProfileSuite(7)],
];

for (const [name, suite] of suites) {
  t.test(`${name}: RTP and RTCP round trip; tampered and replayed packets are counted and dropped`, (t) => {
    if (suite === undefined) {
      throw new Error(`no suite ${name}`);
    }
    const key = randomBytes(suite.keyLength + suite.saltLength);
    const a = owner();
    const b = owner();
    const sender = new SrtpStage(a, "AUDIO");
    const receiver = new SrtpStage(b, "AUDIO");
    const plain = buildRtp(0, false, 4711, 160_000, 0xdecafbad, Buffer.from("some speech-like payload"));
    t.equal(sender.rtpOut(plain), plain, "unkeyed: RTP passes unchanged");
    t.equal(receiver.rtpIn(plain), plain, "unkeyed: plain RTP is taken as it is");
    sender.keyOutbound(() => new SrtpSession(suite, key));
    receiver.keyInbound("k1", () => new SrtpSession(suite, key));

    const wire = sender.rtpOut(Buffer.from(plain));
    if (wire === undefined) {
      throw new Error("not protected");
    }
    t.equal(wire.length, plain.length + suite.rtpTagLength, "protected: the tag is added");
    t.notOk(wire.subarray(12, plain.length).equals(plain.subarray(12)), "payload encrypted");
    t.ok(receiver.rtpIn(wire)?.equals(plain), "unprotected: the original packet");
    t.equal(receiver.rtpIn(wire), undefined, "a replayed packet is dropped");
    t.equal(b.diagnostics.srtpFailures, 1, "and counted");

    const next = buildRtp(0, false, 4712, 160_160, 0xdecafbad, Buffer.from("the next packet"));
    const forged = sender.rtpOut(Buffer.from(next));
    if (forged === undefined) {
      throw new Error("not protected");
    }
    forged[14] = forged[14]! ^ 0x01;
    t.equal(receiver.rtpIn(forged), undefined, "a tampered packet is dropped");
    t.equal(b.diagnostics.srtpFailures, 2, "and counted");
    t.same(b.warned, ["dropping an SRTP packet: replay", "dropping an SRTP packet: auth-failed"], "logged");
    t.equal(receiver.rtpIn(Buffer.from([0x80, 0, 0, 1])), undefined, "a header too short to unprotect is dropped");
    t.equal(b.diagnostics.malformedRtp, 1, "as malformed RTP");

    const rtcp = Buffer.concat([
      buildReceiverReport({ ssrc: 0xdecafbad, reports: [] }),
      buildSdes([cnameChunk(0xdecafbad, "stage@korus")]),
    ]);
    const srtcp = sender.rtcpOut(Buffer.from(rtcp));
    if (srtcp === undefined) {
      throw new Error("RTCP not protected");
    }
    t.ok(srtcp.length > rtcp.length, "SRTCP: index and tag added");
    t.ok(receiver.rtcpIn(srtcp)?.equals(rtcp), "SRTCP unprotected: the original compound packet");
    t.equal(receiver.rtcpIn(srtcp), undefined, "a replayed SRTCP packet is dropped");
    srtcp[10] = srtcp[10]! ^ 0x80;
    t.equal(receiver.rtcpIn(srtcp), undefined, "a tampered SRTCP packet is dropped");
    t.equal(b.diagnostics.srtpFailures, 4, "both counted");
    t.equal(a.diagnostics.srtpFailures + a.diagnostics.malformedRtp, 0, "the sender counted nothing");
    t.end();
  });

  t.test(`${name}: the header-fields shape of the fast path`, (t) => {
    if (suite === undefined) {
      throw new Error(`no suite ${name}`);
    }
    const key = randomBytes(suite.keyLength + suite.saltLength);
    const a = owner();
    const b = owner();
    const sender = new SrtpStage(a, undefined, undefined, new SrtpSession(suite, key));
    const receiver = new SrtpStage(b, undefined, new SrtpSession(suite, key));
    const h = rtpHeaderFields();
    h.ssrc = 0x11223344;
    h.payloadType = 111;
    h.sequenceNumber = 65535;
    h.timestamp = 48_000;
    h.marker = true;
    const payload = Buffer.from("opus frame");
    const wire = sender.protectFields(h, payload);
    if (wire === undefined) {
      throw new Error("not protected");
    }
    const got = rtpHeaderFields();
    t.ok(receiver.unprotectFields(wire, got)?.equals(payload), "payload back");
    t.same(
      [got.ssrc, got.payloadType, got.sequenceNumber, got.timestamp, got.marker],
      [0x11223344, 111, 65535, 48_000, true],
    );
    t.equal(receiver.unprotectFields(wire, got), undefined, "replay dropped");
    t.equal(b.diagnostics.srtpFailures, 1, "counted");
    t.equal(new SrtpStage(owner()).unprotectFields(wire, got), undefined, "an unkeyed stage unprotects nothing");
    t.equal(new SrtpStage(owner()).protectFields(h, payload), undefined, "nor protects");
    t.end();
  });
}

t.test("a re-offer with the same key keeps the inbound session (replay window and ROC); a new key replaces it", (t) => {
  const suite = findSuite("AES_CM_128_HMAC_SHA1_80");
  if (suite === undefined) {
    throw new Error("suite");
  }
  const k1 = randomBytes(30);
  const k2 = randomBytes(30);
  const tx1 = new SrtpStage(owner());
  tx1.keyOutbound(() => new SrtpSession(suite, k1));
  let made = 0;
  tx1.keyOutbound(() => {
    made++;
    return new SrtpSession(suite, k2);
  });
  t.equal(made, 0, "our key is made once");
  const rx = new SrtpStage(owner());
  rx.keyInbound("k1", () => new SrtpSession(suite, k1));
  const wire = tx1.rtpOut(buildRtp(0, false, 1, 0, 7, Buffer.alloc(20)));
  if (wire === undefined) {
    throw new Error("not protected");
  }
  t.ok(rx.rtpIn(wire), "accepted");
  rx.keyInbound("k1", () => new SrtpSession(suite, k1));
  t.equal(rx.rtpIn(wire), undefined, "same key: the session (and its replay window) survived");
  rx.keyInbound("k2", () => new SrtpSession(suite, k2));
  t.equal(rx.rtpIn(wire), undefined, "new key: the old key's packets fail");
  const tx2 = new SrtpStage(owner());
  tx2.keyOutbound(() => new SrtpSession(suite, k2));
  const wire2 = tx2.rtpOut(buildRtp(0, false, 1, 0, 7, Buffer.alloc(20)));
  t.ok(wire2 !== undefined && rx.rtpIn(wire2), "and the new key's are taken");
  rx.close();
  let created = false;
  rx.keyInbound("k1", () => {
    created = true;
    return new SrtpSession(suite, k1);
  });
  t.notOk(created, "after close no key is taken");
  const wire3 = tx2.rtpOut(buildRtp(0, false, 2, 160, 7, Buffer.alloc(20)));
  t.ok(wire3 !== undefined && rx.rtpIn(wire3), "the key in use is kept (never a plain pass-through)");
  t.equal(rx.rtpIn(buildRtp(0, false, 3, 320, 7, Buffer.alloc(20))), undefined, "plain RTP is refused");
  t.end();
});
