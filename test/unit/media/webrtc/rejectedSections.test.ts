/**
 * media/webrtc/rejectedSections: a browser offer's m=application taken out before werift and put back into the
 * answer with port 0 (RFC 3264 §6), out of the BUNDLE group, at its offer position; candidates aimed at it retargeted.
 */
import t from "tap";
import {
  rejectApplicationSections,
  restoreRejectedSections,
  retargetCandidate,
} from "../../../../media/webrtc/rejectedSections.js";

const OFFER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1 2",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "c=IN IP4 0.0.0.0",
  "a=mid:0",
  "a=sctp-port:5000",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "c=IN IP4 0.0.0.0",
  "a=mid:1",
  "a=rtpmap:111 opus/48000/2",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "c=IN IP4 0.0.0.0",
  "a=mid:2",
  "a=rtpmap:96 VP8/90000",
  "",
].join("\r\n");

t.test("an offer without m=application is passed as it is", async (t) => {
  const plain = OFFER.replace(/m=application[^]*?(?=m=audio)/, "");
  const r = rejectApplicationSections(plain);
  t.equal(r.sdp, plain);
  t.same(r.rejected, []);
  t.equal(restoreRejectedSections("v=0\r\n", r.rejected), "v=0\r\n");
});

t.test("the data section leaves the offer and the BUNDLE group, and comes back rejected in the answer", async (t) => {
  const { sdp, rejected } = rejectApplicationSections(OFFER);
  t.notMatch(sdp, /m=application/);
  t.match(sdp, /^a=group:BUNDLE 1 2$/m);
  t.match(sdp, /m=audio[^]*m=video/);
  t.equal(rejected.length, 1);
  t.equal(rejected[0]?.index, 0);
  t.equal(rejected[0]?.mid, "0");
  const answer = [
    "v=0",
    "o=- 3 4 IN IP4 127.0.0.1",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 1 2",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "a=mid:1",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "a=mid:2",
    "",
  ].join("\r\n");
  const full = restoreRejectedSections(answer, rejected);
  const mlines = full.split("\r\n").filter((l) => l.startsWith("m="));
  t.same(mlines, [
    "m=application 0 UDP/DTLS/SCTP webrtc-datachannel",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
  ]);
  t.match(full, /m=application 0 UDP\/DTLS\/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\nm=audio/);
  t.match(full, /^a=group:BUNDLE 1 2$/m, "the BUNDLE group stays without it");
  t.ok(full.endsWith("\r\n"));
});

t.test("a candidate for the rejected section goes to the first kept one; indexes shift", async (t) => {
  const { rejected } = rejectApplicationSections(OFFER);
  t.same(retargetCandidate({ candidate: "c", sdpMid: "0", sdpMLineIndex: 0 }, rejected, "1"), {
    candidate: "c",
    sdpMid: "1",
    sdpMLineIndex: undefined,
  });
  t.same(retargetCandidate({ candidate: "c", sdpMid: "2", sdpMLineIndex: 2 }, rejected, "1"), {
    candidate: "c",
    sdpMid: "2",
    sdpMLineIndex: 2,
  });
  t.same(retargetCandidate({ candidate: "c", sdpMLineIndex: 2 }, rejected, "1"), { candidate: "c", sdpMLineIndex: 1 });
  t.same(retargetCandidate({ candidate: "c", sdpMid: "0" }, [], "1"), { candidate: "c", sdpMid: "0" });
});
