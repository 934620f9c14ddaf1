/**
 * RtpEndpoint in-process, against "phones" made of UDP sockets on 127.0.0.1: offer/answer in both roles, loopback
 * (connect(self)) with payload bytes checked, SSRC/seq/ts rewriting, DTMF events, RTCP reports with RTT, hold by
 * re-offer, media timeout, SDES-SRTP both ways, OnKeySoftLimit, bad input counted and survived, errors and ports.
 */
import { randomBytes } from "node:crypto";
import t from "tap";
import type { JsonObject } from "../../../media/channel/protocol.js";
import { RtpEndpoint } from "../../../media/elements/RtpEndpoint.js";
import { MediaOperationError } from "../../../media/errors.js";
import { buildReceiverReport, buildSenderReport, ntpFromMs, ntpMiddle, parseRtcp } from "../../../media/rtp/Rtcp.js";
import { DtmfDetector, dtmfPackets, parseTelephoneEvent } from "../../../media/rtp/dtmf.js";
import { SrtpSession } from "../../../media/srtp/SrtpSession.js";
import { findSuite } from "../../../media/srtp/SrtpSuite.js";
import { Phone, RtpHarness, invoke, sleep, until } from "./rtp/fixtures/rtpHarness.js";

async function setup(
  t: { teardown: (fn: () => void) => void },
  ctor: JsonObject = {},
): Promise<{ h: RtpHarness; ep: RtpEndpoint; phone: Phone }> {
  const h = await RtpHarness.create();
  const ep = await h.rtp(ctor);
  const phone = await Phone.open();
  t.teardown(() => {
    phone.close();
    h.close();
  });
  return { h, ep, phone };
}

/** The Kurento error type (or the error name) a promise rejects with; "resolved" when it does not reject. */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    return err instanceof MediaOperationError ? err.kurentoType : err instanceof Error ? err.name : String(err);
  }
}

const payloadOf = (i: number): Buffer => Buffer.from(`pcma-frame-${i}`.padEnd(160, "."));

t.test("processOffer answers RTP/AVP with the offered PTs; loopback returns the payload bytes", async (t) => {
  const { h, ep, phone } = await setup(t);
  const answer = (await invoke(ep, "processOffer", { offer: phone.offer() })) as string;
  t.match(answer, /^v=0\r\n/);
  t.match(answer, /m=audio (\d*[02468]) RTP\/AVP 8 101\r\n/, "even port, PCMA + telephone-event in offer order");
  t.match(answer, /c=IN IP4 127\.0\.0\.1/);
  t.match(answer, /a=rtpmap:101 telephone-event\/8000/);
  t.equal(await invoke(ep, "getLocalSessionDescriptor"), answer);
  t.equal(await invoke(ep, "getRemoteSessionDescriptor"), phone.offer());
  t.same(h.eventsOf(ep, "ConnectionStateChanged"), [{ oldState: "DISCONNECTED", newState: "CONNECTED" }]);
  phone.aimAt(answer);
  h.pipeline.connect(ep, ep, undefined, "default", "default");

  for (let i = 0; i < 20; i++) {
    phone.send(8, 1000 + i, 160 * i, 0xa1a1a1a1, payloadOf(i), i === 0);
    await sleep(2);
  }
  await until(() => phone.received.length >= 20);
  t.equal(phone.received.length, 20, "all 20 packets came back");
  t.same(
    phone.received.map((p) => p.payload.toString()),
    Array.from({ length: 20 }, (_, i) => payloadOf(i).toString()),
    "payload bytes identical, in order",
  );
  const first = phone.received[0];
  t.equal(first?.pt, 8);
  t.equal(first?.marker, true);
  t.not(first?.ssrc, 0xa1a1a1a1, "our own SSRC on the way out");
  t.ok(
    phone.received.every((p, i) => p.seq === (1000 + i) % 65536 && p.ts === 160 * i),
    "first source: numbering passes through",
  );
  t.same(h.eventsOf(ep, "MediaStateChanged")[0], { oldState: "DISCONNECTED", newState: "CONNECTED" });
  t.ok(h.eventsOf(ep, "MediaFlowInStateChanged").some((d) => d["state"] === "FLOWING"));
  t.ok(h.eventsOf(ep, "MediaFlowOutStateChanged").some((d) => d["state"] === "FLOWING"));

  // The phone restarts with a new SSRC and numbering: the endpoint's output stays continuous.
  for (let i = 0; i < 5; i++) {
    phone.send(8, 40000 + i, 999_999 + 160 * i, 0xb2b2b2b2, payloadOf(100 + i));
    await sleep(2);
  }
  await until(() => phone.received.length >= 25);
  const after = phone.received.slice(20);
  t.equal(after[0]?.seq, (1000 + 20) % 65536, "sequence continues across the SSRC change");
  t.ok(
    after.every((p) => p.ssrc === first?.ssrc),
    "same outgoing SSRC",
  );
  t.equal(ep.diagnostics.ssrcChanges, 1, "SSRC change counted");

  const stats = (await invoke(ep, "getStats")) as Record<string, JsonObject>;
  const inbound = Object.values(stats).filter((r) => r["type"] === "inboundrtp");
  const outbound = Object.values(stats).filter((r) => r["type"] === "outboundrtp");
  t.equal(inbound.length, 2, "one inboundrtp per remote SSRC");
  t.equal(inbound.find((r) => r["ssrc"] === String(0xa1a1a1a1))?.["packetsReceived"], 20);
  t.equal(inbound.find((r) => r["ssrc"] === String(0xa1a1a1a1))?.["packetsLost"], 0);
  t.equal(outbound[0]?.["packetsSent"], 25);
  t.equal(outbound[0]?.["__type__"], "RTCOutboundRTPStreamStats");
  t.ok(stats[ep.id]?.["E2ELatency"] !== undefined);
});

