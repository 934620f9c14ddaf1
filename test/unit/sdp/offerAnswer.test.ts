import t from "tap";
import {
  SdpNegotiationError,
  SessionDescription,
  createAnswer,
  createOffer,
  effectiveDirection,
  hasMandatoryPreconditions,
  mapPayloadTypes,
  offeredPreconditions,
  processAnswer,
} from "../../../sdp/index.js";
import type { AnswerOptions, Capabilities } from "../../../sdp/index.js";
import { SERVER_CAPS, SERVER_OPTIONS, fixture, mediaAt } from "./sdpFixtures.js";

const PLAIN: AnswerOptions = { address: "192.0.2.100", port: 40000, sessionId: "1700000000000" };
const offerOf = (name: string): SessionDescription => SessionDescription.parse(fixture(name));
const G711: Capabilities = {
  audio: [
    { name: "PCMU", clockRate: 8000 },
    { name: "PCMA", clockRate: 8000 },
    { name: "telephone-event", clockRate: 8000, parameters: "0-15" },
    { name: "telephone-event", clockRate: 48000, parameters: "0-15" },
  ],
};
const sdp = (...lines: string[]): SessionDescription => SessionDescription.parse(`${lines.join("\r\n")}\r\n`);
const HEAD = ["v=0", "o=- 1 1 IN IP4 198.51.100.1", "s=-", "c=IN IP4 198.51.100.1", "t=0 0"];

// ---------------------------------------------------------------------------------------------------------------
// Codec intersection and fmtp rules
// ---------------------------------------------------------------------------------------------------------------

t.test("createAnswer() of the VoLTE offer with singleCodec answers AMR-WB BE as in sip-ims.md §4.3", async (t) => {
  const { sdp: answer, media } = createAnswer(offerOf("volte-amrwb-offer.sdp"), SERVER_CAPS, {
    ...PLAIN,
    singleCodec: true,
  });
  t.equal(
    mediaAt(answer, 0).toString(),
    [
      "m=audio 40000 RTP/AVP 98 101",
      "a=sendrecv",
      "a=rtpmap:98 AMR-WB/16000",
      "a=fmtp:98 mode-change-capability=2; max-red=0",
      "a=rtpmap:101 telephone-event/16000",
      "a=fmtp:101 0-15",
      "a=ptime:20",
      "",
    ].join("\r\n"),
  );
  t.same(media[0]?.codecs[0], {
    name: "AMR-WB",
    clockRate: 16000,
    payloadType: 98,
    sendPayloadType: 98,
    parameters: "mode-change-capability=2; max-red=0",
    remoteParameters: "mode-change-capability=2; max-red=0",
    rtcpFeedback: [],
  });
  t.same(media[0]?.remote.maxptime, 240);
});

t.test("createAnswer() never answers an octet-aligned AMR payload type with a bare rtpmap", async (t) => {
  const { sdp: answer } = createAnswer(offerOf("volte-amr-octet-aligned-offer.sdp"), SERVER_CAPS, PLAIN);
  const m = mediaAt(answer, 0);
  t.equal(m.fmtp(104), "octet-align=1;mode-set=0,1,2;mode-change-capability=2;max-red=0");
  t.equal(
    m.fmtp(102),
    "octet-align=1;mode-set=0,2,4,7;mode-change-period=2;mode-change-capability=2;mode-change-neighbor=1;max-red=0",
  );
  t.equal(answer.media[0]?.connection?.addressType, "IP4", "our own address type, not the offerer's IPv6");
});

t.test("createAnswer() drops AMR payload types whose packing or mode-set Korus cannot answer unchanged", async (t) => {
  const beOnly: Capabilities = {
    audio: [
      { name: "AMR", clockRate: 8000 },
      { name: "PCMA", clockRate: 8000 },
    ],
  };
  const offer = sdp(
    ...HEAD,
    "m=audio 4000 RTP/AVP 97 98 99 8",
    "a=rtpmap:97 AMR/8000",
    "a=fmtp:97 octet-align=1",
    "a=rtpmap:98 AMR/8000",
    "a=fmtp:98 mode-set=0,2,4,7",
    "a=rtpmap:99 AMR/8000",
    "a=fmtp:99 mode-set=0,2,4,7;crc=1",
  );
  t.same(mediaAt(createAnswer(offer, beOnly, PLAIN).sdp, 0).payloadTypes, [98, 8]);
  const restricted: Capabilities = { audio: [{ name: "AMR", clockRate: 8000, parameters: "mode-set=0,1,2" }] };
  t.throws(() => createAnswer(offer, restricted, PLAIN), { name: "SdpNegotiationError", reason: "no-common-codec" });
});

