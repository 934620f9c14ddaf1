/**
 * `/metrics` during a WebRTC loopback (issue 16 §1): a werift peer ↔ a WebRtcEndpoint connected to itself, audio
 * and video, every payload checked byte for byte on its way back. After the media stopped, the RTP counters moved
 * by exactly what the endpoint's getStats says (packets received and sent per kind, packets lost), and the
 * element gauges saw the endpoint.
 */
import t from "tap";
import {
  cb,
  connect,
  connectClient,
  createPipeline,
  createWebRtc,
  negotiate,
  release,
  type MediaElement,
} from "../helpers/kurento.js";
import { sampleSum, sampleValue } from "../helpers/prometheus.js";
import { scrapeMetrics } from "../helpers/scrape.js";
import { startKorus } from "../helpers/server.js";
import { WeriftPeer } from "../helpers/weriftPeer.js";

const TOKEN = "metrics-webrtc-token-0123456789";
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface StatsRecord {
  type?: string;
  packetsReceived?: number;
  packetsSent?: number;
  packetsLost?: number;
}

/** getStats(kind) of an element: the sums of its inbound and outbound RTP records. */
async function rtpStats(ep: MediaElement, kind: "AUDIO" | "VIDEO"): Promise<{ in: number; out: number; lost: number }> {
  const stats = await cb<unknown>((done) => ep._invoke(undefined, "getStats", { mediaType: kind }, done));
  const out = { in: 0, out: 0, lost: 0 };
  for (const r of Object.values(stats as Record<string, StatsRecord>)) {
    if (r.type === "inboundrtp") {
      out.in += r.packetsReceived ?? 0;
      out.lost += r.packetsLost ?? 0;
    } else if (r.type === "outboundrtp") {
      out.out += r.packetsSent ?? 0;
    }
  }
  return out;
}

t.test("a WebRTC loopback moves the RTP counters by what getStats says", async (t) => {
  const k = await startKorus(t, {
    workers: 1,
    startTimeoutMs: 60_000,
    config: { media: { loadReportMs: 200 }, metrics: { token: TOKEN } },
  });
  const before = await scrapeMetrics(k.httpUrl, TOKEN);
  const { client } = await connectClient(t, k.url);
  const pipeline = await createPipeline(client);
  const ep = await createWebRtc(pipeline);
  await connect(ep, ep);
  const peer = new WeriftPeer({
    id: "metrics",
    onLocalCandidate: (c) => {
      void ep.addIceCandidate(c, () => undefined);
    },
  });
  t.teardown(() => peer.close());
  await negotiate(ep, peer, await peer.createOffer());
  peer.startMedia();
  await peer.waitForPayloads("metrics", "audio", 100, 20_000);
  await peer.waitForPayloads("metrics", "video", 50, 20_000);
  peer.stopMedia();
  t.equal(peer.corrupt, 0, "every payload came back intact");
  await sleep(1000); // the last packets forwarded, then a load report

  // The counters lag getStats by up to one load report (longer on a loaded machine): read both until they agree.
  let audio = await rtpStats(ep, "AUDIO");
  let video = await rtpStats(ep, "VIDEO");
  let after = await scrapeMetrics(k.httpUrl, TOKEN);
  const delta = (name: string, labels: Record<string, string> = {}): number =>
    sampleSum(after, name, labels) - sampleSum(before, name, labels);
  for (let i = 0; i < 20 && delta("korus_rtp_packets_total") !== audio.in + video.in + audio.out + video.out; i++) {
    await sleep(500);
    audio = await rtpStats(ep, "AUDIO");
    video = await rtpStats(ep, "VIDEO");
    after = await scrapeMetrics(k.httpUrl, TOKEN);
  }
  t.ok(audio.in >= 100 && video.in >= 50, `getStats saw the media (${JSON.stringify({ audio, video })})`);
  t.equal(delta("korus_rtp_packets_total", { direction: "in", kind: "audio" }), audio.in, "audio in");
  t.equal(delta("korus_rtp_packets_total", { direction: "in", kind: "video" }), video.in, "video in");
  t.equal(delta("korus_rtp_packets_total", { direction: "out", kind: "audio" }), audio.out, "audio out");
  t.equal(delta("korus_rtp_packets_total", { direction: "out", kind: "video" }), video.out, "video out");
  t.equal(delta("korus_rtp_lost_packets_total"), audio.lost + video.lost, "lost");
  t.equal(sampleValue(after, "korus_elements", { type: "WebRtcEndpoint" }), 1);
  t.equal(sampleValue(after, "korus_pipelines"), 1);
  t.ok((sampleValue(after, "korus_sessions") ?? 0) >= 1, "the client's session");
  t.equal(delta("korus_sip_invites_total"), 0, "no SIP call");

  await release(pipeline);
  await sleep(500);
  const gone = await scrapeMetrics(k.httpUrl, TOKEN);
  t.equal(sampleValue(gone, "korus_pipelines"), 0);
  t.equal(sampleValue(gone, "korus_elements", { type: "WebRtcEndpoint" }), undefined, "the endpoint is gone");
  t.equal(
    sampleSum(gone, "korus_rtp_packets_total", { direction: "in", kind: "audio" }),
    sampleSum(after, "korus_rtp_packets_total", { direction: "in", kind: "audio" }),
    "counters keep their totals after the release",
  );
});
