/**
 * Automatic transcoding through the whole server with kurento-client 7.3.0: two RtpEndpoints in a media worker,
 * a PCMU phone and an Opus phone; MediaTranscodingStateChanged (TRANSCODING) reaches the client subscribed on the
 * source, isMediaTranscoding answers true for AUDIO and false for VIDEO, and the 1 kHz tone arrives as Opus.
 * Run `npm run build` first (the server runs from dist/).
 */
import t from "tap";
import {
  cb,
  connect,
  connectClient,
  createPipeline,
  type Callback,
  type KEvent,
  type MediaElement,
} from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { Phone, sleep, until } from "../unit/media/rtp/fixtures/rtpHarness.js";
import { analyse, decodeReceived, packetsOf, streamTone } from "../unit/media/transcode/fixtures/audio.js";

interface RtpEndpointProxy extends MediaElement {
  processOffer(offer: string, callback: Callback<string>): void;
  isMediaTranscoding(mediaType: string, callback: Callback<boolean>): void;
}

t.test("kurento-client sees MediaTranscodingStateChanged and isMediaTranscoding on a PCMU → Opus call", async (t) => {
  t.setTimeout(90_000);
  const server = await startKorus(t, { workers: 1 });
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  const a = (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpointProxy;
  const b = (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpointProxy;
  const events: KEvent[] = [];
  a.on("MediaTranscodingStateChanged", (e) => events.push(e));
  await sleep(100); // let the subscription reach the server
  const pa = await Phone.open();
  const pb = await Phone.open();
  t.teardown(() => {
    pa.close();
    pb.close();
  });
  pa.aimAt(await cb<string>((done) => a.processOffer(pa.offer({ codecs: "0" }), done)));
  pb.aimAt(await cb<string>((done) => b.processOffer(pb.offer({ codecs: "111" }), done)));
  await connect(a, b);
  t.equal(await cb<boolean>((done) => a.isMediaTranscoding("AUDIO", done)), false, "before any media");

  await streamTone(pa, { codec: "PCMU", pt: 0, rate: 8000, ticks: 160, packets: 40 });
  await until(() => events.length > 0, 3000);
  t.equal(events.length, 1, "one MediaTranscodingStateChanged");
  t.equal(events[0]?.["state"], "TRANSCODING");
  t.equal(events[0]?.["mediaType"], "AUDIO");
  t.equal(await cb<boolean>((done) => a.isMediaTranscoding("AUDIO", done)), true, "isMediaTranscoding(AUDIO)");
  t.equal(await cb<boolean>((done) => a.isMediaTranscoding("VIDEO", done)), false, "isMediaTranscoding(VIDEO)");
  t.equal(await cb<boolean>((done) => b.isMediaTranscoding("AUDIO", done)), false, "B sends nothing to transcode");
  const opus = packetsOf(pb, 111);
  t.ok(opus.length >= 35, `the Opus phone received ${opus.length} packets`);
  const f = analyse(decodeReceived(pb, 111, "opus", { sampleRate: 48000 }), 48000).frequency;
  t.ok(Math.abs(f - 1000) < 10, `the Opus phone hears ${f.toFixed(1)} Hz`);
});
