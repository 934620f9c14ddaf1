/**
 * The mix in each listener's own codec (issue 19 §1):
 *
 * - a PCMU phone, a G.722 phone and a werift peer (Opus over ICE/DTLS-SRTP), each sending its own tone: each hears
 *   the other two and not its own (Goertzel), and no HubPort transcodes: the PCMU phone's mix is µ-law straight from
 *   the mixer (its port's format is PCMU, isMediaTranscoding is false), the G.722 phone's G.722;
 * - a participant sending garbage datagrams, one sending a payload type it never negotiated and one sending nothing
 *   never disturb the mix the others hear;
 * - an idle room of ten PCMU phones encodes µ-law silence once for the whole room (it is reused), no Opus at all.
 */
import t from "tap";
import { RtpHeader, RtpPacket } from "werift";
import type { JsonObject } from "../../../../media/channel/protocol.js";
import { createDecoder, createEncoder } from "../../../../media/codecs/index.js";
import { Composite } from "../../../../media/elements/Composite.js";
import { HubPort } from "../../../../media/elements/HubPort.js";
import { WebRtcEndpoint } from "../../../../media/elements/WebRtcEndpoint.js";
import { generateTone, seededRandom, toneLevelDb } from "../../../helpers/tone.js";
import { makePeer, offerFromPeer, waitConnected } from "../fixtures/webrtcHarness.js";
import { Phone, RtpHarness, invoke } from "../rtp/fixtures/rtpHarness.js";
import { decodeReceived, packetsOf, sleep, streamTone } from "../transcode/fixtures/audio.js";

const mid = (pcm: Int16Array): Int16Array => pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));

interface Leg {
  phone: Phone;
  port: HubPort;
}

async function phoneLeg(h: RtpHarness, hub: Composite, offer: { codecs: string; extra?: string[] }): Promise<Leg> {
  const ep = await h.rtp();
  const phone = await Phone.open();
  phone.aimAt((await invoke(ep, "processOffer", { offer: phone.offer(offer) })) as string);
  const port = await h.element(HubPort, "HubPort", { hub: hub.id });
  h.pipeline.connect(ep, port, "AUDIO", "default", "default");
  h.pipeline.connect(port, ep, "AUDIO", "default", "default");
  return { phone, port };
}

t.test("PCMU, G.722 and werift Opus: each hears the other two, in its own codec, with no transcoder", async (t) => {
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
  await pc.setRemoteDescription({ type: "answer", sdp: (await invoke(web, "processOffer", { offer: sdp })) as string });
  await invoke(web, "gatherCandidates");
  const seen = new Set<JsonObject>();
  trickle.timer = setInterval(() => {
    for (const d of h.eventsOf(web, "IceCandidateFound")) {
      if (!seen.has(d)) {
        seen.add(d);
        pc.addIceCandidate(d["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number }).catch(
          () => undefined,
        );
      }
    }
  }, 20);
  await waitConnected(pc);
  await h.waitEvent(web, "DtlsConnectionStateChange", (d) => d["state"] === "CONNECTED");
  const webPort = await h.element(HubPort, "HubPort", { hub: hub.id });
  h.pipeline.connect(web, webPort, "AUDIO", "default", "default");
  h.pipeline.connect(webPort, web, "AUDIO", "default", "default");

  const pcmu = await phoneLeg(h, hub, { codecs: "0 101" });
  const g722 = await phoneLeg(h, hub, { codecs: "9", extra: ["a=rtpmap:9 G722/8000"] });
  phones.push(pcmu.phone, g722.phone);

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
  await Promise.all([
    fromWeb,
    streamTone(pcmu.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 100, frequency: 700, ssrc: 7 }),
    streamTone(g722.phone, { codec: "G722", pt: 9, rate: 16000, ticks: 160, packets: 100, frequency: 1000, ssrc: 8 }),
  ]);
  await sleep(200);

  const dec = createDecoder("opus", { sampleRate: 48000 });
  const atWeb = mid(Int16Array.from(received.flatMap((p) => Array.from(dec.decode(p)))));
  dec.close();
  const legs = [
    { name: "werift", own: 400, pcm: atWeb, rate: 48000 },
    { name: "PCMU phone", own: 700, pcm: mid(decodeReceived(pcmu.phone, 0, "PCMU")), rate: 8000 },
    { name: "G.722 phone", own: 1000, pcm: mid(decodeReceived(g722.phone, 9, "G722")), rate: 16000 },
  ];
  for (const leg of legs) {
    const l = (f: number): number => toneLevelDb(leg.pcm, leg.rate, f);
    const others = [400, 700, 1000].filter((f) => f !== leg.own);
    t.comment(`${leg.name} hears 400 ${l(400).toFixed(1)}, 700 ${l(700).toFixed(1)}, 1000 ${l(1000).toFixed(1)} dB`);
    t.ok(leg.pcm.length > 0.8 * leg.rate, `${leg.name} received ${(leg.pcm.length / leg.rate).toFixed(2)} s (mid)`);
    t.ok(
      others.every((f) => l(f) > -30),
      `${leg.name} hears ${others.join(" and ")} Hz`,
    );
    t.ok(
      others.every((f) => l(leg.own) < l(f) - 30),
      `${leg.name} does not hear its own ${leg.own} Hz`,
    );
  }
  t.equal(pcmu.port.outputFormat().codec, "pcmu", "the PCMU phone's port mixes into µ-law");
  t.equal(g722.port.outputFormat().codec, "g722", "the G.722 phone's port mixes into G.722");
  t.equal(webPort.outputFormat().codec, "opus", "the WebRTC port mixes into Opus");
  for (const [name, port] of [
    ["PCMU", pcmu.port],
    ["G.722", g722.port],
    ["WebRTC", webPort],
  ] as const) {
    t.equal(await invoke(port, "isMediaTranscoding", { mediaType: "AUDIO" }), false, `${name} port: no transcoder`);
    t.equal(port.transcoderDiagnostics, undefined, `${name} port never opened a transcoder`);
  }
  const groups = hub.mixer.groupStats();
  t.comment(`format groups: ${JSON.stringify(groups)}`);
  t.same(groups.map((g) => g.codec).sort(), ["g722", "opus", "pcmu"], "one encoder group per listener format");
});

