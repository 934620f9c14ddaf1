/**
 * Dispatcher and DispatcherOneToMany (issue 13 §2) with kurento-client 7.3.0: three RtpEndpoint sources, each a phone
 * sending its own tone (PCMU) and VP8 video, feed HubPorts; the sinks are RtpEndpoints whose phones record what they
 * hear. Checked by content: the dominant frequency a sink hears names the source it is routed from, before and
 * after each switch; a switch sends a keyframe request (RTCP PLI) to the new source's video peer; no transcoding;
 * `removeSource` silences every port. Run `npm run build` first (the server runs from dist/).
 */
import t from "tap";
import { cb, connect, connectClient, createPipeline, type Callback, type MediaElement } from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { Phone, sleep, until } from "../unit/media/rtp/fixtures/rtpHarness.js";
import { analyse, decodeReceived, streamTone } from "../unit/media/transcode/fixtures/audio.js";

interface RtpEndpointProxy extends MediaElement {
  processOffer(offer: string, callback: Callback<string>): void;
  isMediaTranscoding(mediaType: string, callback: Callback<boolean>): void;
}
interface HubProxy extends MediaElement {
  createHubPort(callback: Callback<MediaElement>): void;
}
interface DispatcherProxy extends HubProxy {
  connect(source: MediaElement, sink: MediaElement, callback: Callback<undefined>): void;
  connect(sink: MediaElement, callback: Callback<undefined>): void;
}
interface OneToManyProxy extends HubProxy {
  /**
   * Given the port's id: kurento-client 7.3.0 turns an object parameter into its id only when it is an instance of
   * its MediaObject (or is named sink/hub/object), and the objects its callbacks hand out are copies that are not.
   */
  setSource(source: string, callback: Callback<undefined>): void;
  removeSource(callback: Callback<undefined>): void;
}

const FREQUENCIES = [500, 1000, 1500] as const;

/** A source: an audio phone (its tone) and a video phone (VP8 delta frames out, RTCP feedback in). */
interface Source {
  audio: Phone;
  video: Phone;
  ep: RtpEndpointProxy;
  frequency: number;
  ssrc: number;
}