t.test("DTMF from the phone raises DtmfReceived once per digit; telephone-event is looped back too", async (t) => {
  const { h, ep, phone } = await setup(t);
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  let seq = 1;
  for (const [digit, ts] of [
    ["1", 8000],
    ["#", 16000],
  ] as const) {
    for (const p of dtmfPackets(digit, 120, 8000)) {
      phone.send(101, seq++, ts, 0x1234, p.payload, p.marker);
      await sleep(1);
    }
  }
  await until(() => h.eventsOf(ep, "DtmfReceived").length >= 2);
  t.same(h.eventsOf(ep, "DtmfReceived"), [
    { digit: "1", durationMs: 120 },
    { digit: "#", durationMs: 120 },
  ]);
  await until(() => phone.received.filter((p) => p.pt === 101).length >= 10);
  t.ok(
    phone.received.filter((p) => p.pt === 101).length >= 10,
    "telephone-event packets forwarded to the peer on PT 101",
  );
  t.equal(ep.diagnostics.dtmfDigits, 2);
});

t.test("bad input is counted and never stops the stream", async (t) => {
  const { h, ep, phone } = await setup(t);
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  phone.send(8, 1, 0, 7, payloadOf(0));
  await until(() => phone.received.length === 1);
  phone.raw(Buffer.from([0x80])); // too short
  phone.raw(Buffer.from([0x40, 8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7])); // version 1
  phone.raw(Buffer.from([0xa0, 8, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7, 1, 200])); // bad padding
  phone.send(18, 2, 160, 7, payloadOf(1)); // G.729: not negotiated
  phone.raw(Buffer.from([0x80, 201, 0, 9, 1, 2, 3]), true); // broken RTCP
  phone.send(8, 30000, 320, 7, payloadOf(2)); // sequence jump: held
  phone.send(8, 30001, 480, 7, payloadOf(3)); // confirmed: reset
  phone.send(8, 30002, 480 + 8000 * 3600, 7, payloadOf(4)); // timestamp jump of an hour
  for (let i = 0; i < 200; i++) {
    // Random bytes, except that a version-2 header never carries a negotiated PT (it would be valid audio).
    const junk = randomBytes(1 + (i % 60));
    if (junk.length >= 2 && (junk[0] ?? 0) >> 6 === 2) {
      junk[1] = ((junk[1] ?? 0) & 0x80) | 127;
    }
    phone.raw(junk);
  }
  phone.send(8, 30003, 640 + 8000 * 3600, 7, payloadOf(5));
  await until(() => phone.received.length >= 5 && ep.diagnostics.malformedRtcp >= 1); // RTCP has its own socket
  await sleep(50);
  const d = ep.diagnostics;
  t.ok(d.malformedRtp >= 3, `malformed RTP counted (${d.malformedRtp})`);
  t.equal(d.unknownPayloadType >= 1, true, "unknown PT counted");
  t.ok(d.malformedRtcp >= 1, "malformed RTCP counted");
  t.equal(d.seqResets, 1);
  t.equal(d.timestampJumps, 1);
  t.same(
    phone.received.map((p) => p.payload.subarray(0, 12).toString()),
    ["pcma-frame-0", "pcma-frame-3", "pcma-frame-4", "pcma-frame-5"],
    "valid packets still flow; the unconfirmed jump packet was held back",
  );
  t.ok(h.warnings.length > 0 && h.warnings.length < 60, `bounded logging (${h.warnings.length} lines)`);
});

