/**
 * RecorderEndpoint under a crash and through kurento-client:
 * - `kill -9` of the server in the middle of a WebM and an MP4 recording: the file as left (no recovery pass) opens
 *   in ffprobe and decodes to at most 1 s before the kill;
 * - the hello-world-recording flow with kurento-client 7.3.0: PlayerEndpoint → RecorderEndpoint (WEBM_AUDIO_ONLY),
 *   `record`, `play`, EndOfStream, `stopAndWait`, Recording/Stopped events, then the file holds the played tone.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import {
  cb,
  connectClient,
  createPipeline,
  type KEvent,
  type MediaElement,
  type MediaObject,
} from "../helpers/kurento.js";
import { startKorus } from "../helpers/server.js";
import {
  decodeAudio,
  delay,
  eventType,
  exited,
  ffprobe,
  frameHashes,
  has440,
  rtpSource,
  sendMedia,
  startRig,
} from "./recorderRig.js";

for (const [profile, ext] of [
  ["WEBM", "webm"],
  ["MP4", "mp4"],
] as const) {
  t.test(`kill -9 while recording ${profile}: the file as left decodes to ≤ 1 s before the kill`, async (t) => {
    const rig = await startRig(t);
    const video = profile === "MP4" ? "h264" : "vp8";
    const src = await rtpSource(rig, "opus", video);
    const file = path.join(rig.root, `k.${ext}`);
    const rec = String(
      await rig.call("create", {
        type: "RecorderEndpoint",
        constructorParams: { mediaPipeline: rig.pipeline, uri: `file://${file}`, mediaProfile: profile },
      }),
    );
    await rig.call("subscribe", { object: rec, type: "Recording" });
    await rig.call("invoke", { object: src.id, operation: "connect", operationParams: { sink: rec } });
    // ffmpeg does not answer PLI: it sends the keyframes every 0.5 s that Korus asks of a browser for MP4.
    const ff = sendMedia(t, src, "opus", video, 10, profile === "MP4" ? 12 : 25);
    await delay(500);
    await rig.call("invoke", { object: rec, operation: "record" });
    await rig.app.event((m) => eventType(m) === "Recording", 10_000);
    const started = performance.now();
    await delay(4000);
    const killedAfter = (performance.now() - started) / 1000;
    await rig.k.kill9();
    ff.kill("SIGKILL");
    await exited(ff);
    const p = ffprobe(file);
    t.ok(
      p.streams.some((s) => s.codec_name === "opus"),
      "ffprobe opens the file and sees the audio",
    );
    const audioSec = decodeAudio(file).length / 8000;
    t.ok(
      audioSec >= killedAfter - 1 && audioSec <= killedAfter + 0.3,
      `decoded ${audioSec.toFixed(2)} s of audio, killed ${killedAfter.toFixed(2)} s into the recording`,
    );
    t.ok(frameHashes(file, 25).length >= 20, "video frames decode");
  });
}

t.test("kurento-client: the hello-world-recording flow (Player → Recorder, stopAndWait)", async (t) => {
  const k = await startKorus(t, { workers: 1 });
  const media = path.join(k.dataDir, "data", "media");
  mkdirSync(media, { recursive: true });
  ffmpegSync([
    "-f",
    "lavfi",
    "-i",
    "sine=frequency=440:sample_rate=48000:duration=2",
    "-y",
    path.join(media, "tone.wav"),
  ]);
  const { client } = await connectClient(t, k.url);
  const pipeline = await createPipeline(client);
  const player = await cb<MediaElement>((d) => pipeline.create("PlayerEndpoint", { uri: "tone.wav" }, d));
  const file = path.join(k.dataDir, "data", "recordings", "hello.webm");
  const recorder = await cb<MediaElement>((d) =>
    pipeline.create("RecorderEndpoint", { uri: `file://${file}`, mediaProfile: "WEBM_AUDIO_ONLY" }, d),
  );
  const seen: string[] = [];
  for (const ev of ["Recording", "Stopped", "UriEndpointStateChanged"]) {
    recorder.on(ev, (e: KEvent) => seen.push(ev === "UriEndpointStateChanged" ? `${ev}(${String(e["state"])})` : ev));
  }
  await cb<undefined>((d) => player.connect(recorder, d));
  const invoke = (obj: MediaObject, op: string): Promise<unknown> => cb((d) => obj._invoke(undefined, op, {}, d));
  await invoke(recorder, "record");
  const ended = new Promise<void>((resolve) => player.once("EndOfStream", () => resolve()));
  await invoke(player, "play");
  await ended;
  await invoke(recorder, "stopAndWait");
  await delay(200); // events and answers travel apart
  t.same(
    [...seen].sort(),
    ["Recording", "Stopped", "UriEndpointStateChanged(START)", "UriEndpointStateChanged(STOP)"],
    `Recording, Stopped and both state changes (${seen.join(", ")})`,
  );
  t.ok(seen.indexOf("UriEndpointStateChanged(START)") < seen.indexOf("Recording"), "START before Recording");
  const p = ffprobe(file);
  t.same(
    p.streams.map((s) => s.codec_name),
    ["opus"],
  );
  t.ok(Math.abs(p.durationSec - 2) < 0.1, `the file lasts ${p.durationSec}s (2 s played, within 100 ms)`);
  t.ok(has440(decodeAudio(file)), "the played tone is in the file");
});