t.test(
  "createAnswer() keeps telephone-event only at the clock rate of an accepted codec (RFC 4733 §2.1)",
  async (t) => {
    const { sdp: answer, media } = createAnswer(offerOf("chrome-offer.sdp"), G711, SERVER_OPTIONS);
    t.same(
      mediaAt(answer, 0).payloadTypes,
      [0, 8, 126],
      "telephone-event/48000 goes with Opus, which was not accepted",
    );
    t.equal(media[0]?.codecs[2]?.name, "telephone-event");
  },
);

t.test("createAnswer() answers the intersection of offered and supported DTMF events", async (t) => {
  const { sdp: answer } = createAnswer(offerOf("carrier-g711-pcma-offer.sdp"), G711, PLAIN);
  t.equal(mediaAt(answer, 0).fmtp(101), "0-15", "event 16 (flash) is not supported");
});

t.test("createAnswer() states its own Opus parameters (RFC 7587 §7)", async (t) => {
  const { sdp: answer } = createAnswer(offerOf("firefox-offer.sdp"), SERVER_CAPS, SERVER_OPTIONS);
  t.equal(mediaAt(answer, 0).fmtp(109), "minptime=10;useinbandfec=1");
  t.equal(mediaAt(answer, 0).rtpmap(109)?.channels, 2);
});

t.test("createAnswer() answers H.264 with the offered profile and packetization-mode (RFC 6184 §8.2.2)", async (t) => {
  const { sdp: answer, media } = createAnswer(offerOf("firefox-offer.sdp"), SERVER_CAPS, SERVER_OPTIONS);
  t.equal(mediaAt(answer, 1).fmtp(126), "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f");
  t.equal(mediaAt(answer, 1).fmtp(124), "apt=120", "rtx keeps the offered apt");
  t.same(media[1]?.codecs[0]?.rtcpFeedback, ["nack", "nack pli", "ccm fir", "goog-remb", "transport-cc"]);
});