t.test("RTCP: SR/RR from the endpoint with LSR/DLSR; RTT from the phone's report; BYE on release", async (t) => {
  const { h, ep, phone } = await setup(t, { rtcpIntervalMs: 200 });
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  for (let i = 0; i < 10; i++) {
    phone.send(8, i, 160 * i, 0x5555, payloadOf(i));
  }
  const srWall = Date.now();
  const [sec, frac] = ntpFromMs(srWall);
  phone.raw(
    buildSenderReport({
      ssrc: 0x5555,
      ntpSeconds: sec,
      ntpFraction: frac,
      rtpTimestamp: 1600,
      packetCount: 10,
      octetCount: 1600,
      reports: [],
    }),
    true,
  );
  const findSr = (): ReturnType<typeof parseRtcp>[number] | undefined =>
    phone.rtcpReceived
      .flatMap((b) => parseRtcp(b))
      .find((p) => p.type === "sr" && p.reports.some((r) => r.ssrc === 0x5555 && r.lastSr !== 0));
  await until(() => findSr() !== undefined, 3000);
  const sr = findSr();
  t.ok(sr !== undefined, "the endpoint sent an SR (it sends, so SR not RR) with a block about the phone");
  if (sr?.type !== "sr") {
    return;
  }
  const block = sr.reports.find((r) => r.ssrc === 0x5555);
  t.equal(block?.lastSr, ntpMiddle(sec, frac), "LSR = middle 32 bits of the phone's SR");
  t.equal(block?.extendedHighestSeq, 9);
  t.equal(block?.cumulativeLost, 0);
  t.equal(sr.packetCount, 10, "SR counts what the endpoint sent");
  const all = phone.rtcpReceived.flatMap((b) => parseRtcp(b));
  t.ok(
    all.some((p) => p.type === "sdes" && p.chunks[0]?.items[0]?.type === 1),
    "SDES CNAME in the compound",
  );
  // The phone answers with an RR about the endpoint's SR: the endpoint derives the RTT.
  const [s2, f2] = [sr.ntpSeconds, sr.ntpFraction];
  phone.raw(
    buildReceiverReport({
      ssrc: 0x5555,
      reports: [
        {
          ssrc: sr.ssrc,
          fractionLost: 0,
          cumulativeLost: 0,
          extendedHighestSeq: 9,
          jitter: 0,
          lastSr: ntpMiddle(s2, f2),
          delaySinceLastSr: 0,
        },
      ],
    }),
    true,
  );
  let rtt: unknown;
  await until(() => {
    invoke(ep, "getStats", { mediaType: "AUDIO" })
      .then((v) => {
        const out = Object.values(v as Record<string, JsonObject>).find((r) => r["type"] === "outboundrtp");
        rtt = out?.["roundTripTime"];
      })
      .catch(() => undefined);
    return typeof rtt === "number" && rtt > 0;
  }, 3000);
  t.ok(typeof rtt === "number" && rtt > 0 && rtt < 5, `roundTripTime from LSR/DLSR (${JSON.stringify(rtt)} s)`);
  const before = phone.rtcpReceived.length;
  ep.release();
  await until(() => phone.rtcpReceived.length > before, 1000);
  t.ok(
    phone.rtcpReceived.slice(before).some((b) => parseRtcp(b).some((p) => p.type === "bye")),
    "RTCP BYE on release",
  );
});

