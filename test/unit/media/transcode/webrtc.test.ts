/**
 * RtpEndpoint (PCMU) ↔ WebRtcEndpoint (Opus) through the automatic transcoder, with a werift peer over real
 * ICE/DTLS-SRTP on 127.0.0.1 on the WebRTC side and a UDP phone on the RTP side. A 1 kHz tone goes in on each side
 * (Opus encoded by media/codecs at the werift peer, PCMU at the phone) and its frequency is measured on what the
 * other side receives (the werift peer's Opus decoded with media/codecs).
 */
import t from "tap";
import { RtpHeader, RtpPacket } from "werift";
import type { JsonObject } from "../../../../media/channel/protocol.js";
import { createDecoder, createEncoder } from "../../../../media/codecs/index.js";
import { WebRtcEndpoint } from "../../../../media/elements/WebRtcEndpoint.js";
import { generateTone } from "../../../helpers/tone.js";
import { makePeer, offerFromPeer, waitConnected } from "../fixtures/webrtcHarness.js";
import { Phone, RtpHarness, invoke } from "../rtp/fixtures/rtpHarness.js";
import { analyse, continuous, decodeReceived, packetsOf, sleep, streamTone } from "./fixtures/audio.js";

t.test("PCMU phone ↔ RtpEndpoint ↔ WebRtcEndpoint ↔ werift (Opus): 1 kHz both ways", async (t) => {
  t.setTimeout(60_000);
  const h = await RtpHarness.create();
  const rtp = await h.rtp();
  const web = await h.element(WebRtcEndpoint, "WebRtcEndpoint");
  const phone = await Phone.open();
  const pc = makePeer();
  const trickle: { timer?: NodeJS.Timeout } = {};
  t.teardown(async () => {
    clearInterval(trickle.timer);
    await pc.close();
    phone.close();
    h.close();
  });

  // WebRTC leg.
  const received: { seq: number; ts: number; payload: Buffer }[] = [];
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((p) => {
      if (track.kind === "audio" && p.payload.length > 0) {
        received.push({ seq: p.header.sequenceNumber, ts: p.header.timestamp, payload: Buffer.from(p.payload) });
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

  // RTP leg: the phone offers PCMU only.
  const rtpAnswer = (await invoke(rtp, "processOffer", { offer: phone.offer({ codecs: "0" }) })) as string;
  t.match(rtpAnswer, /m=audio \d+ RTP\/AVP 0\r\n/, "the phone's leg is PCMU only");
  phone.aimAt(rtpAnswer);
  h.pipeline.connect(web, rtp, "AUDIO", "default", "default");
  h.pipeline.connect(rtp, web, "AUDIO", "default", "default");

  // Tones both ways at once, 60 × 20 ms.
  const enc = createEncoder("opus", { sampleRate: 48000 });
  const tone = generateTone(1000, { sampleRate: 48000, samples: 960 * 60, amplitude: 8000 });
  const fromWeb = (async (): Promise<void> => {
    const start = performance.now();
    for (let i = 0; i < 60; i++) {
      const hdr = new RtpHeader({ payloadType: 111, sequenceNumber: 7000 + i, timestamp: 960 * i, marker: i === 0 });
      tracks.audio.writeRtp(new RtpPacket(hdr, Buffer.from(enc.encode(tone.subarray(960 * i, 960 * (i + 1))))));
      await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
    }
  })();
  await Promise.all([fromWeb, streamTone(phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 60 })]);
  enc.close();
  await sleep(200);

  const atPhone = packetsOf(phone, 0);
  t.ok(atPhone.length >= 50, `the phone received ${atPhone.length} PCMU packets`);
  t.ok(continuous(atPhone, 160), "PCMU: sequence +1, timestamp +160");
  const fPhone = analyse(decodeReceived(phone, 0, "PCMU"), 8000);
  t.ok(Math.abs(fPhone.frequency - 1000) < 10, `the phone hears ${fPhone.frequency.toFixed(1)} Hz (from Opus)`);

  t.ok(received.length >= 50, `the werift peer received ${received.length} Opus packets`);
  const dec = createDecoder("opus", { sampleRate: 48000 });
  const pcm = received.flatMap((p) => Array.from(dec.decode(p.payload)));
  dec.close();
  const fWeb = analyse(Int16Array.from(pcm), 48000);
  t.ok(Math.abs(fWeb.frequency - 1000) < 10, `the werift peer hears ${fWeb.frequency.toFixed(1)} Hz (from PCMU)`);
  const tsSteps = new Set(received.slice(1).map((p, i) => (p.ts - (received[i]?.ts ?? 0)) >>> 0));
  t.same([...tsSteps], [960], "Opus timestamps advance 960 per 20 ms although the encoder ran at 8 kHz");

  t.equal(await invoke(rtp, "isMediaTranscoding", { mediaType: "AUDIO" }), true, "RtpEndpoint transcodes PCMU→Opus");
  t.equal(await invoke(web, "isMediaTranscoding", { mediaType: "AUDIO" }), true, "WebRtcEndpoint transcodes Opus→PCMU");
  t.equal(await invoke(web, "isMediaTranscoding", { mediaType: "VIDEO" }), false);
  t.same(h.eventsOf(web, "MediaTranscodingStateChanged"), [
    { binName: `${web.id}_audio_transcoder`, mediaType: "AUDIO", state: "TRANSCODING" },
  ]);
  t.equal(rtp.diagnostics.droppedNoCodec, 0, "nothing dropped for want of a codec");
});
