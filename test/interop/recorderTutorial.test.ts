/**
 * The Kurento browser recorder tutorial (tutorials/javascript-browser/recorder in Kurento/kurento), driven with
 * kurento-client 7.3.0 against Korus, in headless Chromium (fake camera and microphone):
 *
 * 1. record: the page's WebRtcEndpoint loops back to itself and feeds a RecorderEndpoint (WEBM) for 5 s, then
 *    `stopAndWait` and the pipeline is released (the tutorial's "stop" button);
 * 2. play: a new recvonly WebRtcEndpoint, a PlayerEndpoint on the recorded file connected to it, `play()`:
 *    the page's `<video>` plays the recording (a size, and pictures that change) and EndOfStream arrives.
 */
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { cb, connect, connectClient, createPipeline, createWebRtc, release } from "../helpers/kurento.js";
import type { MediaElement } from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { CHROMIUM, openPlayerPage, type VideoState } from "./playerPage.js";

interface Recorder extends MediaElement {
  record(done: (err: unknown) => void): void;
  stopAndWait(done: (err: unknown) => void): void;
}
interface Player extends MediaElement {
  play(done: (err: unknown) => void): void;
}

t.setTimeout(150_000);

if (!existsSync(CHROMIUM)) {
  t.plan(0, `${CHROMIUM} is not installed`);
} else {
  const k = await startKorus(t, { workers: 1, config: { files: { mediaRoots: ["recordings"] } } });
  const file = path.join(k.dataDir, "data", "recordings", `tutorial-${process.pid}.webm`);
  const uri = `file://${file}`;

  t.test("record from the camera, stop, play the file back with PlayerEndpoint", async (t) => {
    const { client } = await connectClient(t, k.url);
    const browser = await openPlayerPage();
    t.teardown(() => browser.close());

    // 1. Record (the tutorial's startRecording).
    const recPipeline = await createPipeline(client);
    const recorder = (await cb<MediaElement>((done) =>
      recPipeline.create("RecorderEndpoint", { uri }, done),
    )) as Recorder;
    const webRtc = await createWebRtc(recPipeline);
    await browser.connect(webRtc, { send: true });
    await connect(webRtc, webRtc);
    await connect(webRtc, recorder);
    await cb<undefined>((done) => recorder.record((e) => done(e as null, undefined)));
    await browser.page.waitForTimeout(5000);
    await cb<undefined>((done) => recorder.stopAndWait((e) => done(e as null, undefined)), 20_000);
    await release(recPipeline);
    await browser.hangUp();
    t.ok(existsSync(file) && statSync(file).size > 20_000, `recorded ${statSync(file).size} bytes`);

    // 2. Play it back (the tutorial's startPlaying).
    const playPipeline = await createPipeline(client);
    t.teardown(() => release(playPipeline).catch(() => undefined));
    const viewer = await createWebRtc(playPipeline);
    await browser.connect(viewer, { send: false });
    const player = (await cb<MediaElement>((done) => playPipeline.create("PlayerEndpoint", { uri }, done))) as Player;
    const errors: unknown[] = [];
    player.on("Error", (ev) => errors.push(ev));
    let eosAt = 0;
    const eos = new Promise<void>((resolve) => player.once("EndOfStream", () => resolve()));
    void eos.then(() => (eosAt = Date.now()));
    await connect(player, viewer);
    const started = Date.now();
    await cb<undefined>((done) => player.play((e) => done(e as null, undefined)));

    const seen: VideoState[] = [];
    while (eosAt === 0 && Date.now() - started < 15_000) {
      seen.push(await browser.videoState());
      await browser.page.waitForTimeout(250);
    }
    await Promise.race([eos, browser.page.waitForTimeout(5000)]);
    t.ok(eosAt > 0, `EndOfStream after ${((eosAt - started) / 1000).toFixed(1)} s`);
    t.same(errors, [], "no Error event");
    const shown = seen.filter((s) => s.width > 0 && s.height > 0);
    t.ok(shown.length > 0, `the <video> plays at ${shown[0]?.width}x${shown[0]?.height}`);
    const hashes = new Set(shown.map((s) => s.hash));
    t.ok(hashes.size >= 3, `the pictures change (${hashes.size} different of ${shown.length})`);
    const times = shown.map((s) => s.time);
    t.ok((times.at(-1) ?? 0) - (times[0] ?? 0) > 1, `the video's time advances (${times[0]} → ${times.at(-1)})`);
  });
}