t.test("hold by re-offer (sendonly, then c=0.0.0.0) stops sending; resume restarts it", async (t) => {
  const { h, ep, phone } = await setup(t);
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  phone.send(8, 1, 0, 9, payloadOf(1));
  await until(() => phone.received.length === 1);
  const held = (await invoke(ep, "processOffer", { offer: phone.offer({ direction: "sendonly" }) })) as string;
  t.match(held, /a=recvonly/, "answer to a sendonly offer is recvonly");
  const port1 = /m=audio (\d+)/.exec(held)?.[1];
  t.match(await invoke(ep, "getLocalSessionDescriptor"), new RegExp(`m=audio ${port1 ?? "x"} `));
  phone.send(8, 2, 160, 9, payloadOf(2));
  await sleep(100);
  t.equal(phone.received.length, 1, "nothing sent while the phone holds");
  t.match(await invoke(ep, "processOffer", { offer: phone.offer({ address: "0.0.0.0" }) }), /a=recvonly/);
  const resumed = (await invoke(ep, "processOffer", { offer: phone.offer() })) as string;
  t.match(resumed, /a=sendrecv/);
  t.equal(/m=audio (\d+)/.exec(resumed)?.[1], port1, "same port across re-offers");
  phone.send(8, 3, 320, 9, payloadOf(3));
  await until(() => phone.received.length === 2);
  t.equal(phone.received[1]?.payload.subarray(0, 12).toString(), "pcma-frame-3");
});

t.test("media timeout: MediaStateChanged DISCONNECTED without RTP, CONNECTED when it resumes", async (t) => {
  const { h, ep, phone } = await setup(t, { mediaTimeoutMs: 300 });
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  phone.send(8, 1, 0, 9, payloadOf(1));
  await h.waitEvent(ep, "MediaStateChanged", (d) => d["newState"] === "CONNECTED");
  await h.waitEvent(ep, "MediaStateChanged", (d) => d["newState"] === "DISCONNECTED");
  t.equal(await invoke(ep, "getMediaState"), "DISCONNECTED");
  phone.send(8, 2, 160, 9, payloadOf(2));
  await until(() => h.eventsOf(ep, "MediaStateChanged").length === 3);
  t.same(
    h.eventsOf(ep, "MediaStateChanged").map((d) => d["newState"]),
    ["CONNECTED", "DISCONNECTED", "CONNECTED"],
  );
});

t.test("generateOffer / processAnswer with the phone as answerer", async (t) => {
  const { h, ep, phone } = await setup(t);
  const offer = (await invoke(ep, "generateOffer", { options: { offerToReceiveVideo: false } })) as string;
  t.match(offer, /m=audio \d+ RTP\/AVP /);
  t.notMatch(offer, /m=video/);
  t.match(offer, /a=rtpmap:0 PCMU\/8000/);
  t.match(offer, /a=rtpmap:8 PCMA\/8000/);
  t.match(offer, /a=rtpmap:\d+ AMR-WB\/16000/);
  t.match(offer, /a=rtpmap:\d+ opus\/48000\/2/);
  t.equal(await failure(invoke(ep, "generateOffer")), "SDP_END_POINT_ALREADY_NEGOTIATED");
  const answer = phone.offer({ codecs: "0" }).replace("o=phone 1 1", "o=phone 2 2");
  t.equal(await invoke(ep, "processAnswer", { answer }), offer, "processAnswer returns the local SDP");
  t.equal(await failure(invoke(ep, "processAnswer", { answer })), "SDP_END_POINT_ANSWER_ALREADY_PROCCESED");
  phone.aimAt(offer);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  phone.send(0, 7, 0, 3, Buffer.from("ulaw!"));
  await until(() => phone.received.length === 1);
  t.equal(phone.received[0]?.pt, 0, "sends PCMU with the answer's PT");
  t.equal(phone.received[0]?.payload.toString(), "ulaw!");
});

