/**
 * The flow of Kurento's browser tutorial `hello-world-data-channel` (tutorials/javascript-browser in
 * Kurento/kurento, Apache-2.0), in headless Chromium against Korus, with kurento-client 7.3.0 driving the server
 * side as the tutorial's page does: the page makes its RTCPeerConnection, opens a data channel `TestChannel0`
 * before adding its camera and microphone, and offers; a WebRtcEndpoint `{useDataChannels: true}` takes the offer
 * (IceCandidateFound ↔ addIceCandidate, gatherCandidates) and is connected to itself (loopback). The text typed
 * into `#dataChannelSend` and sent with `#send` comes back into `#dataChannelReceive`.
 *
 * The page (below) is written for this test with the tutorial's element ids and steps; the tutorial's own files
 * need its bower bundles of kurento-client and kurento-utils, which are not shipped here.
 *
 * Also: without useDataChannels Chromium takes the answer (m=application rejected with port 0), its media connects
 * and its channel never opens; a flood from the page and a page that closes mid-message leave the server working
 * and its memory bounded.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync } from "node:fs";
import t from "tap";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { rssKiB } from "../../bench/lib/proc.js";
import {
  addCandidate,
  cb,
  connect,
  connectClient,
  createPipeline,
  release,
  type KurentoClient,
  type MediaElement,
  type WebRtcEndpoint,
} from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import type { CandidateInit } from "../helpers/weriftPeer.js";
import { CHROMIUM } from "./playerPage.js";

t.setTimeout(180_000);

/** Messages of 16 KiB per flood (werift's SCTP moves about 0.5 MB/s each way on a loaded 2-core machine). */
const FLOOD = 400;

/** The tutorial's page, reduced to what the flow uses (same ids; its script's data-channel steps). */
const PAGE = `<!doctype html><html><body>
<video id="videoInput" autoplay muted playsinline></video><video id="videoOutput" autoplay muted playsinline></video>
<textarea id="dataChannelSend" disabled></textarea><button id="send" disabled>Send</button>
<textarea id="dataChannelReceive" disabled></textarea>
<script>
  var chanId = 0;
  var channel, peerConnection;
  var received = 0;
  function onSendChannelStateChange() {
    var open = channel && channel.readyState === "open";
    document.getElementById("dataChannelSend").disabled = !open;
    document.getElementById("send").disabled = !open;
  }
  function onMessage(event) {
    received++;
    if (typeof event.data === "string") document.getElementById("dataChannelReceive").value = event.data;
  }
  document.getElementById("send").addEventListener("click", function () {
    var input = document.getElementById("dataChannelSend");
    channel.send(input.value);
    input.value = "";
  });
  window.start = async function () {
    peerConnection = new RTCPeerConnection();
    channel = peerConnection.createDataChannel("TestChannel" + chanId++, null);
    channel.onopen = onSendChannelStateChange;
    channel.onclose = onSendChannelStateChange;
    channel.onmessage = onMessage;
    peerConnection.onicecandidate = function (e) { if (e.candidate) window.korusCandidate(e.candidate.toJSON()); };
    var stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    document.getElementById("videoInput").srcObject = stream;
    stream.getTracks().forEach(function (track) { peerConnection.addTrack(track, stream); });
    peerConnection.ontrack = function (e) { document.getElementById("videoOutput").srcObject = e.streams[0]; };
    var offer = await peerConnection.createOffer();
    await peerConnection.setLocalDescription(offer);
    return offer.sdp;
  };
</script></body></html>`;

interface TutorialPage {
  page: Page;
  close(): Promise<void>;
}

