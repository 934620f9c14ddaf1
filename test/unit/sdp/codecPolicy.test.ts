/** A trunk's codec policy on the SDP model (moved from src/sip/codecs.ts), and MediaDescription.retainFormats. */
import t from "tap";
import {
  firstAudioCodec,
  NoAllowedCodecError,
  restrictCodecs,
  SdpNegotiationError,
  SessionDescription,
} from "../../../sdp/index.js";

const OFFER = [
  "v=0",
  "o=- 1 1 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  "m=audio 4000 RTP/AVP 111 0 8 101",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:101 telephone-event/8000",
  "a=fmtp:101 0-15",
  "a=sendrecv",
  "",
].join("\r\n");

const HEAD = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n";

/** The policy applied to a copy of `sdp`, as text. */
function restricted(sdp: string, allowed: readonly string[]): string {
  const d = SessionDescription.parse(sdp);
  restrictCodecs(d, allowed);
  return d.toString();
}

t.test("trunk codec filter on SDP", async (t) => {
  const out = restricted(OFFER, ["PCMA", "telephone-event"]);
  t.match(out, /m=audio 4000 RTP\/AVP 8 101\r\n/);
  t.notMatch(out, /opus|PCMU|a=fmtp:111/);
  t.match(out, /a=fmtp:101 0-15/);
  t.match(out, /a=sendrecv\r\n$/, "other attributes and CRLF kept");
  t.equal(restricted(OFFER, []), OFFER, "an empty list allows everything");
  t.throws(() => restricted(OFFER, ["G729", "telephone-event"]), NoAllowedCodecError, "nothing left but DTMF");
  t.equal(firstAudioCodec(SessionDescription.parse(OFFER)), "opus");
  t.equal(firstAudioCodec(SessionDescription.parse(out)), "PCMA");
  t.equal(firstAudioCodec(SessionDescription.parse(`${HEAD}m=audio 0 RTP/AVP 8\r\n`)), null, "rejected stream");
  t.equal(firstAudioCodec(undefined), null);
  t.equal(
    firstAudioCodec(SessionDescription.parse(`${HEAD}m=audio 5 RTP/AVP 0\r\n`)),
    "PCMU",
    "static payload type without rtpmap",
  );
});

t.test("the policy is case-insensitive, keeps m= order, and leaves other sections alone", async (t) => {
  const sdp = [
    HEAD.trimEnd(),
    "m=audio 4000 RTP/AVP 0 8 101",
    "a=rtpmap:101 telephone-event/8000",
    "m=video 5000 RTP/AVP 96",
    "a=rtpmap:96 VP8/90000",
    "m=audio 0 RTP/AVP 0",
    "",
  ].join("\r\n");
  const out = restricted(sdp, ["pcma", "PCMU"]);
  t.match(out, /m=audio 4000 RTP\/AVP 0 8\r\n/, "telephone-event dropped when not listed; order kept");
  t.notMatch(out, /telephone-event/);
  t.match(out, /m=video 5000 RTP\/AVP 96\r\na=rtpmap:96 VP8\/90000\r\n/, "video untouched");
  t.match(out, /m=audio 0 RTP\/AVP 0\r\n$/, "a rejected audio section is not checked");
});

t.test("NoAllowedCodecError is a no-common-codec negotiation failure (answered 488)", async (t) => {
  const err = t.throws(() => restricted(OFFER, ["AMR"]));
  t.ok(err instanceof SdpNegotiationError);
  t.equal((err as SdpNegotiationError).reason, "no-common-codec");
  t.equal((err as Error).name, "NoAllowedCodecError");
  t.match((err as Error).message, /AMR/);
});

t.test(
  "retainFormats rewrites the m= line and drops the dropped formats' rtpmap, fmtp and rtcp-fb lines",
  async (t) => {
    const d = SessionDescription.parse(
      [
        HEAD.trimEnd(),
        "m=audio 4000 RTP/AVPF 111 0 101",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10",
        "a=rtcp-fb:111 transport-cc",
        "a=rtcp-fb:* nack",
        "a=rtpmap:101 telephone-event/48000",
        "a=mid:0",
        "",
      ].join("\r\n"),
    );
    const m = d.media[0];
    t.ok(m);
    t.same(
      m?.retainFormats((f) => f !== "111"),
      ["0", "101"],
    );
    t.equal(
      m?.toString(),
      "m=audio 4000 RTP/AVPF 0 101\r\na=rtcp-fb:* nack\r\na=rtpmap:101 telephone-event/48000\r\na=mid:0\r\n",
    );
    t.same(
      m?.retainFormats(() => true),
      ["0", "101"],
      "keeping all changes nothing",
    );
    t.throws(() => m?.retainFormats(() => false), RangeError, "a live section keeps at least one format");
    t.equal(m?.formats.length, 2, "a refused edit changes nothing");
  },
);
