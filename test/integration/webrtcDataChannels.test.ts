/**
 * WebRtcEndpoint data channels (issue 13 §1), with werift peers through kurento-client 7.3.0, as KMS behaves:
 *
 * - without useDataChannels the offer's m=application is answered with port 0 (and the media still connects);
 * - with it, a channel the peer opens raises DataChannelOpened {channelId}; a loopback (connect(ep, ep)) sends
 *   every message (string and binary) back on that channel; getStats has its RTCDataChannelStats and the session's
 *   RTCPeerConnectionStats; the peer closing it raises DataChannelClosed;
 * - a DATA connection carries the messages from one WebRtcEndpoint's peer to another's.
 */
import t, { type Test } from "tap";
import type { RTCDataChannel } from "werift";
import {
  cb,
  connectClient,
  createPipeline,
  negotiate,
  release,
  type Callback,
  type KEvent,
  type MediaElement,
  type MediaPipeline,
  type WebRtcEndpoint,
} from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { WeriftPeer } from "../helpers/weriftPeer.js";

t.setTimeout(120_000);

const k = await startKorus(t, { workers: 1, startTimeoutMs: 60_000 });

/** kurento-client's connect with a media type. */
interface DataEndpoint extends WebRtcEndpoint {
  connect(sink: MediaElement, callback: Callback<undefined>): void;
  connect(sink: MediaElement, mediaType: string, callback: Callback<undefined>): void;
}

async function webRtc(pipeline: MediaPipeline, useDataChannels: boolean): Promise<DataEndpoint> {
  return (await cb<MediaElement>((done) =>
    pipeline.create("WebRtcEndpoint", { useDataChannels }, done),
  )) as DataEndpoint;
}

/** A werift peer with one data channel `label`, negotiated with `ep`; resolves once the channel is open. */
async function peerWithChannel(
  t: Test,
  ep: WebRtcEndpoint,
  id: string,
  label: string,
  apply = true,
): Promise<{ peer: WeriftPeer; channel: RTCDataChannel; answer: string }> {
  const peer = new WeriftPeer({
    id,
    audio: "sendrecv",
    video: false,
    onLocalCandidate: (c) => void ep.addIceCandidate(c, () => undefined),
  });
  t.teardown(() => peer.close());
  const channel = peer.pc.createDataChannel(label);
  const offer = await peer.createOffer();
  // werift as the offerer cannot take an answer that rejects its m=application (it wants an sctp-port there);
  // browsers do (test/interop/dataChannelTutorial.test.ts), so the rejection is checked on the answer's text.
  const answer = apply ? await negotiate(ep, peer, offer) : await cb<string>((done) => ep.processOffer(offer, done));
  return { peer, channel, answer };
}

