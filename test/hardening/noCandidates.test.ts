/**
 * Issue 16 §3, "no candidates": with `webrtc.interfaces` empty on a host with only loopback, ICE used to gather
 * nothing and a WebRtcEndpoint silently never connected. Now the server falls back to 127.0.0.1 with a warning.
 *
 * Runs in a private network namespace with only `lo` up (test/helpers/loopbackNamespace.ts): a server started with
 * `webrtc.interfaces: []` logs the warning, its WebRtcEndpoint offers a 127.0.0.1 candidate, a werift peer
 * connects to it, and media flows: the endpoint is connected to itself, so every audio and video payload the peer
 * sends comes back, compared byte for byte (WeriftPeer).
 */
import "../helpers/loopbackNamespace.js";
import os from "node:os";
import t from "tap";
import { NO_INTERFACE_WARNING, withLoopbackFallback } from "../../src/config/networkFallback.js";
import { connect, connectClient, createPipeline, createWebRtc, negotiate } from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { WeriftPeer } from "../helpers/weriftPeer.js";

t.test("the namespace has loopback only", async (t) => {
  const names = Object.keys(os.networkInterfaces());
  t.same(names, ["lo"], "only lo is up");
  const warnings: string[] = [];
  const s = withLoopbackFallback({ interfaces: [] as string[] }, { warn: (_f, m) => warnings.push(m) });
  t.same(s.interfaces, ["127.0.0.1"]);
  t.same(warnings, [NO_INTERFACE_WARNING]);
  const kept = withLoopbackFallback({ interfaces: ["127.0.0.1"] }, { warn: (_f, m) => warnings.push(m) });
  t.same(kept.interfaces, ["127.0.0.1"]);
  t.equal(warnings.length, 1, "configured interfaces are kept, without a warning");
});

t.test("a WebRtcEndpoint connects over the loopback fallback, with a warning", async (t) => {
  const korus = await startKorus(t, { workers: 1, startTimeoutMs: 60_000, config: { webrtc: { interfaces: [] } } });
  t.match(korus.output(), /no usable network interface for ICE and SDP/, "the warning is logged");
  const { client } = await connectClient(t, korus.url);
  const pipeline = await createPipeline(client);
  const ep = await createWebRtc(pipeline);
  await connect(ep, ep);
  const peer = new WeriftPeer({
    id: "nocand",
    onLocalCandidate: (c) => {
      void ep.addIceCandidate(c, () => undefined);
    },
  });
  t.teardown(() => peer.close());
  const found: string[] = [];
  ep.on("IceCandidateFound", (ev) => {
    found.push(String((ev["candidate"] as { candidate?: unknown } | undefined)?.candidate));
  });
  await negotiate(ep, peer, await peer.createOffer());
  t.ok(
    found.some((c) => c.includes(" 127.0.0.1 ")),
    `the endpoint gathered a 127.0.0.1 candidate: ${found.join(" | ")}`,
  );
  t.ok(peer.connected, "ICE and DTLS connected");
  peer.startMedia();
  await peer.waitForPayloads("nocand", "audio", 50, 15_000);
  await peer.waitForPayloads("nocand", "video", 20, 15_000);
  t.equal(peer.corrupt, 0, "every payload came back intact");
});
