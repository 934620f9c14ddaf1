/**
 * PlayerEndpoint → WebRtcEndpoint → headless Chromium, with kurento-client 7.3.0:
 *
 * - an H.264/AAC MP4 made by ffmpeg (moving testsrc, 320x240) to a Chromium that offers VP8 only
 *   (setCodecPreferences): the player transcodes to VP8 (isMediaTranscoding(VIDEO) true), the `<video>` has the
 *   file's size and its pictures change, and EndOfStream arrives;
 * - a VP8/Opus WebM to a Chromium that offers its defaults: the video passes through (isMediaTranscoding(VIDEO)
 *   false) and plays at the file's size.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import t, { type Test } from "tap";
import { cb, connect, connectClient, createPipeline, createWebRtc, release } from "../helpers/kurento.js";
import type { MediaElement } from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import { CHROMIUM, openPlayerPage, type VideoState } from "./playerPage.js";

interface Player extends MediaElement {
  play(done: (err: unknown) => void): void;
}

t.setTimeout(150_000);

const ff = (args: string[]): void => {
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], { timeout: 60_000 });
};

if (!existsSync(CHROMIUM)) {
  t.plan(0, `${CHROMIUM} is not installed`);
} else {
  const k = await startKorus(t, { workers: 1 });
  const media = path.join(k.dataDir, "data", "media");
  mkdirSync(media, { recursive: true });
  const mp4 = path.join(media, "moving.mp4");
  ff([
    "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", "5", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "50", "-c:a", "aac", mp4,
  ]); // prettier-ignore
  const webm = path.join(media, "moving.webm");
  ff([
    "-f", "lavfi", "-i", "testsrc=size=352x288:rate=25",
    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
    "-t", "5", "-c:v", "libvpx", "-deadline", "realtime", "-g", "25", "-c:a", "libopus", webm,
  ]); // prettier-ignore

  /** Plays `uri` to a fresh page; samples its <video> until EndOfStream. */
  async function play(
    t: Test,
    uri: string,
    vp8Only: boolean,
  ): Promise<{ seen: VideoState[]; eos: boolean; transcoding: unknown; errors: unknown[] }> {
    const { client } = await connectClient(t, k.url);
    const browser = await openPlayerPage();
    t.teardown(() => browser.close());
    const pipeline = await createPipeline(client);
    t.teardown(() => release(pipeline).catch(() => undefined));
    const viewer = await createWebRtc(pipeline);
    await browser.connect(viewer, { send: false, vp8Only });
    const player = (await cb<MediaElement>((done) => pipeline.create("PlayerEndpoint", { uri }, done))) as Player;
    const errors: unknown[] = [];
    player.on("Error", (ev) => errors.push(ev));
    let eos = false;
    player.once("EndOfStream", () => (eos = true));
    await connect(player, viewer);
    await cb<undefined>((done) => player.play((e) => done(e as null, undefined)));
    const seen: VideoState[] = [];
    let transcoding: unknown;
    const started = Date.now();
    // Generous: the transcoder shares two cores with the rest of the machine.
    while (!eos && Date.now() - started < 45_000) {
      seen.push(await browser.videoState());
      if (seen.length === 8) {
        transcoding = await cb<unknown>((done) =>
          player._invoke(undefined, "isMediaTranscoding", { mediaType: "VIDEO" }, done),
        );
      }
      await browser.page.waitForTimeout(250);
    }
    return { seen, eos, transcoding, errors };
  }

  t.test("an H.264 MP4 plays to a VP8-only Chromium, transcoded: the file's size, pictures change", async (t) => {
    const r = await play(t, `file://${mp4}`, true);
    t.ok(r.eos, "EndOfStream");
    t.same(r.errors, [], "no Error event");
    t.equal(r.transcoding, true, "isMediaTranscoding(VIDEO) while playing");
    const shown = r.seen.filter((s) => s.width > 0);
    t.same([shown[0]?.width, shown[0]?.height], [320, 240], "the <video> has the file's size");
    t.ok(new Set(shown.map((s) => s.hash)).size >= 3, "the pictures change");
  });

  t.test("a VP8 WebM plays to Chromium through the passthrough", async (t) => {
    const r = await play(t, "moving.webm", false);
    t.ok(r.eos, "EndOfStream");
    t.same(r.errors, [], "no Error event");
    t.equal(r.transcoding, false, "isMediaTranscoding(VIDEO) false: passed through");
    const shown = r.seen.filter((s) => s.width > 0);
    t.same([shown[0]?.width, shown[0]?.height], [352, 288], "the <video> has the file's size");
    t.ok(new Set(shown.map((s) => s.hash)).size >= 3, "the pictures change");
  });
}
