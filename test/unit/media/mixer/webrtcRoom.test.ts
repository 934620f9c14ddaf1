/**
 * A room of SIP-like and WebRTC participants: a werift peer (Opus over real ICE/DTLS-SRTP on 127.0.0.1) sending
 * 400 Hz and two PCMU phones sending 700 and 1000 Hz, all on HubPorts of one Composite. The werift peer hears 700
 * and 1000 Hz and not itself (its Opus decoded with media/codecs); each phone hears the peer and the other phone.
 * The mix reaches the WebRtcEndpoint as Opus untouched (no transcoder on the way).
 */
import t from "tap";
import { RtpHeader, RtpPacket } from "werift";
import type { JsonObject } from "../../../../media/channel/protocol.js";
import { createDecoder, createEncoder } from "../../../../media/codecs/index.js";
import { Composite } from "../../../../media/elements/Composite.js";
import { HubPort } from "../../../../media/elements/HubPort.js";
import { WebRtcEndpoint } from "../../../../media/elements/WebRtcEndpoint.js";
import { generateTone, toneLevelDb } from "../../../helpers/tone.js";
import { makePeer, offerFromPeer, waitConnected } from "../fixtures/webrtcHarness.js";
import { Phone, RtpHarness, invoke } from "../rtp/fixtures/rtpHarness.js";
import { decodeReceived, sleep, streamTone } from "../transcode/fixtures/audio.js";

const mid = (pcm: Int16Array): Int16Array => pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));

t.test("werift (Opus) and two PCMU phones in one Composite: everyone hears the others, not themselves", async (t) => {
  t.setTimeout(60_000);
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const web = await h.element(WebRtcEndpoint, "WebRtcEndpoint");
  const pc = makePeer();
  const phones: Phone[] = [];
  const trickle: { timer?: NodeJS.Timeout } = {};
  t.teardown(async () => {
    clearInterval(trickle.timer);
    await pc.close();
    phones.forEach((p) => p.close());
    h.close();
  });

  const received: Buffer[] = [];
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((p) => {
      if (track.kind === "audio" && p.payload.length > 0) {
        received.push(Buffer.from(p.payload));
      }
    });
  });
  const { sdp, tracks } = await offerFromPeer(pc);
  const answer = (await invoke(web, "processOffer", { offer: sdp })) as string;
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  await invoke(web, "gatherCandidates");
  const seen = new Set<JsonObject>();
  trickle.timer = setInterval(() => {
    for (const d of h.eventsOf(web, "IceCandidateFound")) {
      if (!seen.has(d)) {
        seen.add(d);
        const c = d["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number };
        pc.addIceCandidate(c).catch(() => undefined);
      }
    }
  }, 20);
  await waitConnected(pc);
  await h.waitEvent(web, "DtlsConnectionStateChange", (d) => d["state"] === "CONNECTED");
  const webPort = await h.element(HubPort, "HubPort", { hub: hub.id });
  h.pipeline.connect(web, webPort, "AUDIO", "default", "default");
  h.pipeline.connect(webPort, web, "AUDIO", "default", "default");

  for (let i = 0; i < 2; i++) {
    const ep = await h.rtp();
    const phone = await Phone.open();
    phones.push(phone);
    phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer({ codecs: "0" }) })) as string);
    const port = await h.element(HubPort, "HubPort", { hub: hub.id });
    h.pipeline.connect(ep, port, "AUDIO", "default", "default");
    h.pipeline.connect(port, ep, "AUDIO", "default", "default");
  }

  const enc = createEncoder("opus", { sampleRate: 48000 });
  t.teardown(() => enc.close());
  const tone = generateTone(400, { sampleRate: 48000, samples: 960 * 100, amplitude: 8000 });
  const fromWeb = (async (): Promise<void> => {
    const start = performance.now();
    for (let i = 0; i < 100; i++) {
      const hdr = new RtpHeader({ payloadType: 111, sequenceNumber: 9000 + i, timestamp: 960 * i, marker: i === 0 });
      tracks.audio.writeRtp(new RtpPacket(hdr, Buffer.from(enc.encode(tone.subarray(960 * i, 960 * (i + 1))))));
      await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
    }
  })();
  const [p1, p2] = phones as [Phone, Phone];
  await Promise.all([
    fromWeb,
    streamTone(p1, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 100, frequency: 700, ssrc: 7 }),
    streamTone(p2, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 100, frequency: 1000, ssrc: 8 }),
  ]);
  await sleep(200);

  t.ok(received.length >= 90, `the werift peer received ${received.length} Opus packets`);
  const dec = createDecoder("opus", { sampleRate: 48000 });
  const atWeb = mid(Int16Array.from(received.flatMap((p) => Array.from(dec.decode(p)))));
  dec.close();
  const w = (f: number): number => toneLevelDb(atWeb, 48000, f);
  t.comment(`werift hears 400 ${w(400).toFixed(1)}, 700 ${w(700).toFixed(1)}, 1000 ${w(1000).toFixed(1)} dB`);
  t.ok(w(700) > -30 && w(1000) > -30, "the werift peer hears both phones");
  t.ok(w(400) < w(700) - 30, "the werift peer does not hear itself");
  t.equal(await invoke(webPort, "isMediaTranscoding", { mediaType: "AUDIO" }), false, "Opus mix goes out untouched");

  for (const [phone, own, other] of [
    [p1, 700, 1000],
    [p2, 1000, 700],
  ] as const) {
    const pcm = mid(decodeReceived(phone, 0, "PCMU"));
    const l = (f: number): number => toneLevelDb(pcm, 8000, f);
    t.ok(l(400) > -30 && l(other) > -30, `the ${own} Hz phone hears the werift peer and the other phone`);
    t.ok(l(own) < l(400) - 30, `the ${own} Hz phone does not hear itself (${l(own).toFixed(1)} dB)`);
  }
});
