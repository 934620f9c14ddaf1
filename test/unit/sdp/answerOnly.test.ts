/**
 * Answer-only capabilities (issue 13 §1): an H.264 variant accepted in answers is never written into our offers, and
 * an H.264 payload type offered without fmtp is answered as RFC 6184 §8.1 reads it (packetization-mode 0, 42000A).
 */
import t from "tap";
import { SessionDescription, createAnswer, createOffer, type Capabilities } from "../../../sdp/index.js";

const CAPS: Capabilities = {
  video: [
    { name: "VP8", clockRate: 90000, preferredPayloadType: 96 },
    {
      name: "H264",
      clockRate: 90000,
      parameters: "packetization-mode=1;profile-level-id=42e01f",
      preferredPayloadType: 102,
    },
    { name: "H264", clockRate: 90000, parameters: "packetization-mode=0;profile-level-id=42001f", answerOnly: true },
  ],
};

const OFFER = [
  "v=0",
  "o=- 1 1 IN IP4 192.0.2.1",
  "s=-",
  "c=IN IP4 192.0.2.1",
  "t=0 0",
  "m=video 5000 RTP/AVP 96 97",
  "a=rtpmap:96 H264/90000",
  "a=rtpmap:97 MP4V-ES/90000",
  "a=recvonly",
  "",
].join("\r\n");

t.test("an answer-only capability is not offered", async (t) => {
  const offer = createOffer(CAPS, { address: "192.0.2.2", port: 4000 }).toString();
  t.match(offer, /^m=video 4000 RTP\/AVP 96 102$/m);
  t.equal((offer.match(/H264/g) ?? []).length, 1, "one H264 payload type");
  t.notMatch(offer, /packetization-mode=0/);
});

t.test("H.264 without fmtp is answered with mode 0 and the Baseline profile", async (t) => {
  const a = createAnswer(SessionDescription.parse(OFFER), CAPS, { address: "192.0.2.2", port: 4000 });
  const text = a.sdp.toString();
  t.match(text, /^m=video 4000 RTP\/AVP 96$/m);
  t.match(text, /a=fmtp:96 packetization-mode=0;profile-level-id=42000a/);
  t.equal(a.media[0]?.codecs[0]?.name, "H264");
});

t.test("without the answer-only variant the same offer has no common codec", async (t) => {
  const strict: Capabilities = { video: (CAPS.video ?? []).filter((c) => c.answerOnly !== true) };
  t.throws(() => createAnswer(SessionDescription.parse(OFFER), strict, { address: "192.0.2.2", port: 4000 }), {
    name: "SdpNegotiationError",
  });
});