t.test("SDES-SRTP: SAVP offer, keys both ways, encrypted loopback, OnKeySoftLimit", async (t) => {
  const suite = findSuite("AES_CM_128_HMAC_SHA1_80");
  if (suite === undefined) {
    throw new Error("suite");
  }
  const epKey = randomBytes(30);
  const { h, ep, phone } = await setup(t, {
    crypto: {
      __module__: "kurento",
      __type__: "SDES",
      crypto: "AES_128_CM_HMAC_SHA1_80",
      keyBase64: epKey.toString("base64"),
    },
    keyLifetime: 40,
  });
  const phoneKey = randomBytes(30);
  t.equal(await failure(invoke(ep, "processOffer", { offer: phone.offer() })), "SDP_END_POINT_PROCESS_OFFER_ERROR");
  const offer = phone.offer({
    proto: "RTP/SAVP",
    extra: [`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${phoneKey.toString("base64")}`],
  });
  const answer = (await invoke(ep, "processOffer", { offer })) as string;
  t.match(answer, /m=audio \d+ RTP\/SAVP 8 101/);
  const line = /a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:(\S+)/.exec(answer);
  t.equal(line?.[1], epKey.toString("base64"), "the answer carries the endpoint's configured key");
  phone.aimAt(answer);
  phone.srtpOut = new SrtpSession(suite, phoneKey);
  phone.srtpIn = new SrtpSession(suite, epKey);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  for (let i = 0; i < 30; i++) {
    phone.send(8, 100 + i, 160 * i, 0x77, payloadOf(i));
    await sleep(1);
  }
  await until(() => phone.received.length >= 30);
  t.equal(phone.received.length, 30, "30 SRTP packets decrypted by the phone");
  t.same(phone.srtpErrors, []);
  t.equal(phone.received[29]?.payload.toString(), payloadOf(29).toString());
  // A packet protected with the wrong key is refused.
  const wrong = new SrtpSession(suite, randomBytes(30));
  const forged = wrong.protectRtp(
    Buffer.concat([Buffer.from([0x80, 8, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0x77]), payloadOf(0)]),
    12,
  );
  phone.raw(typeof forged === "string" ? Buffer.alloc(0) : forged);
  await until(() => ep.diagnostics.srtpFailures >= 1);
  t.equal(ep.diagnostics.srtpFailures, 1, "forged packet counted as an SRTP failure");
  t.same(h.eventsOf(ep, "OnKeySoftLimit"), [{ mediaType: "AUDIO" }], "soft limit of the 40-packet key reached once");
});

t.test("errors, parameters and ports", async (t) => {
  const h = await RtpHarness.create();
  t.teardown(() => h.close());
  t.equal(
    await failure(h.rtp({ crypto: { crypto: "AES_128_CM_HMAC_SHA1_80", key: "short" } })),
    "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
  );
  t.equal(await failure(h.rtp({ crypto: { crypto: "NOPE" } })), "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR");
  const ep = await h.rtp({ crypto: {} });
  t.equal(ep.secure, false, "empty SDES = plain RTP");
  t.equal(await failure(invoke(ep, "getLocalSessionDescriptor")), "SDP_END_POINT_NO_LOCAL_SDP_ERROR");
  t.equal(await failure(invoke(ep, "getRemoteSessionDescriptor")), "SDP_END_POINT_NO_REMOTE_SDP_ERROR");
  t.equal(await failure(invoke(ep, "processAnswer", { answer: "v=0" })), "SDP_END_POINT_NOT_OFFER_GENERATED");
  t.equal(await failure(invoke(ep, "processOffer", { offer: "garbage" })), "SDP_PARSE_ERROR");
  const phone = await Phone.open();
  t.teardown(() => phone.close());
  t.equal(
    await failure(invoke(ep, "processOffer", { offer: phone.offer({ codecs: "18" }) })),
    "SDP_END_POINT_PROCESS_OFFER_ERROR",
  );
  t.equal(h.ports.inUse, 0, "a failed offer returned its port pair");
  await invoke(ep, "processOffer", { offer: phone.offer() });
  t.equal(h.ports.inUse, 1);
  const ep2 = await h.rtp();
  await invoke(ep2, "generateOffer");
  t.equal(h.ports.inUse, 3, "audio + video pairs for the offer");
  t.equal(await invoke(ep2, "getMaxVideoSendBandwidth"), 500);
  h.pipeline.release();
  t.equal(h.ports.inUse, 0, "release returns every pair");
  t.equal(await failure(invoke(ep, "getStats")), "InvalidStateError");
});