async function openTutorial(): Promise<TutorialPage> {
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(PAGE));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  return {
    page,
    async close() {
      await browser.close().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The tutorial's onOffer: pipeline, WebRtcEndpoint, candidates both ways, processOffer, gatherCandidates, loopback. */
async function startTutorial(
  client: KurentoClient,
  page: Page,
  useDataChannels: boolean,
): Promise<{ ep: WebRtcEndpoint; release: () => Promise<unknown> }> {
  const pipeline = await createPipeline(client);
  const ep = (await cb<MediaElement>((done) =>
    pipeline.create("WebRtcEndpoint", { useDataChannels }, done),
  )) as WebRtcEndpoint;
  await page.exposeFunction("korusCandidate", (c: CandidateInit) => void addCandidate(ep, c).catch(() => undefined));
  ep.on("IceCandidateFound", (ev) => {
    const c = ev["candidate"] as CandidateInit;
    void page
      .evaluate(
        (cand) => (window as unknown as { peerConnection: RTCPeerConnection }).peerConnection.addIceCandidate(cand),
        c,
      )
      .catch(() => undefined);
  });
  const offer = await page.evaluate(() => (window as unknown as { start(): Promise<string> }).start());
  const answer = await cb<string>((done) => ep.processOffer(offer, done));
  await cb<undefined>((done) => ep.gatherCandidates(done));
  await page.evaluate(
    (sdp) =>
      (window as unknown as { peerConnection: RTCPeerConnection }).peerConnection.setRemoteDescription({
        type: "answer",
        sdp,
      }),
    answer,
  );
  await connect(ep, ep);
  return { ep, release: () => release(pipeline).catch(() => undefined) };
}

const channelOpen = (page: Page, ms = 20_000): Promise<unknown> =>
  page.waitForFunction(() => !(document.getElementById("send") as HTMLButtonElement).disabled, undefined, {
    timeout: ms,
  });

if (!existsSync(CHROMIUM)) {
  t.plan(0, `${CHROMIUM} is not installed`);
} else {
  const k = await startKorus(t, { workers: 1, startTimeoutMs: 60_000 });

  t.test("hello-world-data-channel: the text typed comes back", async (t) => {
    const { client } = await connectClient(t, k.url);
    const tut = await openTutorial();
    t.teardown(() => tut.close());
    const { ep, release: done } = await startTutorial(client, tut.page, true);
    t.teardown(done);
    const opened = new Promise<number>((resolve) =>
      ep.once("DataChannelOpened", (ev) => resolve(Number(ev["channelId"]))),
    );
    await channelOpen(tut.page);
    t.type(await opened, "number", "DataChannelOpened");
    for (const text of ["Hello Korus!", "a second line, ünïcödé ✓"]) {
      await tut.page.fill("#dataChannelSend", text);
      await tut.page.click("#send");
      await tut.page.waitForFunction(
        (want) => (document.getElementById("dataChannelReceive") as HTMLTextAreaElement).value === want,
        text,
        { timeout: 10_000 },
      );
      t.pass(`"${text}" came back`);
    }
    t.equal(await tut.page.inputValue("#dataChannelSend"), "", "the input was cleared, as the tutorial does");
  });

  t.test("without useDataChannels the browser's channel never opens but its media connects", async (t) => {
    const { client } = await connectClient(t, k.url);
    const tut = await openTutorial();
    t.teardown(() => tut.close());
    const { release: done } = await startTutorial(client, tut.page, false);
    t.teardown(done);
    await tut.page.waitForFunction(
      () => (window as unknown as { peerConnection: RTCPeerConnection }).peerConnection.connectionState === "connected",
      undefined,
      { timeout: 20_000 },
    );
    await tut.page.waitForTimeout(1000);
    const state = await tut.page.evaluate(() => (window as unknown as { channel: RTCDataChannel }).channel.readyState);
    t.not(state, "open", `the channel does not open (${state})`);
  });

  t.test("a flood, then a page that closes mid-message: the server keeps working, memory bounded", async (t) => {
    const { client } = await connectClient(t, k.url);
    const before = rssKiB(k.pid);
    for (let round = 0; round < 2; round++) {
      const tut = await openTutorial();
      const { release: done } = await startTutorial(client, tut.page, true);
      await channelOpen(tut.page);
      // FLOOD messages of 16 KiB, as fast as the page's own send buffer lets them go.
      const sent = await tut.page.evaluate(async (total) => {
        const ch = (window as unknown as { channel: RTCDataChannel }).channel;
        const chunk = new Uint8Array(16 * 1024).fill(7);
        let n = 0;
        const t0 = performance.now();
        while (n < total) {
          if (ch.bufferedAmount > 4 * 1024 * 1024) {
            await new Promise((r) => setTimeout(r, 5));
            continue;
          }
          ch.send(chunk);
          n++;
        }
        // Then a large message, and the connection closed under it.
        ch.send(new Uint8Array(60 * 1024).fill(9));
        (window as unknown as { peerConnection: RTCPeerConnection }).peerConnection.close();
        return { n, ms: performance.now() - t0, received: (window as unknown as { received: number }).received };
      }, FLOOD);
      t.comment(JSON.stringify(sent));
      t.equal(sent.n, FLOOD, `round ${round}: the page sent its flood and closed`);
      await tut.close();
      await done();
    }
    // The server still serves the tutorial.
    const tut = await openTutorial();
    t.teardown(() => tut.close());
    const { release: done } = await startTutorial(client, tut.page, true);
    t.teardown(done);
    await channelOpen(tut.page);
    await tut.page.fill("#dataChannelSend", "still here");
    await tut.page.click("#send");
    await tut.page.waitForFunction(
      () => (document.getElementById("dataChannelReceive") as HTMLTextAreaElement).value === "still here",
      undefined,
      { timeout: 10_000 },
    );
    const grown = (rssKiB(k.pid) - before) / 1024;
    t.ok(grown < 150, `the server's RSS grew by ${grown.toFixed(0)} MiB over two floods`);
  });
}