function waitOpen(ch: RTCDataChannel, ms = 15_000): Promise<void> {
  if (ch.readyState === "open") {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`channel ${ch.label} not open after ${ms} ms`)), ms);
    ch.stateChanged.subscribe((s) => {
      if (s === "open") {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

/** Collects what arrives on `ch`; `next(n)` resolves with the first n messages. */
function inbox(ch: RTCDataChannel): {
  got: (string | Buffer)[];
  next(n: number, ms?: number): Promise<(string | Buffer)[]>;
} {
  const got: (string | Buffer)[] = [];
  ch.onMessage.subscribe((m) => got.push(m));
  return {
    got,
    async next(n, ms = 10_000) {
      const until = Date.now() + ms;
      while (got.length < n && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 20));
      }
      return got.slice(0, n);
    },
  };
}

function eventOnce(ep: MediaElement, name: string, ms = 10_000): Promise<KEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${ms} ms`)), ms);
    ep.once(name, (ev) => {
      clearTimeout(timer);
      resolve(ev);
    });
  });
}

interface StatsRecord {
  type?: string;
  label?: string;
  datachannelid?: number;
  state?: string;
  messagesSent?: number;
  messagesReceived?: number;
  bytesSent?: number;
  bytesReceived?: number;
  dataChannelsOpened?: number;
}

async function stats(ep: MediaElement): Promise<StatsRecord[]> {
  const s = await cb<unknown>((done) => ep._invoke(undefined, "getStats", {}, done));
  return Object.values(s as Record<string, StatsRecord>);
}

t.test("without useDataChannels the m=application is rejected (port 0), as in KMS", async (t) => {
  const { client } = await connectClient(t, k.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const ep = await webRtc(pipeline, false);
  const { answer } = await peerWithChannel(t, ep, "nodc", "chat", false);
  const mlines = answer.split(/\r?\n/).filter((l) => l.startsWith("m="));
  t.equal(mlines.length, 2, `one answer m-line per offered one: ${JSON.stringify(mlines)}`);
  t.match(mlines[1], /^m=application 0 /, "the data section is rejected with port 0");
  t.match(mlines[0], /^m=audio [1-9]/, "the audio section is accepted");
  const bundle = answer.split(/\r?\n/).find((l) => l.startsWith("a=group:BUNDLE")) ?? "";
  t.equal(bundle.trim().split(/\s+/).length, 2, `the rejected mid left the BUNDLE group (${bundle})`);
  const created = await cb<unknown>((done) => ep._invoke(undefined, "createDataChannel", { label: "x" }, done)).catch(
    (e: { code?: number }) => e.code,
  );
  t.equal(created, 40111, "createDataChannel: data channels are not supported");
});

t.test("with useDataChannels a loopback sends every message back on its channel; events and stats", async (t) => {
  const { client } = await connectClient(t, k.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const ep = await webRtc(pipeline, true);
  const opened = eventOnce(ep, "DataChannelOpened", 20_000);
  await cb<undefined>((done) => ep.connect(ep, done));
  const { channel, answer } = await peerWithChannel(t, ep, "loop", "chat");
  t.match(answer, /^m=application [1-9]\d* UDP\/DTLS\/SCTP webrtc-datachannel/m, "the data section is accepted");
  await waitOpen(channel);
  const ev = await opened;
  t.equal(ev["channelId"], channel.id, `DataChannelOpened names the channel (${String(ev["channelId"])})`);

  const box = inbox(channel);
  channel.send("hello Korus");
  channel.send(Buffer.from([0, 1, 2, 250, 255]));
  channel.send("ünïcödé ✓");
  const back = await box.next(3);
  t.same(back, ["hello Korus", Buffer.from([0, 1, 2, 250, 255]), "ünïcödé ✓"], "string and binary come back");

  const records = await stats(ep);
  const dc = records.find((r) => r.type === "datachannel");
  t.match(
    dc,
    { label: "chat", datachannelid: channel.id, state: "open", messagesReceived: 3, messagesSent: 3 },
    "RTCDataChannelStats",
  );
  t.ok((dc?.bytesReceived ?? 0) >= 26 && dc?.bytesReceived === dc?.bytesSent, "bytes counted both ways");
  t.match(
    records.find((r) => r.type === "session"),
    { dataChannelsOpened: 1 },
    "RTCPeerConnectionStats",
  );
  const onlyData = await cb<unknown>((done) => ep._invoke(undefined, "getStats", { mediaType: "DATA" }, done));
  t.ok(
    Object.values(onlyData as Record<string, StatsRecord>).some((r) => r.type === "datachannel"),
    "getStats(DATA) has it",
  );

  const closed = eventOnce(ep, "DataChannelClosed", 15_000);
  channel.close();
  t.equal((await closed)["channelId"], channel.id, "DataChannelClosed when the peer closes it");
});

t.test("a DATA connection carries the messages to another WebRtcEndpoint's peer", async (t) => {
  const { client } = await connectClient(t, k.url);
  const pipeline = await createPipeline(client);
  t.teardown(() => release(pipeline).catch(() => undefined));
  const a = await webRtc(pipeline, true);
  const b = await webRtc(pipeline, true);
  await cb<undefined>((done) => a.connect(b, "DATA", done));
  const pa = await peerWithChannel(t, a, "pa", "chat");
  const pb = await peerWithChannel(t, b, "pb", "chat");
  await Promise.all([waitOpen(pa.channel), waitOpen(pb.channel)]);
  const boxA = inbox(pa.channel);
  const boxB = inbox(pb.channel);
  pa.channel.send("from A");
  pa.channel.send(Buffer.from("binary from A"));
  t.same(await boxB.next(2), ["from A", Buffer.from("binary from A")], "B's peer gets A's messages");
  pb.channel.send("from B");
  await new Promise((r) => setTimeout(r, 500));
  t.same(boxA.got, [], "nothing flows back: the connection is A → B only");
  t.same(boxB.got.length, 2, "and B's own message does not come back to B");
});
