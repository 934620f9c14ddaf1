import t from "tap";
import { MediaOperationError } from "../../../media/errors.js";
import {
  Harness,
  connectPeer,
  collectReceived,
  invoke,
  makePeer,
  offerFromPeer,
  rtp,
  sleep,
  trickleTo,
  vp8,
  waitConnected,
  withoutCandidates,
} from "./fixtures/webrtcHarness.js";

t.test("loopback: Opus and VP8 payloads come back to the peer", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const ep = await h.endpoint();
  const peer = makePeer();
  t.teardown(async () => {
    await peer.close();
    h.pipeline.release();
  });
  h.pipeline.connect(ep, ep, undefined, "default", "default");
  const got = collectReceived(peer);

  const { sdp, tracks } = await offerFromPeer(peer);
  const answer = (await invoke(ep, "processOffer", { offer: sdp })) as string;
  t.match(answer, /a=group:BUNDLE/, "answer bundles");
  t.match(answer, /a=rtcp-mux/, "answer muxes RTCP");
  t.match(answer, /a=setup:active/, "DTLS client when answering actpass");
  t.match(answer, /^s=Kurento Media Server$/m);
  t.match(answer, /opus\/48000\/2/i);
  t.match(answer, /VP8\/90000/i);
  t.match(answer, /a=rtcp-fb:\d+ nack pli/);
  t.notMatch(answer, /a=candidate/, "no candidates before gatherCandidates()");
  t.equal(h.eventsOf(ep, "IceCandidateFound").length, 0, "no IceCandidateFound before gatherCandidates()");

  await peer.setRemoteDescription({ type: "answer", sdp: answer });
  await invoke(ep, "gatherCandidates");
  const found = h.eventsOf(ep, "IceCandidateFound");
  t.ok(found.length > 0, "candidates raised after gatherCandidates()");
  const c = found[0]?.["candidate"] as Record<string, unknown>;
  t.match(c, { __module__: "kurento", __type__: "IceCandidate", sdpMid: String, sdpMLineIndex: Number });
  t.match(c["candidate"], /^candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
  const port = Number(String(c["candidate"]).split(" ")[5]);
  t.ok(port >= 41000 && port <= 41999, `ICE port ${port} is from the worker's slice`);
  await h.waitEvent(ep, "IceGatheringDone");
  trickleTo(h, ep, peer);

  await waitConnected(peer);
  await h.waitEvent(ep, "DtlsConnectionStateChange", (d) => d["state"] === "CONNECTED");
  await h.waitEvent(ep, "ConnectionStateChanged", (d) => d["newState"] === "CONNECTED");
  await h.waitEvent(ep, "MediaSessionStarted");
  const pair = await h.waitEvent(ep, "NewCandidatePairSelected");
  t.match(pair["candidatePair"], { __type__: "IceCandidatePair", streamId: "1", componentId: 1 });
  t.ok(
    h.eventsOf(ep, "IceComponentStateChanged").some((e) => e["state"] === "READY"),
    "ICE component reached READY",
  );

  for (let i = 0; i < 20; i++) {
    tracks.audio.writeRtp(rtp(1000 + i, 960 * i, Buffer.from(`AUD-${i}`)));
    tracks.video.writeRtp(rtp(5000 + i, 3000 * i, vp8(`VID-${i}`, i === 0), true));
    await sleep(10);
  }
  for (let i = 0; i < 100 && (got.audio.length < 20 || got.video.length < 20); i++) {
    await sleep(20);
  }
  const audio = got.audio.map((b) => b.toString());
  const video = got.video.map((b) => b.subarray(2).toString());
  t.same(
    audio.slice(0, 20),
    [...Array(20).keys()].map((i) => `AUD-${i}`),
    "audio payloads loop back in order",
  );
  t.same(
    video.slice(0, 20),
    [...Array(20).keys()].map((i) => `VID-${i}`),
    "video payloads loop back in order",
  );
  t.equal(await invoke(ep, "getMediaState"), "CONNECTED");
  t.equal(await invoke(ep, "getConnectionState"), "CONNECTED");
  t.equal(await invoke(ep, "isMediaFlowingIn", { mediaType: "VIDEO" }), true);

  const stats = (await invoke(ep, "getStats")) as Record<string, Record<string, unknown>>;
  const inbound = Object.values(stats).filter((s) => s["type"] === "inboundrtp");
  const outbound = Object.values(stats).filter((s) => s["type"] === "outboundrtp");
  t.equal(inbound.length, 2, "one inbound record per remote SSRC");
  t.equal(outbound.length, 2, "one outbound record per kind");
  for (const s of [...inbound, ...outbound]) {
    t.match(s, { __module__: "kurento", id: String, ssrc: String, timestampMillis: Number });
    t.equal(s["id"], s["ssrc"]);
  }
  t.ok(inbound.every((s) => s["packetsReceived"] === 20 && (s["bytesReceived"] as number) > 0));
  t.ok(outbound.every((s) => s["packetsSent"] === 20));
  const endpointStats = stats[ep.id];
  t.match(endpointStats, { __type__: "EndpointStats", type: "endpoint", inputLatency: [], E2ELatency: Array });
  t.same(
    (endpointStats?.["E2ELatency"] as { type: string }[]).map((l) => l.type).sort(),
    ["AUDIO", "VIDEO"],
    "an E2E latency per kind sent (each SendStream's)",
  );
  const videoOnly = (await invoke(ep, "getStats", { mediaType: "VIDEO" })) as Record<string, Record<string, unknown>>;
  t.equal(Object.values(videoOnly).filter((s) => s["type"] === "inboundrtp").length, 1, "mediaType filter");
});