t.test("SDES-SRTP: a re-offer with the same keys keeps the rollover counter across a sequence wrap", async (t) => {
  const suite = findSuite("AES_CM_128_HMAC_SHA1_32");
  if (suite === undefined) {
    throw new Error("suite");
  }
  const { h, ep, phone } = await setup(t, { crypto: { crypto: "AES_128_CM_HMAC_SHA1_32" } });
  const phoneKey = randomBytes(30);
  const offer = phone.offer({
    proto: "RTP/SAVP",
    extra: [`a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:${phoneKey.toString("base64")}|2^31`],
  });
  const answer = (await invoke(ep, "processOffer", { offer })) as string;
  const epKey = /a=crypto:7 AES_CM_128_HMAC_SHA1_32 inline:(\S+)/.exec(answer)?.[1];
  t.ok(epKey !== undefined, "answer keeps the offer's tag 7, with a generated key");
  phone.aimAt(answer);
  phone.srtpOut = new SrtpSession(suite, phoneKey);
  phone.srtpIn = new SrtpSession(suite, Buffer.from(epKey ?? "", "base64"));
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  const send = async (from: number, n: number): Promise<void> => {
    for (let i = from; i < from + n; i++) {
      phone.send(8, (65500 + i) % 65536, 160 * i, 0x99, payloadOf(i));
      await sleep(1);
    }
  };
  await send(0, 60); // wraps after 36 packets
  await until(() => phone.received.length >= 60);
  t.equal(phone.received.length, 60, "60 packets across the wrap decrypted both ways");
  t.equal(await invoke(ep, "processOffer", { offer }), answer.replace(/o=(\S+) (\S+) 0 /, "o=$1 $2 1 "));
  await send(60, 20);
  await until(() => phone.received.length >= 80);
  t.equal(phone.received.length, 80, "still decrypting after the re-offer (ROC 1 kept)");
  t.equal(ep.diagnostics.seqWraps, 1, "the wrap is counted");
  t.same(phone.srtpErrors, []);
  t.equal(ep.diagnostics.srtpFailures, 0);
  t.equal(phone.received[79]?.payload.toString(), payloadOf(79).toString());
});

