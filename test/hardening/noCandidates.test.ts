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
import { RtpHeader, RtpPacket } from "werift";
import { createDecoder, createEncoder } from "../../media/codecs/index.js";
import { NO_INTERFACE_WARNING, withLoopbackFallback } from "../../src/config/networkFallback.js";
import { connect, connectClient, createPipeline, createWebRtc, negotiate } from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { generateTone, measureFrequency } from "../helpers/tone.js";
import { parsePayload, WeriftPeer } from "../helpers/weriftPeer.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

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

  // Then a 1 kHz tone, Opus-encoded, on the same audio track: it comes back and decodes to 1 kHz.
  peer.stopMedia();
  const audio = peer.pc.getTransceivers().find((x) => x.kind === "audio");
  const out = audio?.sender.track;
  const back: Buffer[] = [];
  audio?.receiver.track?.onReceiveRtp.subscribe((p) => {
    if (p.payload.length > 0 && parsePayload(p.payload) === undefined) {
      back.push(Buffer.from(p.payload));
    }
  });
  if (out === undefined || out === null || audio === undefined) {
    t.fail("no audio track");
    return;
  }
  const enc = createEncoder("opus", { sampleRate: 48000 });
  const frames = 75;
  const tone = generateTone(1000, { sampleRate: 48000, samples: 960 * frames, amplitude: 8000 });
  const seq0 = peer.sent.audio;
  const start = performance.now();
  for (let i = 0; i < frames; i++) {
    const header = new RtpHeader({
      payloadType: 111,
      sequenceNumber: (seq0 + i) & 0xffff,
      timestamp: ((seq0 + i) * 960) >>> 0,
      ssrc: 0x1111,
    });
    out.writeRtp(new RtpPacket(header, Buffer.from(enc.encode(tone.subarray(960 * i, 960 * (i + 1))))));
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
  enc.close();
  await sleep(300);
  t.ok(back.length >= frames * 0.8, `the tone came back (${back.length} of ${frames} packets)`);
  const dec = createDecoder("opus", { sampleRate: 48000 });
  const pcm = Int16Array.from(back.flatMap((b) => Array.from(dec.decode(b))));
  dec.close();
  const mid = pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
  const f = measureFrequency(mid, 48000);
  t.ok(Math.abs(f - 1000) < 10, `the peer hears ${f.toFixed(1)} Hz`);
});