t.test("negotiation errors carry Kurento error types", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  t.teardown(() => h.pipeline.release());
  const code = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return "resolved";
    } catch (err) {
      return err instanceof MediaOperationError ? err.kurentoType : `other: ${String(err)}`;
    }
  };

  const a = await h.endpoint();
  t.equal(await code(invoke(a, "getLocalSessionDescriptor")), "SDP_END_POINT_NO_LOCAL_SDP_ERROR");
  t.equal(await code(invoke(a, "getRemoteSessionDescriptor")), "SDP_END_POINT_NO_REMOTE_SDP_ERROR");
  t.equal(await code(invoke(a, "processAnswer", { answer: "v=0\r\n" })), "SDP_END_POINT_NOT_OFFER_GENERATED");
  t.equal(await code(invoke(a, "processOffer", { offer: "" })), "SDP_PARSE_ERROR");
  t.equal(await code(invoke(a, "processOffer", { offer: "hello world" })), "SDP_PARSE_ERROR");
  t.equal(
    await code(invoke(a, "processOffer", { offer: "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\n" })),
    "SDP_PARSE_ERROR",
  );
  try {
    await invoke(a, "processOffer", { offer: "garbage" });
  } catch (err) {
    t.ok(err instanceof Error && err.message.length > 0, "SDP_PARSE_ERROR has a message");
  }

  // A valid negotiation, then the second-call errors.
  const peer = makePeer();
  t.teardown(() => peer.close());
  const sdp = withoutCandidates((await offerFromPeer(peer)).sdp);
  const answer = await invoke(a, "processOffer", { offer: sdp });
  t.type(answer, "string");
  t.equal(await code(invoke(a, "processOffer", { offer: sdp })), "SDP_END_POINT_ALREADY_NEGOTIATED");
  t.equal(await code(invoke(a, "generateOffer")), "SDP_END_POINT_ALREADY_NEGOTIATED");
  t.equal(await code(invoke(a, "processAnswer", { answer: sdp })), "SDP_END_POINT_ANSWER_ALREADY_PROCCESED");
  t.equal(await invoke(a, "getRemoteSessionDescriptor"), sdp);
  t.match(await invoke(a, "getLocalSessionDescriptor"), /^v=0/);

  // generateOffer → processAnswer → second processAnswer.
  const b = await h.endpoint();
  const offer = (await invoke(b, "generateOffer", {
    options: { offerToReceiveAudio: true, offerToReceiveVideo: true },
  })) as string;
  t.match(offer, /m=audio/);
  t.match(offer, /m=video/);
  t.match(offer, /a=setup:actpass/);
  t.notMatch(offer, /a=candidate/);
  t.match(offer, /a=rtcp-fb:\d+ ccm fir/);
  t.match(offer, /a=rtcp-fb:\d+ goog-remb/);
  t.equal(await code(invoke(b, "generateOffer")), "SDP_END_POINT_ALREADY_NEGOTIATED");
  t.equal(await code(invoke(b, "processAnswer", { answer: "nonsense" })), "SDP_PARSE_ERROR");
  const peer2 = makePeer();
  t.teardown(() => peer2.close());
  await peer2.setRemoteDescription({ type: "offer", sdp: offer });
  await peer2.setLocalDescription(await peer2.createAnswer());
  const peerAnswer = withoutCandidates(peer2.localDescription?.sdp ?? "");
  const local = await invoke(b, "processAnswer", { answer: peerAnswer });
  t.match(local, /^v=0/);
  t.equal(await invoke(b, "getRemoteSessionDescriptor"), peerAnswer);
  t.equal(await code(invoke(b, "processAnswer", { answer: peerAnswer })), "SDP_END_POINT_ANSWER_ALREADY_PROCCESED");
});