function avOffer(audio: Phone, video: Phone): string {
  return [
    "v=0",
    "o=src 1 1 IN IP4 127.0.0.1",
    "s=src",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${audio.port} RTP/AVP 0`,
    "a=rtpmap:0 PCMU/8000",
    "a=ptime:20",
    "a=sendrecv",
    `m=video ${video.port} RTP/AVP 96`,
    "a=rtpmap:96 VP8/90000",
    "a=rtcp-fb:96 nack pli",
    "a=rtcp-fb:96 ccm fir",
    "a=sendrecv",
    "",
  ].join("\r\n");
}

/** RTCP PLI (PT 206, FMT 1, RFC 4585 §6.3.1) packets in what a phone received since index `from`. */
function plis(p: Phone, from: number): number {
  let n = 0;
  for (const pkt of p.rtcpReceived.slice(from)) {
    // A compound packet: walk its parts.
    let off = 0;
    while (off + 4 <= pkt.length) {
      const fmt = (pkt[off] ?? 0) & 0x1f;
      const pt = pkt[off + 1] ?? 0;
      if (pt === 206 && fmt === 1) {
        n++;
      }
      off += (((pkt[off + 2] ?? 0) << 8) | (pkt[off + 3] ?? 0)) * 4 + 4;
    }
  }
  return n;
}

t.test(
  "Dispatcher and DispatcherOneToMany route sources to sinks by HubPort, with a keyframe request per switch",
  async (t) => {
    t.setTimeout(120_000);
    const server = await startKorus(t, { workers: 1 });
    const { client } = await connectClient(t, server.url);
    const pipeline = await createPipeline(client);
    const phones: Phone[] = [];
    t.teardown(() => phones.forEach((p) => p.close()));
    const phone = async (): Promise<Phone> => {
      const p = await Phone.open();
      phones.push(p);
      return p;
    };
    const rtp = async (): Promise<RtpEndpointProxy> =>
      (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpointProxy;

    const sources: Source[] = [];
    for (const [i, frequency] of FREQUENCIES.entries()) {
      const audio = await phone();
      const video = await phone();
      const ep = await rtp();
      const answer = await cb<string>((done) => ep.processOffer(avOffer(audio, video), done));
      audio.aimAt(answer);
      const vport = /^m=video (\d+)/m.exec(answer)?.[1];
      t.ok(vport !== undefined && vport !== "0", `source ${i}: video accepted`);
      video.target = { address: "127.0.0.1", port: Number(vport) };
      sources.push({ audio, video, ep, frequency, ssrc: 0x1000 + i });
    }
    const [s0, s1, s2] = sources as [Source, Source, Source];
    // Every source's video phone sends VP8 delta frames all along, so that its endpoint knows the SSRC a PLI names.
    let vseq = 0;
    const videoTimer = setInterval(() => {
      vseq++;
      for (const [i, s] of sources.entries()) {
        s.video.send(
          96,
          vseq & 0xffff,
          (vseq * 3000) >>> 0,
          0x2000 + i,
          Buffer.from([0x10, 0x01, 0x00, 0x00, 0x9d]),
          true,
        );
      }
    }, 33);
    t.teardown(() => clearInterval(videoTimer));

    const sinkPhones = [await phone(), await phone(), await phone()];
    const sinks: RtpEndpointProxy[] = [];
    for (const p of sinkPhones) {
      const ep = await rtp();
      p.aimAt(await cb<string>((done) => ep.processOffer(p.offer({ codecs: "0" }), done)));
      sinks.push(ep);
    }

    let round = 0;
    /** All sources talk at once for a second; returns the frequency each sink phone heard. */
    const listen = async (): Promise<number[]> => {
      for (const p of sinkPhones) {
        p.received.length = 0;
      }
      const r = round++;
      await Promise.all(
        sources.map((s) =>
          streamTone(s.audio, {
            codec: "PCMU",
            pt: 0,
            rate: 8000,
            ticks: 160,
            packets: 50,
            frequency: s.frequency,
            ssrc: s.ssrc,
            seq0: 100 + r * 50,
            ts0: 5000 + r * 50 * 160,
          }),
        ),
      );
      await sleep(200);
      return sinkPhones.map((p) =>
        p.received.length < 20 ? 0 : Math.round(analyse(decodeReceived(p, 0, "pcmu"), 8000).frequency),
      );
    };
    const near = (heard: number | undefined, f: number): boolean => heard !== undefined && Math.abs(heard - f) < 15;

    // ---------------------------------------------------------------------------------------------- Dispatcher
    const dispatcher = (await cb<MediaElement>((done) => pipeline.create("Dispatcher", done))) as DispatcherProxy;
    const inPorts: MediaElement[] = [];
    for (const s of sources) {
      const port = await cb<MediaElement>((done) => dispatcher.createHubPort(done));
      await connect(s.ep, port);
      inPorts.push(port);
    }
    const out0 = await cb<MediaElement>((done) => dispatcher.createHubPort(done));
    const out1 = await cb<MediaElement>((done) => dispatcher.createHubPort(done));
    await connect(out0, sinks[0] as MediaElement);
    await connect(out1, sinks[1] as MediaElement);
    const [p0, p1, p2] = inPorts as [MediaElement, MediaElement, MediaElement];
    await cb<undefined>((done) => dispatcher.connect(p0, out0, done));
    await cb<undefined>((done) => dispatcher.connect(p2, out1, done));
    let heard = await listen();
    t.ok(near(heard[0], 500), `sink 0 hears source 0 (500 Hz): ${heard[0]} Hz`);
    t.ok(near(heard[1], 1500), `sink 1 hears source 2 (1500 Hz): ${heard[1]} Hz`);

    const before = s1.video.rtcpReceived.length;
    await cb<undefined>((done) => dispatcher.connect(p1, out0, done));
    t.ok(await until(() => plis(s1.video, before) > 0, 3000), "the switch sent a PLI to the new source's video peer");
    heard = await listen();
    t.ok(near(heard[0], 1000), `after the switch sink 0 hears source 1 (1000 Hz): ${heard[0]} Hz`);
    t.ok(near(heard[1], 1500), `sink 1 still hears source 2: ${heard[1]} Hz`);
    t.equal(await cb<boolean>((done) => s1.ep.isMediaTranscoding("AUDIO", done)), false);

    // A port of another hub is refused with Kurento's CONNECT_ERROR.
    const composite = (await cb<MediaElement>((done) => pipeline.create("Composite", done))) as HubProxy;
    const foreign = await cb<MediaElement>((done) => composite.createHubPort(done));
    const err = await cb<undefined>((done) => dispatcher.connect(foreign, out0, done)).then(
      () => undefined,
      (e: { code?: number }) => e,
    );
    t.equal(err?.code, 40004, "a foreign port: 40004 CONNECT_ERROR");

    // ---------------------------------------------------------------------------------------------- OneToMany
    const one = (await cb<MediaElement>((done) => pipeline.create("DispatcherOneToMany", done))) as OneToManyProxy;
    const main = await cb<MediaElement>((done) => one.createHubPort(done));
    await connect(s2.ep, main);
    const other = await cb<MediaElement>((done) => one.createHubPort(done));
    await connect(s0.ep, other);
    const listener = await cb<MediaElement>((done) => one.createHubPort(done));
    // Sink 2 listens on a port; sink 1 moves from the Dispatcher to the other port.
    await connect(listener, sinks[2] as MediaElement);
    await connect(other, sinks[1] as MediaElement);
    const plisBefore = s2.video.rtcpReceived.length;
    await cb<undefined>((done) => one.setSource(main.id, done));
    t.ok(await until(() => plis(s2.video, plisBefore) > 0, 3000), "setSource sent a PLI");
    heard = await listen();
    t.ok(near(heard[1], 1500), `every port sends the source (sink 1): ${heard[1]} Hz`);
    t.ok(near(heard[2], 1500), `every port sends the source (sink 2): ${heard[2]} Hz`);
    t.ok(near(heard[0], 1000), `the Dispatcher is not disturbed (sink 0): ${heard[0]} Hz`);

    await cb<undefined>((done) => one.setSource(other.id, done));
    heard = await listen();
    t.ok(near(heard[2], 500), `after setSource(other) sink 2 hears source 0: ${heard[2]} Hz`);

    await cb<undefined>((done) => one.removeSource(done));
    heard = await listen();
    t.equal(heard[1], 0, "removeSource: sink 1 hears nothing");
    t.equal(heard[2], 0, "removeSource: sink 2 hears nothing");
    t.ok(near(heard[0], 1000), `the Dispatcher still routes (sink 0): ${heard[0]} Hz`);

    await cb<undefined>((done) => pipeline.release(done));
  },
);
