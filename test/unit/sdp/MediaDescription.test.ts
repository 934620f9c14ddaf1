import t from "tap";
import { SdpParseError, SessionDescription, formatMediaLine, isRtpProto, parseMediaLine } from "../../../sdp/index.js";
import { fixture, mediaAt } from "./sdpFixtures.js";

function firstMedia(name: string): ReturnType<typeof mediaAt> {
  return mediaAt(SessionDescription.parse(fixture(name)), 0);
}

t.test("parseMediaLine() reads kind, port, port count, proto and formats", async (t) => {
  t.same(parseMediaLine("audio 49170 RTP/AVP 0 8 101"), {
    kind: "audio",
    port: 49170,
    proto: "RTP/AVP",
    formats: ["0", "8", "101"],
  });
  t.same(parseMediaLine("video 49170/2 RTP/AVP 31").portCount, 2);
  t.same(parseMediaLine("application 9 UDP/DTLS/SCTP webrtc-datachannel").formats, ["webrtc-datachannel"]);
  t.same(parseMediaLine("audio 0 RTP/AVP").formats, [], "a rejected section may list no formats");
  t.equal(formatMediaLine(parseMediaLine("video 49170/2 RTP/AVP 31")), "video 49170/2 RTP/AVP 31");
});

t.test("parseMediaLine() of a bad m= line throws SdpParseError", async (t) => {
  t.throws(() => parseMediaLine("audio 49170", 9), { name: "SdpParseError", line: 9 });
  t.throws(() => parseMediaLine("audio 49170 RTP/AVP", 9), { message: /no formats/ });
  t.throws(() => parseMediaLine("audio 70000 RTP/AVP 0", 9), SdpParseError);
  t.throws(() => parseMediaLine("audio -1 RTP/AVP 0", 9), SdpParseError);
});

t.test("isRtpProto() tells RTP profiles from SCTP", async (t) => {
  t.ok(isRtpProto("RTP/AVP"));
  t.ok(isRtpProto("UDP/TLS/RTP/SAVPF"));
  t.notOk(isRtpProto("UDP/DTLS/SCTP"));
  t.notOk(isRtpProto("TCP/MSRP"));
});

t.test("MediaDescription of a Chrome audio section exposes codecs, transport and sources", async (t) => {
  const m = firstMedia("chrome-offer.sdp");
  t.equal(m.kind, "audio");
  t.equal(m.port, 9);
  t.equal(m.proto, "UDP/TLS/RTP/SAVPF");
  t.same(m.payloadTypes, [111, 63, 9, 0, 8, 13, 110, 126]);
  t.same(m.codecs[0], {
    payloadType: 111,
    name: "opus",
    clockRate: 48000,
    channels: 2,
    parameters: "minptime=10;useinbandfec=1",
    rtcpFeedback: [{ payloadType: 111, type: "transport-cc" }],
  });
  t.same(
    m.fmtpParameters(111),
    new Map([
      ["minptime", "10"],
      ["useinbandfec", "1"],
    ]),
  );
  t.equal(m.fmtp(63), "111/111");
  t.equal(m.fmtp(0), undefined);
  t.equal(m.mid, "0");
  t.equal(m.direction, "sendrecv");
  t.ok(m.rtcpMux);
  t.ok(m.rtcpRsize);
  t.notOk(m.rtcpMuxOnly);
  t.equal(m.rtcpPort, 9);
  t.same(m.rtcp, { port: 9, connection: { netType: "IN", addressType: "IP4", address: "0.0.0.0" } });
  t.same(m.ice, { ufrag: "x9Qm", pwd: "3kQ4pWwqg8cXtLKd7bB2mF1y", options: ["trickle"], lite: false });
  t.equal(m.candidates.length, 3);
  t.equal(m.candidates[1]?.relatedAddress, "203.0.113.17");
  t.notOk(m.endOfCandidates);
  t.equal(m.setup, "actpass");
  t.equal(m.fingerprints.length, 1);
  t.same(
    m.extmaps.map((e) => e.id),
    [1, 2, 3, 4],
  );
  t.equal(m.ssrcs.length, 2);
  t.equal(m.ssrcs[0]?.attribute, "cname");
  t.match(m.msid, /^6f3c0f9e/);
  t.equal(m.connection?.address, "0.0.0.0");
  t.notOk(m.isRejected);
  t.notOk(m.bundleOnly);
});

t.test("MediaDescription of a Chrome video section exposes ssrc-group and rtcp-fb", async (t) => {
  const m = SessionDescription.parse(fixture("chrome-offer.sdp")).media[1];
  t.same(m?.ssrcGroups, [{ semantics: "FID", ssrcs: [2231627014, 632943048] }]);
  t.same(
    m?.rtcpFeedback(96).map((f) => f.type),
    ["goog-remb", "transport-cc", "ccm", "nack", "nack"],
  );
  t.equal(m?.rtpmap(97)?.encodingName, "rtx");
});

t.test("MediaDescription of the data channel section has no payload types", async (t) => {
  const m = SessionDescription.parse(fixture("chrome-offer.sdp")).media[2];
  t.equal(m?.kind, "application");
  t.same(m?.payloadTypes, []);
  t.same(m?.codecs, []);
  t.equal(m?.sctpPort, 5000);
});