t.test("createAnswer() keeps only supported header extensions with the offered ids (RFC 8285 §6)", async (t) => {
  const { sdp: answer } = createAnswer(offerOf("chrome-offer.sdp"), SERVER_CAPS, SERVER_OPTIONS);
  t.same(
    mediaAt(answer, 0).extmaps.map((e) => `${e.id} ${e.uri}`),
    ["1 urn:ietf:params:rtp-hdrext:ssrc-audio-level", "4 urn:ietf:params:rtp-hdrext:sdes:mid"],
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Direction and hold
// ---------------------------------------------------------------------------------------------------------------

t.test("createAnswer() answers a sendonly hold offer with recvonly (RFC 3264 §6.1)", async (t) => {
  const { sdp: answer, media } = createAnswer(offerOf("carrier-g711-hold-offer.sdp"), G711, PLAIN);
  t.equal(mediaAt(answer, 0).direction, "recvonly");
  t.equal(media[0]?.direction, "recvonly");
});

t.test("createAnswer() treats c=0.0.0.0 as hold (RFC 3264 §8.4) but not in ICE offers", async (t) => {
  const legacy = offerOf("carrier-g711-legacy-hold-offer.sdp");
  t.equal(effectiveDirection(mediaAt(legacy, 0)), "sendonly");
  t.equal(createAnswer(legacy, G711, PLAIN).media[0]?.direction, "recvonly");
  const chrome = offerOf("chrome-offer.sdp");
  t.equal(effectiveDirection(mediaAt(chrome, 0)), "sendrecv");
});

t.test("createAnswer() applies the local direction: hold, inactive", async (t) => {
  const offer = offerOf("carrier-g711-offer.sdp");
  t.equal(createAnswer(offer, G711, { ...PLAIN, direction: "sendonly" }).media[0]?.direction, "sendonly");
  t.equal(createAnswer(offer, G711, { ...PLAIN, direction: "inactive" }).media[0]?.direction, "inactive");
  const inactive = sdp(...HEAD, "m=audio 4000 RTP/AVP 0", "a=inactive");
  t.equal(mediaAt(createAnswer(inactive, G711, PLAIN).sdp, 0).direction, "inactive");
  const recvonly = sdp(...HEAD, "m=audio 4000 RTP/AVP 0", "a=recvonly");
  t.equal(mediaAt(createAnswer(recvonly, G711, PLAIN).sdp, 0).direction, "sendonly");
});

// ---------------------------------------------------------------------------------------------------------------
// Rejection
// ---------------------------------------------------------------------------------------------------------------

t.test("createAnswer() rejects a port-0 stream with port 0 and the offered formats (RFC 3264 §6)", async (t) => {
  const offer = sdp(...HEAD, "m=audio 4000 RTP/AVP 0", "m=video 0 RTP/AVP 31", "a=mid:v");
  const { sdp: answer, media } = createAnswer(offer, SERVER_CAPS, PLAIN);
  t.equal(mediaAt(answer, 1).toString(), "m=video 0 RTP/AVP 31\r\na=mid:v\r\n");
  t.equal(media[1]?.accepted, false);
  t.equal(media[1]?.rejectReason, "rejected in the offer (port 0)");
});

t.test("createAnswer() rejects streams without capabilities but keeps the others", async (t) => {
  const { sdp: answer, media } = createAnswer(offerOf("chrome-offer.sdp"), G711, SERVER_OPTIONS);
  t.same(
    answer.media.map((m) => m.port),
    [40000, 0, 0],
  );
  t.same(
    media.map((m) => m.rejectReason),
    [undefined, "no video capabilities", "no application capabilities"],
  );
  t.same(answer.bundle, ["0"], "only the accepted member stays in the BUNDLE group");
});

t.test("createAnswer() with no common codec throws SdpNegotiationError(no-common-codec)", async (t) => {
  const opusOnly: Capabilities = { audio: [{ name: "opus", clockRate: 48000, channels: 2 }] };
  t.throws(() => createAnswer(offerOf("carrier-g711-offer.sdp"), opusOnly, PLAIN), SdpNegotiationError);
  t.throws(() => createAnswer(offerOf("carrier-g711-offer.sdp"), opusOnly, PLAIN), {
    name: "SdpNegotiationError",
    reason: "no-common-codec",
  });
});

t.test("createAnswer() of an unservable transport throws SdpNegotiationError(no-acceptable-media)", async (t) => {
  t.throws(() => createAnswer(offerOf("chrome-offer.sdp"), SERVER_CAPS, PLAIN), {
    name: "SdpNegotiationError",
    reason: "no-acceptable-media",
    message: /DTLS-SRTP offered/,
  });
  t.throws(() => createAnswer(offerOf("carrier-g711-srtp-offer.sdp"), G711, PLAIN), {
    name: "SdpNegotiationError",
    reason: "no-acceptable-media",
  });
});

t.test("createAnswer() of an offer without media answers without media", async (t) => {
  const { sdp: answer } = createAnswer(sdp(...HEAD), G711, PLAIN);
  t.equal(answer.media.length, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// Transport: rtcp-mux, BUNDLE, ICE, DTLS, SDES, ptime
// ---------------------------------------------------------------------------------------------------------------

t.test(
  "createAnswer() accepts rtcp-mux when offered (RFC 5761 §5.1.1) and refuses rtcp-mux-only without it",
  async (t) => {
    const offer = sdp(...HEAD, "m=audio 4000 RTP/AVP 0", "a=rtcp-mux", "a=rtcp-mux-only");
    t.ok(mediaAt(createAnswer(offer, G711, PLAIN).sdp, 0).rtcpMux);
    t.notOk(mediaAt(createAnswer(offerOf("carrier-g711-offer.sdp"), G711, PLAIN).sdp, 0).rtcpMux);
    t.throws(() => createAnswer(offer, G711, { ...PLAIN, rtcpMux: false }), {
      name: "SdpNegotiationError",
      reason: "no-acceptable-media",
    });
  },
);

t.test(
  "createAnswer() bundles accepted streams on one port with candidates in the first (RFC 8843 §7.3)",
  async (t) => {
    const { sdp: answer, media } = createAnswer(offerOf("chrome-offer.sdp"), SERVER_CAPS, SERVER_OPTIONS);
    t.same(answer.bundle, ["0", "1"]);
    t.same(
      answer.media.map((m) => m.port),
      [40000, 40000, 0],
    );
    t.equal(mediaAt(answer, 0).candidates.length, 1);
    t.equal(mediaAt(answer, 1).candidates.length, 0);
    t.ok(mediaAt(answer, 1).rtcpMux);
    t.same(
      media.map((m) => m.bundled),
      [true, true, false],
    );
    t.same(
      answer.media.map((m) => m.mid),
      ["0", "1", "2"],
    );
  },
);

t.test("createAnswer() with bundle disabled gives each stream its own port", async (t) => {
  const { sdp: answer } = createAnswer(offerOf("firefox-offer.sdp"), SERVER_CAPS, { ...SERVER_OPTIONS, bundle: false });
  t.equal(answer.bundle, undefined);
  t.same(
    answer.media.map((m) => m.port),
    [40000, 40002],
  );
  const ports = createAnswer(offerOf("firefox-offer.sdp"), SERVER_CAPS, {
    ...SERVER_OPTIONS,
    bundle: false,
    port: (index) => 50000 + index * 10,
  });
  t.same(
    ports.sdp.media.map((m) => m.port),
    [50000, 50010],
  );
  const bundleOnly = sdp(
    ...HEAD,
    "a=group:BUNDLE a b",
    "m=audio 4000 RTP/AVP 0",
    "a=mid:a",
    "m=audio 0 RTP/AVP 0",
    "a=mid:b",
    "a=bundle-only",
  );
  t.same(
    createAnswer(bundleOnly, G711, { ...PLAIN, bundle: false }).sdp.media.map((m) => m.port),
    [40000, 0],
    "a bundle-only stream cannot be accepted without BUNDLE",
  );
  t.same(
    createAnswer(bundleOnly, G711, PLAIN).sdp.media.map((m) => m.port),
    [40000, 40000],
    "with BUNDLE it is accepted on the shared port",
  );
});

t.test("createAnswer() writes ICE credentials and DTLS fingerprint and setup (RFC 8839, RFC 5763 §5)", async (t) => {
  const { sdp: answer, media } = createAnswer(offerOf("safari-offer.sdp"), SERVER_CAPS, SERVER_OPTIONS);
  const m = mediaAt(answer, 0);
  t.same(m.ice, { ufrag: "Kr5s", pwd: "t3PwqN0c8xLmZb4vRy7uHs2e", options: [], lite: false });
  t.equal(m.setup, "active");
  t.equal(m.fingerprints[0]?.algorithm, "sha-256");
  t.equal(media[0]?.setup, "active");
  t.equal(media[0]?.remote.ice?.ufrag, "Hq7v");
  const passive = createAnswer(offerOf("safari-offer.sdp"), SERVER_CAPS, {
    ...SERVER_OPTIONS,
    dtls: { fingerprints: SERVER_OPTIONS.dtls?.fingerprints ?? [], setup: "passive" },
    ice: { ufrag: "Kr5s", pwd: "t3PwqN0c8xLmZb4vRy7uHs2e", lite: true, endOfCandidates: true },
  });
  t.equal(mediaAt(passive.sdp, 0).setup, "passive");
  t.ok(passive.sdp.iceLite);
  t.ok(mediaAt(passive.sdp, 0).endOfCandidates);
  const kms = createAnswer(offerOf("kurento-answer-to-chrome-offer.sdp"), SERVER_CAPS, SERVER_OPTIONS);
  t.equal(kms.media[0]?.setup, "passive", "a peer that is active makes us passive");
});

t.test("createAnswer() picks the first SDES suite it has a key for (RFC 4568 §7.1.3)", async (t) => {
  const key = "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR";
  const { sdp: answer, media } = createAnswer(offerOf("carrier-g711-srtp-offer.sdp"), G711, {
    ...PLAIN,
    sdes: { AES_CM_128_HMAC_SHA1_32: key },
  });
  t.same(mediaAt(answer, 0).crypto, [
    { tag: 2, suite: "AES_CM_128_HMAC_SHA1_32", keyParams: [`inline:${key}`], sessionParams: [] },
  ]);
  t.equal(media[0]?.crypto?.remote.tag, 2);
  t.equal(mediaAt(answer, 0).proto, "RTP/SAVP");
});

t.test(
  "createAnswer() writes ptime from the options or echoes the offer's, and maxptime when configured",
  async (t) => {
    const offer = offerOf("carrier-g711-pcma-offer.sdp");
    t.equal(mediaAt(createAnswer(offer, G711, PLAIN).sdp, 0).ptime, 20);
    const own = createAnswer(offer, G711, { ...PLAIN, ptime: 30, maxptime: 60 });
    t.equal(mediaAt(own.sdp, 0).ptime, 30);
    t.equal(mediaAt(own.sdp, 0).maxptime, 60);
    t.equal(mediaAt(createAnswer(offerOf("carrier-g711-offer.sdp"), G711, PLAIN).sdp, 0).ptime, undefined);
  },
);

t.test("createAnswer() announces local sources only on streams it sends", async (t) => {
  const sources = { audio: { ssrc: 1234, cname: "korus", msid: "s a" } };
  const send = createAnswer(offerOf("carrier-g711-offer.sdp"), G711, { ...PLAIN, sources });
  t.same(mediaAt(send.sdp, 0).ssrcs, [{ ssrc: 1234, attribute: "cname", value: "korus" }]);
  t.equal(mediaAt(send.sdp, 0).msid, "s a");
  const hold = createAnswer(offerOf("carrier-g711-offer.sdp"), G711, { ...PLAIN, sources, direction: "recvonly" });
  t.same(mediaAt(hold.sdp, 0).ssrcs, []);
});

t.test("createAnswer() writes o=, s=, c= and t= from the options", async (t) => {
  const { sdp: answer } = createAnswer(offerOf("carrier-g711-offer.sdp"), G711, {
    ...PLAIN,
    address: "2001:db8::100",
    username: "korus",
    sessionVersion: "7",
    sessionName: "Korus",
  });
  t.same(answer.origin, {
    username: "korus",
    sessionId: "1700000000000",
    sessionVersion: "7",
    netType: "IN",
    addressType: "IP6",
    address: "2001:db8::100",
  });
  t.equal(answer.sessionName, "Korus");
  t.equal(answer.connection?.address, "2001:db8::100");
  t.same(answer.timing, { start: 0, stop: 0 });
  t.match(answer.toString(), /^v=0\r\n/);
});

// ---------------------------------------------------------------------------------------------------------------
// Preconditions (RFC 3312)
// ---------------------------------------------------------------------------------------------------------------

t.test("createAnswer() answers a VoLTE offer without preconditions when they are only supported", async (t) => {
  const offer = offerOf("volte-amrwb-offer.sdp");
  t.ok(hasMandatoryPreconditions(offer));
  t.equal(offeredPreconditions(offer).length, 4);
  const { sdp: answer } = createAnswer(offer, SERVER_CAPS, { ...PLAIN, preconditions: "supported" });
  t.same(mediaAt(answer, 0).preconditions, []);
});

t.test("createAnswer() refuses clearly when preconditions are required (RFC 3312 §11)", async (t) => {
  t.throws(() => createAnswer(offerOf("volte-amrwb-offer.sdp"), SERVER_CAPS, { ...PLAIN, preconditions: "required" }), {
    name: "SdpNegotiationError",
    reason: "preconditions-required",
    message: /preconditions/,
  });
  t.notOk(hasMandatoryPreconditions(offerOf("volte-amr-crc-offer.sdp")), "optional strength only");
  t.notOk(hasMandatoryPreconditions(offerOf("carrier-g711-offer.sdp")));
});

// ---------------------------------------------------------------------------------------------------------------
// createOffer, processAnswer, mapPayloadTypes
// ---------------------------------------------------------------------------------------------------------------

t.test("createOffer() builds a plain RTP offer for a SIP trunk with static and dynamic payload types", async (t) => {
  const offer = createOffer(
    {
      audio: [
        { name: "PCMA", clockRate: 8000 },
        { name: "PCMU", clockRate: 8000 },
        { name: "AMR-WB", clockRate: 16000, parameters: "mode-change-capability=2" },
        { name: "AMR-WB", clockRate: 16000, parameters: "octet-align=1;mode-change-capability=2" },
        { name: "telephone-event", clockRate: 8000, parameters: "0-15", preferredPayloadType: 101 },
      ],
    },
    { ...PLAIN, ptime: 20, maxptime: 240 },
  );
  t.equal(
    offer.toString(),
    [
      "v=0",
      "o=- 1700000000000 1 IN IP4 192.0.2.100",
      "s=-",
      "c=IN IP4 192.0.2.100",
      "t=0 0",
      "m=audio 40000 RTP/AVP 8 0 96 97 101",
      "a=sendrecv",
      "a=rtpmap:8 PCMA/8000",
      "a=rtpmap:0 PCMU/8000",
      "a=rtpmap:96 AMR-WB/16000",
      "a=fmtp:96 mode-change-capability=2",
      "a=rtpmap:97 AMR-WB/16000",
      "a=fmtp:97 octet-align=1;mode-change-capability=2",
      "a=rtpmap:101 telephone-event/8000",
      "a=fmtp:101 0-15",
      "a=ptime:20",
      "a=maxptime:240",
      "",
    ].join("\r\n"),
  );
});

t.test("createOffer() builds a WebRTC offer with BUNDLE, DTLS actpass, rtcp-mux and rtx", async (t) => {
  const offer = createOffer(SERVER_CAPS, SERVER_OPTIONS);
  t.same(offer.bundle, ["0", "1"]);
  const [audio, video] = [mediaAt(offer, 0), mediaAt(offer, 1)];
  t.equal(audio.proto, "UDP/TLS/RTP/SAVPF");
  t.equal(audio.setup, "actpass");
  t.ok(audio.rtcpMux);
  t.equal(video.port, audio.port);
  t.same(
    video.codecs.map((c) => `${c.payloadType} ${c.name} ${c.parameters ?? ""}`),
    [
      "96 VP8 ",
      "97 rtx apt=96",
      "98 H264 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
      "99 rtx apt=98",
    ],
  );
  t.equal(audio.rtpmap(96)?.encodingName, "opus", "payload types are numbered per m-line");
  t.equal(audio.crypto.length, 1, "SDES keys from the options are offered too");
});

t.test("createOffer() of a kind without capabilities throws TypeError", async (t) => {
  t.throws(() => createOffer(G711, { ...PLAIN, media: ["audio", "video"] }), TypeError);
});

t.test("processAnswer() maps payload types: receive with ours, send with the answer's (RFC 3264 §6.1)", async (t) => {
  const offer = createOffer(G711, PLAIN);
  const answer = sdp(
    ...HEAD,
    "m=audio 5000 RTP/AVP 0 110",
    "a=rtpmap:0 PCMU/8000",
    "a=rtpmap:110 telephone-event/8000",
    "a=fmtp:110 0-15",
    "a=recvonly",
  );
  const [m] = processAnswer(offer, answer);
  t.same(
    m?.codecs.map((c) => [c.name, c.payloadType, c.sendPayloadType]),
    [
      ["PCMU", 0, 0],
      ["telephone-event", 96, 110],
    ],
  );
  t.equal(m?.direction, "sendonly", "the answerer only receives");
  t.equal(m?.remote.port, 5000);
  t.equal(m?.remote.address, "198.51.100.1");
});

t.test("processAnswer() of our own offer answered by createAnswer() agrees on every stream", async (t) => {
  const offer = createOffer(SERVER_CAPS, SERVER_OPTIONS);
  const { sdp: answer } = createAnswer(offer, SERVER_CAPS, { ...SERVER_OPTIONS, port: 41000 });
  const media = processAnswer(offer, answer);
  t.same(
    media.map((m) => [m.accepted, m.bundled, m.rtcpMux, m.setup, m.remote.port]),
    [
      [true, true, true, "passive", 41000],
      [true, true, true, "passive", 41000],
    ],
  );
});

t.test("processAnswer() of a mismatched answer throws SdpNegotiationError(invalid-answer)", async (t) => {
  const offer = createOffer(G711, PLAIN);
  t.throws(() => processAnswer(offer, sdp(...HEAD)), { name: "SdpNegotiationError", reason: "invalid-answer" });
  t.throws(() => processAnswer(offer, sdp(...HEAD, "m=video 5000 RTP/AVP 31")), {
    name: "SdpNegotiationError",
    reason: "invalid-answer",
  });
  t.throws(() => processAnswer(offer, sdp(...HEAD, "m=audio 5000 RTP/AVP 18")), {
    name: "SdpNegotiationError",
    reason: "invalid-answer",
    message: /G729/,
  });
  t.same(
    processAnswer(offer, sdp(...HEAD, "m=audio 0 RTP/AVP 0")).map((m) => [m.accepted, m.port, m.codecs.length]),
    [[false, 0, 0]],
    "a rejected stream",
  );
});

t.test("mapPayloadTypes() translates payload types between two legs", async (t) => {
  const chrome = mediaAt(offerOf("chrome-offer.sdp"), 0);
  const firefox = mediaAt(offerOf("firefox-offer.sdp"), 0);
  t.same(
    [...mapPayloadTypes(chrome, firefox)],
    [
      [111, 109],
      [9, 9],
      [0, 0],
      [8, 8],
      [126, 101],
    ],
  );
});
