/**
 * The negotiated codecs the console shows per live call (src/admin/codecs.ts): the first real codec of each kind
 * in the answer, whichever side made it; nothing before an answer, nothing for a rejected section.
 */
import t from "tap";
import { negotiatedCodecs } from "../../../../src/admin/codecs.js";

const sdp = (...media: string[]): string =>
  ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0", ...media, ""].join("\r\n");

const offer = sdp(
  "m=audio 5000 RTP/AVP 111 0 8 101",
  "a=rtpmap:111 opus/48000/2",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "m=video 5002 RTP/AVP 96 97 98",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:98 H264/90000",
);
const answer = sdp(
  "m=audio 6000 RTP/AVP 8 101",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "m=video 6002 RTP/AVP 98 96",
  "a=rtpmap:98 H264/90000",
  "a=rtpmap:96 VP8/90000",
);

t.test("the answer's first codec of each kind, whichever side answered", async (t) => {
  t.same(negotiatedCodecs(answer, offer), { audio: "PCMA", video: "H264" }, "Korus answered (processOffer)");
  t.same(negotiatedCodecs(offer, answer), { audio: "PCMA", video: "H264" }, "Korus offered (generateOffer)");
});

t.test("spelled as the CDRs spell codecs", async (t) => {
  const upper = sdp(
    "m=audio 6000 RTP/AVP 111",
    "a=rtpmap:111 OPUS/48000/2",
    "m=video 6002 RTP/AVP 96",
    "a=rtpmap:96 vp8/90000",
  );
  const lower = sdp(
    "m=audio 5000 RTP/AVP 111",
    "a=rtpmap:111 opus/48000/2",
    "m=video 5002 RTP/AVP 96",
    "a=rtpmap:96 VP8/90000",
  );
  t.same(negotiatedCodecs(upper, lower), { audio: "opus", video: "VP8" });
});

t.test("auxiliary formats are never the codec", async (t) => {
  const dtmfFirst = sdp("m=audio 6000 RTP/AVP 101 0", "a=rtpmap:101 telephone-event/8000", "a=rtpmap:0 PCMU/8000");
  t.same(negotiatedCodecs(dtmfFirst, offer), { audio: "PCMU", video: null });
  const rtxFirst = sdp("m=video 6002 RTP/AVP 97 96", "a=rtpmap:97 rtx/90000", "a=rtpmap:96 VP8/90000");
  t.same(negotiatedCodecs(rtxFirst, offer), { audio: null, video: "VP8" });
});

t.test("no codec before an answer, for a rejected section, or for bad SDP", async (t) => {
  t.same(negotiatedCodecs(offer, undefined), { audio: null, video: null }, "an offer alone");
  t.same(negotiatedCodecs(undefined, undefined), { audio: null, video: null });
  const rejected = sdp(
    "m=audio 6000 RTP/AVP 8",
    "a=rtpmap:8 PCMA/8000",
    "m=video 0 RTP/AVP 96",
    "a=rtpmap:96 VP8/90000",
  );
  t.same(negotiatedCodecs(rejected, offer), { audio: "PCMA", video: null }, "video rejected (port 0)");
  t.same(negotiatedCodecs("not sdp", offer), { audio: null, video: null });
});