t.test("addIceCandidate: queued before processOffer, garbage refused", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const ep = await h.endpoint();
  const peer = makePeer();
  t.teardown(async () => {
    await peer.close();
    h.pipeline.release();
  });
  const bad = async (c: unknown): Promise<string | undefined> => {
    try {
      await invoke(ep, "addIceCandidate", { candidate: c as never });
      return undefined;
    } catch (err) {
      return err instanceof MediaOperationError ? err.kurentoType : String(err);
    }
  };
  t.equal(
    await bad({ candidate: "not a candidate", sdpMid: "0", sdpMLineIndex: 0 }),
    "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
  );
  t.equal(await bad("string"), "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR");
  t.equal(
    await bad({ candidate: "candidate:1 1 udp 1 127.0.0.1 99999 typ host", sdpMid: "0", sdpMLineIndex: 0 }),
    "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR",
  );

  // The peer's candidates arrive before its offer (trickle race), with the offer itself stripped of them.
  const { sdp, tracks } = await offerFromPeer(peer);
  const cands = sdp.split("\r\n").filter((l) => l.startsWith("a=candidate:"));
  t.ok(cands.length > 0);
  for (const l of cands) {
    t.equal(
      await bad({
        __module__: "kurento",
        __type__: "IceCandidate",
        candidate: l.slice(2),
        sdpMid: "0",
        sdpMLineIndex: 0,
      }),
      undefined,
    );
  }
  const answer = (await invoke(ep, "processOffer", { offer: withoutCandidates(sdp) })) as string;
  await peer.setRemoteDescription({ type: "answer", sdp: answer });
  await invoke(ep, "gatherCandidates");
  trickleTo(h, ep, peer);
  await waitConnected(peer);
  await h.waitEvent(ep, "DtlsConnectionStateChange", (d) => d["state"] === "CONNECTED");
  t.pass("connected with candidates given before the offer");
  void tracks;
});

t.test("release frees the port pair and is idempotent", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness(42000, 42009);
  const peer = makePeer();
  t.teardown(() => peer.close());
  const ep = await h.endpoint();
  t.equal(h.ports.inUse, 1, "one pair reserved per endpoint");
  await connectPeer(h, ep, peer);
  ep.release();
  ep.release();
  t.equal(h.ports.inUse, 0, "pair released");
  t.equal(ep.released, true);
  const others = await Promise.all([h.endpoint(), h.endpoint()]);
  t.equal(h.ports.inUse, 2);
  h.pipeline.release();
  t.equal(h.ports.inUse, 0, "pipeline release frees every endpoint's pair");
  t.ok(others.every((o) => o.released));
});

t.test("externalIPv4 replaces the announced address; recvonly sets the direction", async (t) => {
  t.setTimeout(20_000);
  const h = new Harness();
  const peer = makePeer();
  t.teardown(async () => {
    await peer.close();
    h.pipeline.release();
  });
  const ep = await h.endpoint({ recvonly: true });
  await invoke(ep, "setExternalIPv4", { externalIPv4: "198.51.100.7" });
  t.equal(await invoke(ep, "getExternalIPv4"), "198.51.100.7");
  t.equal(await invoke(ep, "getMtu"), 1200, "BaseRtpEndpoint defaults");
  await invoke(ep, "setMaxVideoSendBandwidth", { maxVideoSendBandwidth: 2000 });
  t.equal(await invoke(ep, "getMaxVideoSendBandwidth"), 2000);
  const answer = (await invoke(ep, "processOffer", {
    offer: withoutCandidates((await offerFromPeer(peer)).sdp),
  })) as string;
  t.match(answer, /a=recvonly/);
  t.notMatch(answer, /a=sendrecv/);
  await invoke(ep, "gatherCandidates");
  await h.waitEvent(ep, "IceGatheringDone");
  const c = h.eventsOf(ep, "IceCandidateFound")[0]?.["candidate"] as { candidate: string } | undefined;
  t.match(c?.candidate, / 198\.51\.100\.7 \d+ typ host/);
  t.match(await invoke(ep, "getLocalSessionDescriptor"), /a=candidate:\S+ 1 udp \d+ 198\.51\.100\.7 /);
  t.match(await invoke(ep, "getIceConnectionState"), [{ __type__: "IceConnection", streamId: "1", componentId: 1 }]);
  t.match(await invoke(ep, "getDtlsConnectionState"), [{ __type__: "DtlsConnection", state: String }]);
});