t.test("VP8 video passes through on its own port; a video sink gets a PLI sent to the peer", async (t) => {
  const h = await RtpHarness.create();
  const ep = await h.rtp();
  const audio = await Phone.open();
  const video = await Phone.open();
  t.teardown(() => {
    audio.close();
    video.close();
    h.close();
  });
  const offer = [
    "v=0",
    "o=cam 1 1 IN IP4 127.0.0.1",
    "s=cam",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${audio.port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    `m=video ${video.port} RTP/AVP 100`,
    "a=rtpmap:100 VP8/90000",
    "a=rtcp-fb:100 nack pli",
    "",
  ].join("\r\n");
  const answer = (await invoke(ep, "processOffer", { offer })) as string;
  const ports = [...answer.matchAll(/m=(audio|video) (\d+) RTP\/AVP (\d+)/g)].map((m) => [m[1], m[2], m[3]]);
  t.equal(ports.length, 2);
  t.equal(ports[1]?.[2], "100", "VP8 accepted with the offered PT");
  t.not(ports[0]?.[1], ports[1]?.[1], "one port pair per m-line");
  video.target = { address: "127.0.0.1", port: Number(ports[1]?.[1]) };
  h.pipeline.connect(ep, ep, "VIDEO", "default", "default"); // the sink wants a keyframe; no video SSRC known yet
  const inter = Buffer.from([0x10, 0x01, 0x02, 0x03, 0xaa, 0xbb]); // VP8 descriptor S=1, P=1: not a keyframe
  video.send(100, 1, 0, 0xc0ffee, inter, true);
  await until(() => video.received.length === 1 && video.rtcpReceived.length >= 1);
  t.ok(video.received[0]?.payload.equals(inter), "VP8 payload looped back byte for byte");
  t.equal(video.received[0]?.pt, 100);
  const pli = video.rtcpReceived.flatMap((b) => parseRtcp(b)).find((p) => p.type === "other" && p.packetType === 206);
  t.ok(pli?.type === "other" && pli.count === 1 && pli.mediaSsrc === 0xc0ffee, "PLI for the peer's video SSRC");
});

t.test("sendDtmf: RFC 4733 events on the negotiated PT, continuous numbering, audio held back meanwhile", async (t) => {
  const { h, ep, phone } = await setup(t);
  t.equal(await failure(invoke(ep, "sendDtmf", { digits: "1" })), "SDP_END_POINT_NO_REMOTE_SDP_ERROR");
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer() })) as string);
  t.equal(await failure(invoke(ep, "sendDtmf", { digits: "1x" })), "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR");
  t.equal(await failure(invoke(ep, "sendDtmf", { digits: "1", durationMs: 5 })), "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR");
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  // Audio flows first (the phone's own, looped back), then three digits while the phone keeps sending.
  let seq = 0;
  const audio = setInterval(() => {
    phone.send(8, seq, 160 * seq, 0x31, payloadOf(seq));
    seq++;
  }, 20);
  t.teardown(() => clearInterval(audio));
  await until(() => phone.received.length >= 5);
  t.equal(await invoke(ep, "sendDtmf", { digits: "12#", durationMs: 100, gapMs: 60 }), null);
  await until(() => phone.received.filter((p) => p.pt === 101).length >= 12, 3000);
  await sleep(100);
  clearInterval(audio);
  const detector = new DtmfDetector();
  const digits = phone.received
    .filter((p) => p.pt === 101)
    .flatMap((p) => detector.push(p.ts, p.payload, 8000))
    .map((d) => `${d.digit}:${d.durationMs}`);
  t.same(digits, ["1:100", "2:100", "#:100"], "the phone decodes 1, 2, # of 100 ms each");
  const events = phone.received.filter((p) => p.pt === 101);
  t.equal(events.length, 12, "per digit: one update and the end three times");
  t.same(
    events.filter((p) => p.marker).map((p) => parseTelephoneEvent(p.payload).event),
    [1, 2, 11],
    "marker on each event's first packet",
  );
  const tsOf = [...new Set(events.map((p) => p.ts))];
  t.equal(tsOf.length, 3, "one timestamp per event");
  t.same(
    [(tsOf[1] ?? 0) - (tsOf[0] ?? 0), (tsOf[2] ?? 0) - (tsOf[1] ?? 0)],
    [1280, 1280],
    "event starts 100 + 60 ms apart on the 8 kHz clock",
  );
  const all = phone.received;
  t.ok(
    all.every((p, i) => i === 0 || p.seq === ((all[i - 1]?.seq ?? 0) + 1) % 65536),
    "one continuous sequence across audio and DTMF",
  );
  const first = all.findIndex((p) => p.pt === 101);
  const last = all.length - 1 - [...all].reverse().findIndex((p) => p.pt === 101);
  t.ok(first > 0 && last < all.length, "audio before the digits");
  const interleaved = all.slice(first, last + 1).filter((p) => p.pt === 8).length;
  t.equal(interleaved, 0, "no audio between the first and the last event packet");
});

t.test("rtcp-mux offered: answered, RTCP flows on the RTP port; a=inactive stops media both ways", async (t) => {
  const { h, ep, phone } = await setup(t, { rtcpIntervalMs: 100 });
  const answer = (await invoke(ep, "processOffer", { offer: phone.offer({ extra: ["a=rtcp-mux"] }) })) as string;
  t.match(answer, /a=rtcp-mux/);
  phone.aimAt(answer);
  h.pipeline.connect(ep, ep, "AUDIO", "default", "default");
  phone.send(8, 1, 0, 5, payloadOf(1));
  phone.raw(buildReceiverReport({ ssrc: 5, reports: [] })); // muxed RTCP, on the RTP port
  await until(() => phone.received.length === 1 && phone.rtcpReceived.length >= 1, 3000);
  t.equal(phone.received.length, 1);
  t.ok(phone.rtcpReceived.length >= 1, "reports arrive on the phone's RTP port (muxed)");
  t.equal(ep.diagnostics.malformedRtp + ep.diagnostics.malformedRtcp, 0, "muxed RTCP was not taken for RTP");
  t.match(await invoke(ep, "processOffer", { offer: phone.offer({ direction: "inactive" }) }), /a=inactive/);
  phone.send(8, 2, 160, 5, payloadOf(2));
  await sleep(100);
  t.equal(phone.received.length, 1, "inactive: nothing sent");
  const stats = (await invoke(ep, "getStats")) as Record<string, JsonObject>;
  t.equal(
    Object.values(stats).find((r) => r["type"] === "inboundrtp")?.["packetsReceived"],
    1,
    "and the packet that came in while inactive was not taken into the pipeline",
  );
});