t.test("MediaDescription falls back to RFC 3551 static payload types without rtpmap", async (t) => {
  const m = firstMedia("carrier-g711-pcma-offer.sdp");
  t.same(
    m.codecs.map((c) => `${c.payloadType} ${c.name}/${c.clockRate}`),
    ["8 PCMA/8000", "0 PCMU/8000", "101 telephone-event/8000"],
  );
  t.equal(m.ptime, 20);
  t.equal(m.maxptime, undefined);
  t.equal(m.rtcpPort, 18561, "RTCP on port + 1 without rtcp-mux or a=rtcp (RFC 3550 §11)");
  t.equal(m.ice, undefined);
  t.same(m.fingerprints, []);
  t.equal(m.setup, undefined);
  t.same(m.attributeValues("silenceSupp"), ["off - - - -"]);
});

t.test("MediaDescription of a VoLTE offer exposes bandwidth, AMR fmtp, maxptime and preconditions", async (t) => {
  const m = firstMedia("volte-amr-octet-aligned-offer.sdp");
  t.same(m.bandwidths, [
    { type: "AS", value: 49 },
    { type: "RS", value: 0 },
    { type: "RR", value: 2500 },
  ]);
  t.equal(m.fmtpParameters(104).get("mode-set"), "0,1,2");
  t.equal(m.maxptime, 240);
  t.equal(m.connection?.addressType, "IP6");
  t.equal(m.mediaConnection, undefined);
  t.same(m.preconditions[2], {
    status: "des",
    type: "qos",
    strength: "mandatory",
    statusType: "local",
    direction: "sendrecv",
  });
});

t.test("MediaDescription of an SDES offer exposes its crypto lines", async (t) => {
  const m = firstMedia("carrier-g711-srtp-offer.sdp");
  t.same(
    m.crypto.map((c) => `${c.tag} ${c.suite}`),
    ["1 AES_CM_128_HMAC_SHA1_80", "2 AES_CM_128_HMAC_SHA1_32"],
  );
});

t.test("MediaDescription edits rewrite only the affected lines", async (t) => {
  const text = fixture("carrier-g711-offer.sdp");
  const sdp = SessionDescription.parse(text);
  const m = mediaAt(sdp, 0);
  m.port = 0;
  m.direction = "inactive";
  t.equal(m.port, 0);
  t.ok(m.isRejected);
  t.equal(sdp.toString(), text.replace("m=audio 20142 ", "m=audio 0 ").replace("a=sendrecv", "a=inactive"));
  t.throws(() => {
    m.port = 70000;
  }, RangeError);
});

t.test("MediaDescription.setConnection() rewrites or inserts a media-level c= after m=", async (t) => {
  const sdp = SessionDescription.parse(fixture("carrier-g711-legacy-hold-offer.sdp"));
  const legacy = sdp.media[0];
  legacy?.setConnection({ netType: "IN", addressType: "IP4", address: "198.51.100.77" });
  t.equal(legacy?.lines[1]?.value, "IN IP4 198.51.100.77");
  const plain = SessionDescription.parse(fixture("carrier-g711-offer.sdp"));
  plain.media[0]?.setConnection({ netType: "IN", addressType: "IP4", address: "198.51.100.9" });
  t.equal(plain.media[0]?.lines[1]?.value, "IN IP4 198.51.100.9");
  t.equal(plain.media[0]?.mediaConnection?.address, "198.51.100.9");
});

t.test("MediaDescription direction falls back to the session level, then sendrecv", async (t) => {
  const sdp = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\na=sendonly\r\nm=audio 4000 RTP/AVP 0\r\n");
  t.equal(sdp.media[0]?.direction, "sendonly");
  const bare = SessionDescription.parse("v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\n");
  t.equal(bare.media[0]?.direction, "sendrecv");
  mediaAt(bare, 0).direction = "recvonly";
  t.equal(bare.toString(), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=recvonly\r\n");
});

t.test("MediaDescription attribute edits validate known grammars", async (t) => {
  const sdp = SessionDescription.parse(fixture("carrier-g711-offer.sdp"));
  const m = sdp.media[0];
  m?.setAttribute("ptime", "30");
  m?.setAttribute("maxptime", "60");
  t.equal(m?.ptime, 30);
  t.equal(m?.maxptime, 60);
  t.equal(m?.attributeValues("maxptime").length, 1, "setAttribute() rewrote the existing line");
  t.throws(() => m?.setAttribute("ptime", "soon"), SdpParseError);
  t.throws(() => m?.addAttribute("rtpmap", "x"), SdpParseError);
  m?.addAttribute("rtcp-mux");
  t.ok(m?.rtcpMux);
  t.equal(m?.removeAttribute("rtcp-mux"), 1);
  t.notOk(m?.rtcpMux);
  t.equal(m?.removeAttribute("rtcp-mux"), 0);
});

t.test("MediaDescription.setAttribute() removes duplicate lines", async (t) => {
  const sdp = SessionDescription.parse(
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:20\r\na=x:1\r\na=ptime:30\r\n",
  );
  sdp.media[0]?.setAttribute("ptime", "40");
  t.equal(sdp.toString(), "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 4000 RTP/AVP 0\r\na=ptime:40\r\na=x:1\r\n");
});

t.test("MediaDescription port 0 with a=bundle-only is not rejected (RFC 8843 §6)", async (t) => {
  const sdp = SessionDescription.parse(
    "v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=bundle-only\r\na=rtpmap:111 opus/48000/2\r\n",
  );
  t.ok(sdp.media[0]?.bundleOnly);
  t.notOk(sdp.media[0]?.isRejected);
});