t.test("garbage, a wrong payload type and silence from three participants leave the others' mix intact", async (t) => {
  t.setTimeout(60_000);
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const legs: Leg[] = [];
  for (let i = 0; i < 5; i++) {
    legs.push(await phoneLeg(h, hub, { codecs: "0 101" }));
  }
  t.teardown(() => {
    legs.forEach((l) => l.phone.close());
    h.close();
  });
  const [talker, listener, garbage, wrongPt] = legs as [Leg, Leg, Leg, Leg];
  // legs[4] sends nothing at all.
  const rnd = seededRandom(19);
  const noise = (n: number): Uint8Array => Uint8Array.from({ length: n }, () => Math.floor(rnd() * 256));
  const loud = createEncoder("PCMU");
  t.teardown(() => loud.close());
  const junk = generateTone(1500, { sampleRate: 8000, samples: 160, amplitude: 20000 });
  const start = performance.now();
  const hostile = (async (): Promise<void> => {
    for (let i = 0; i < 100; i++) {
      garbage.phone.raw(noise(1 + Math.floor(rnd() * 300))); // not RTP at all
      garbage.phone.raw(Uint8Array.from([0x80, 0x00, 0, i, ...noise(40)])); // RTP header cut short
      // PT 8 (PCMA) and 111 were never negotiated with this phone: loud junk that must not be mixed.
      wrongPt.phone.send(8, i, i * 160, 0x51, loud.encode(junk), i === 0);
      wrongPt.phone.send(111, 1000 + i, i * 960, 0x52, noise(60));
      await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
    }
  })();
  await Promise.all([
    hostile,
    streamTone(talker.phone, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 100, frequency: 600, ssrc: 9 }),
  ]);
  await sleep(200);
  const pcm = decodeReceived(listener.phone, 0, "PCMU");
  const heard = mid(pcm);
  const l600 = toneLevelDb(heard, 8000, 600);
  const l1500 = toneLevelDb(heard, 8000, 1500);
  t.comment(`listener hears 600 Hz ${l600.toFixed(1)} dB, 1500 Hz ${l1500.toFixed(1)} dB`);
  t.ok(l600 > -30, "the listener hears the talker");
  t.ok(l1500 < l600 - 30, "and none of the wrong-payload-type junk");
  // Frame by frame: the talker's tone is there without gaps while it talks.
  const frames = packetsOf(listener.phone, 0).length;
  const on = [];
  for (let k = 0; k < frames; k++) {
    on.push(toneLevelDb(pcm.subarray(k * 160, (k + 1) * 160), 8000, 600) > -30);
  }
  const first = on.indexOf(true);
  const last = on.lastIndexOf(true);
  const gaps = on.slice(first, last + 1).filter((x) => !x).length;
  t.ok(first >= 0 && last - first > 80, `the tone lasts ${last - first + 1} frames`);
  t.ok(gaps <= 2, `${gaps} frames without the tone inside the talkspurt`);
  const s = wrongPt.port.inputStats;
  t.equal(s?.decoded ?? 0, 0, "nothing of the wrong-payload-type sender was decoded into the mix");
  t.equal(hub.portCount, 5, "nobody was torn down");
});

t.test("an idle room of ten PCMU phones: µ-law silence encoded once, no Opus, no transcoder", async (t) => {
  t.setTimeout(30_000);
  const h = await RtpHarness.create();
  const hub = await h.element(Composite, "Composite");
  const legs: Leg[] = [];
  for (let i = 0; i < 10; i++) {
    legs.push(await phoneLeg(h, hub, { codecs: "0 101" }));
  }
  t.teardown(() => {
    legs.forEach((l) => l.phone.close());
    h.close();
  });
  await sleep(1000);
  const ticks = hub.mixer.stats.ticks;
  t.ok(ticks >= 25, `${ticks} mixing ticks`);
  for (const l of legs) {
    t.ok(packetsOf(l.phone, 0).length >= 25, "each phone keeps getting RTP (PCMU silence)");
  }
  const pcm = decodeReceived(legs[0]!.phone, 0, "PCMU");
  t.ok(
    pcm.every((v) => Math.abs(v) < 16),
    "what it gets is silence",
  );
  const groups = hub.mixer.groupStats();
  t.same(
    groups.map((g) => g.codec),
    ["pcmu"],
    "one µ-law group, no Opus encoder",
  );
  t.equal(groups[0]?.encodes, 1, "silence encoded once for the whole room, then reused");
  t.equal(hub.mixer.stats.ownEncodes, 0, "no own encoders");
  t.ok(
    legs.every((l) => l.port.transcoderDiagnostics === undefined),
    "no HubPort opened a transcoder",
  );
});
