/**
 * RtpEndpoint ↔ WebRtcEndpoint in one pipeline, both negotiating Opus: media passes through untouched. The WebRTC
 * side is a werift peer (test/helpers/weriftPeer.ts) over real ICE/DTLS-SRTP on 127.0.0.1; the RTP side is a UDP
 * phone that offers opus/48000/2. Payload bytes are checked in both directions (the werift peer verifies every
 * payload it receives against the exact bytes the phone generated).
 */
import t from "tap";
import type { JsonObject } from "../../../media/channel/protocol.js";
import { WebRtcEndpoint } from "../../../media/elements/WebRtcEndpoint.js";
import { WeriftPeer, makePayload, parsePayload } from "../../helpers/weriftPeer.js";
import { Phone, RtpHarness, invoke, sleep, until } from "./rtp/fixtures/rtpHarness.js";

t.test("Opus passthrough: werift peer ↔ WebRtcEndpoint ↔ RtpEndpoint ↔ UDP phone", async (t) => {
  t.setTimeout(60_000);
  const h = await RtpHarness.create();
  const rtp = await h.rtp();
  const web = await h.element(WebRtcEndpoint, "WebRtcEndpoint");
  const phone = await Phone.open();
  const peer = new WeriftPeer({
    id: "web",
    video: false,
    onLocalCandidate: (c) => {
      invoke(web, "addIceCandidate", { candidate: { ...c } }).catch(() => undefined);
    },
  });
  t.teardown(async () => {
    peer.stopMedia();
    await peer.close();
    phone.close();
    h.close();
  });

  // WebRTC leg.
  const answer = (await invoke(web, "processOffer", { offer: await peer.createOffer() })) as string;
  await peer.setAnswer(answer);
  await invoke(web, "gatherCandidates");
  const seen = new Set<JsonObject>();
  const trickle = setInterval(() => {
    for (const d of h.eventsOf(web, "IceCandidateFound")) {
      if (!seen.has(d)) {
        seen.add(d);
        const c = d["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number };
        peer.addRemoteCandidate(c).catch(() => undefined);
      }
    }
  }, 20);
  t.teardown(() => clearInterval(trickle));
  await peer.waitConnected(15_000);

  // RTP leg: the phone offers Opus only.
  const rtpAnswer = (await invoke(rtp, "processOffer", {
    offer: phone.offer({ codecs: "111", extra: ["a=fmtp:111 minptime=10;useinbandfec=1"] }),
  })) as string;
  t.match(rtpAnswer, /m=audio \d+ RTP\/AVP 111\r\n/);
  t.match(rtpAnswer, /a=rtpmap:111 opus\/48000\/2/);
  phone.aimAt(rtpAnswer);
  h.pipeline.connect(web, rtp, "AUDIO", "default", "default");
  h.pipeline.connect(rtp, web, "AUDIO", "default", "default");

  // Browser → phone.
  peer.startMedia();
  await until(() => phone.received.filter((p) => p.pt === 111).length >= 30, 10_000);
  const fromWeb = phone.received.filter((p) => p.pt === 111);
  t.ok(fromWeb.length >= 30, `phone received ${fromWeb.length} Opus packets from the browser`);
  const exact = fromWeb.filter((p) => {
    const m = parsePayload(p.payload);
    return m?.from === "web" && p.payload.equals(makePayload("audio", "web", m.counter, false));
  });
  t.equal(exact.length, fromWeb.length, "every Opus payload arrived byte for byte (passthrough, no transcoding)");

  // Phone → browser.
  for (let i = 0; i < 40; i++) {
    phone.send(111, 500 + i, 960 * i, 0xfeed, makePayload("audio", "phone", i, false), i === 0);
    await sleep(20);
  }
  await peer.waitForPayloads("phone", "audio", 30, 10_000);
  t.ok(peer.countFrom("phone", "audio") >= 30, `browser verified ${peer.countFrom("phone", "audio")} phone payloads`);
  t.equal(peer.corrupt, 0, "no corrupted payload at the browser");
  t.equal(rtp.diagnostics.droppedNoCodec, 0, "nothing dropped for want of a codec");
  t.equal(rtp.diagnostics.unknownPayloadType, 0);
});
