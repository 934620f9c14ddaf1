/**
 * The receive stream's per-SSRC statistics and the send stream's codec table, as the hot path reads them: the last
 * SSRC and the last codec are remembered (no Map lookup per packet), which must never hand a packet to the wrong
 * SSRC's statistics or keep a payload type a new negotiation replaced.
 */
import t from "tap";
import type { Logger } from "../../../../media/logger.js";
import { RateLimitedLog } from "../../../../media/logger.js";
import { RecvStream, newDiagnostics, type StreamOwner } from "../../../../media/endpoint/RecvStream.js";
import { SendStream } from "../../../../media/endpoint/SendStream.js";
import { StageChain } from "../../../../media/endpoint/stages/RtpStage.js";
import type { StreamCodec } from "../../../../media/endpoint/udpConfig.js";
import { RtpHeaderReader, buildRtp } from "../../../../media/rtp/RtpPacket.js";

const noop = (): void => undefined;
const logger: Logger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, child: () => logger };

const pcmu: StreamCodec = {
  codec: "pcmu",
  clockRate: 8000,
  recvPt: 0,
  sendPt: 0,
  parameters: undefined,
  channels: 1,
};

t.test("packets of interleaved SSRCs are counted to their own SSRC; a known SSRC coming back is no change", (t) => {
  const owner: StreamOwner = { elementId: "e", diagnostics: newDiagnostics(), log: new RateLimitedLog(logger), logger };
  const recv = new RecvStream("AUDIO", owner, new StageChain([]));
  const rd = new RtpHeaderReader();
  const feed = (ssrc: number, seq: number): void => {
    t.equal(rd.read(buildRtp(0, false, seq, seq * 160, ssrc, Buffer.alloc(160))), "ok");
    t.ok(recv.count(rd, pcmu, seq * 20), `ssrc ${ssrc} seq ${seq} passes`);
  };
  feed(1, 100);
  feed(1, 101);
  feed(2, 500);
  feed(1, 102);
  feed(2, 501);
  feed(2, 502);
  feed(1, 103);
  t.equal(recv.receivers.get(1)?.packets, 4, "SSRC 1: its 4 packets");
  t.equal(recv.receivers.get(2)?.packets, 3, "SSRC 2: its 3 packets");
  t.equal(recv.receivers.get(1)?.extendedHighestSeq, 103);
  t.equal(recv.receivers.get(2)?.extendedHighestSeq, 502);
  t.equal(owner.diagnostics.ssrcChanges, 1, "only the first packet of SSRC 2 was a new SSRC");
  t.equal(owner.diagnostics.seqResets, 0, "no SSRC's numbering looked reset");
  t.equal(recv.currentRemoteSsrc, 1);
  t.end();
});

t.test("the send stream's codec lookup follows a new negotiation's table", (t) => {
  const send = new SendStream("AUDIO");
  t.equal(send.codecFor("pcmu", 8000), undefined, "nothing negotiated yet");
  send.bySendKey = new Map([["pcmu/8000", { ...pcmu, sendPt: 0 }]]);
  t.equal(send.codecFor("pcmu", 8000)?.sendPt, 0);
  t.equal(send.codecFor("pcmu", 8000)?.sendPt, 0, "asked again");
  t.equal(send.codecFor("pcma", 8000), undefined, "another codec");
  t.equal(send.codecFor("pcmu", 16000), undefined, "another clock rate");
  send.bySendKey = new Map([["pcmu/8000", { ...pcmu, sendPt: 96 }]]);
  t.equal(send.codecFor("pcmu", 8000)?.sendPt, 96, "the re-negotiated payload type, not the remembered one");
  send.bySendKey = new Map();
  t.equal(send.codecFor("pcmu", 8000), undefined, "no longer negotiated");
  t.end();
});
