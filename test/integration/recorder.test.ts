/**
 * RecorderEndpoint with real senders (ffmpeg RTP into an RtpEndpoint), checked by content with ffprobe/ffmpeg:
 * streams and codecs, duration against the recorded span, the decoded tone, video frames that change; every
 * container (WebM, MKV, MP4), an audio-only recording of a PCMU source (transcoded to Opus on the way), pause and
 * resume, stopAndWait, and an unsupported profile.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import t, { type Test } from "tap";
import {
  checkSpan,
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
  type AudioCodec,
  type Rig,
  type VideoCodec,
} from "./recorderRig.js";

async function recorder(rig: Rig, name: string, profile: string): Promise<string> {
  const id = String(
    await rig.call("create", {
      type: "RecorderEndpoint",
      constructorParams: {
        mediaPipeline: rig.pipeline,
        uri: `file://${path.join(rig.root, name)}`,
        mediaProfile: profile,
      },
    }),
  );
  for (const type of ["Recording", "Stopped", "Paused", "Error", "UriEndpointStateChanged"]) {
    await rig.call("subscribe", { object: id, type });
  }
  return id;
}

/** Records `seconds` of ffmpeg media; returns the file and the span between record() and stopAndWait(). */
async function recordSpan(
  t: Test,
  rig: Rig,
  audio: AudioCodec | undefined,
  video: VideoCodec,
  profile: string,
  name: string,
): Promise<{ file: string; loMs: number; hiMs: number }> {
  const src = await rtpSource(rig, audio, video);
  const rec = await recorder(rig, name, profile);
  await rig.call("invoke", { object: src.id, operation: "connect", operationParams: { sink: rec } });
  const ff = sendMedia(t, src, audio, video, 6);
  await delay(1000); // media flowing before the recording starts
  const recordAt = performance.now();
  await rig.call("invoke", { object: rec, operation: "record" });
  await rig.app.event((m) => eventType(m) === "Recording", 10_000);
  const started = performance.now();
  await delay(3000);
  const stopAt = performance.now();
  await rig.call("invoke", { object: rec, operation: "stopAndWait" });
  const answered = performance.now();
  const file = path.join(rig.root, name);
  t.ok(existsSync(file), `${name} exists once stopAndWait resolved`);
  t.equal(await rig.call("invoke", { object: rec, operation: "getState" }), "STOP");
  ff.kill("SIGKILL");
  await exited(ff);
  // The span recorded: at least Recording event → stop sent, at most record sent → stopAndWait answered.
  return { file, loMs: stopAt - started, hiMs: answered - recordAt };
}

t.test("VP8 + Opus into WEBM: both streams, the duration, the tone, changing frames", async (t) => {
  const rig = await startRig(t);
  const { file, loMs, hiMs } = await recordSpan(t, rig, "opus", "vp8", "WEBM", "a.webm");
  const p = ffprobe(file);
  t.same(p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ["audio:opus", "video:vp8"]);
  t.equal(p.streams.find((s) => s.codec_type === "video")?.width, 320);
  checkSpan(t, p.durationSec, loMs, hiMs);
  t.ok(has440(decodeAudio(file)), "the 440 Hz tone is in the file");
  const hashes = frameHashes(file, 10);
  t.equal(hashes.length, 10, "video frames decode");
  t.ok(new Set(hashes).size >= 5, "the frames change");
});

for (const [profile, ext] of [
  ["MP4", "mp4"],
  ["MKV", "mkv"],
] as const) {
  t.test(`H.264 + Opus into ${profile}`, async (t) => {
    const rig = await startRig(t);
    const { file, loMs, hiMs } = await recordSpan(t, rig, "opus", "h264", profile, `b.${ext}`);
    const p = ffprobe(file);
    t.same(p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ["audio:opus", "video:h264"]);
    checkSpan(t, p.durationSec, loMs, hiMs);
    t.ok(has440(decodeAudio(file)), "the 440 Hz tone is in the file");
    const hashes = frameHashes(file, 10);
    t.equal(hashes.length, 10, "video frames decode");
    t.ok(new Set(hashes).size >= 5, "the frames change");
  });
}

t.test("WEBM_AUDIO_ONLY from a PCMU source: transcoded to Opus once on the way", async (t) => {
  const rig = await startRig(t);
  const { file, loMs, hiMs } = await recordSpan(t, rig, "pcmu", undefined, "WEBM_AUDIO_ONLY", "c.webm");
  const p = ffprobe(file);
  t.same(
    p.streams.map((s) => `${s.codec_type}:${s.codec_name}`),
    ["audio:opus"],
  );
  checkSpan(t, p.durationSec, loMs, hiMs);
  t.ok(has440(decodeAudio(file)), "the 440 Hz tone is in the file");
});

t.test("pause removes the paused span; an unsupported profile is refused on create", async (t) => {
  const rig = await startRig(t);
  const bad = await rig.app.call("create", {
    type: "RecorderEndpoint",
    constructorParams: { mediaPipeline: rig.pipeline, uri: "file:///x.flv", mediaProfile: "KURENTO_SPLIT_RECORDER" },
    sessionId: (await rig.app.call("ping", {})).result?.["sessionId"],
  });
  t.equal(bad.error?.code, 40107, `KURENTO_SPLIT_RECORDER → 40107 (${bad.error?.message})`);

  const src = await rtpSource(rig, "opus", undefined);
  const rec = await recorder(rig, "p.webm", "WEBM_AUDIO_ONLY");
  await rig.call("invoke", { object: src.id, operation: "connect", operationParams: { sink: rec } });
  const ff = sendMedia(t, src, "opus", undefined, 8);
  await delay(500);
  const recordAt = performance.now();
  await rig.call("invoke", { object: rec, operation: "record" });
  await rig.app.event((m) => eventType(m) === "Recording", 10_000);
  // The spans recorded, as this test can bound them (request sent / answered, Recording event).
  const started = performance.now();
  await delay(1500);
  const pausedAt = performance.now();
  await rig.call("invoke", { object: rec, operation: "pause" });
  const pauseAnswered = performance.now();
  t.equal(await rig.call("invoke", { object: rec, operation: "getState" }), "PAUSE");
  await delay(2000);
  const resumedAt = performance.now();
  await rig.call("invoke", { object: rec, operation: "record" });
  const resumeAnswered = performance.now();
  await delay(1500);
  const stopAt = performance.now();
  await rig.call("invoke", { object: rec, operation: "stopAndWait" });
  const stopAnswered = performance.now();
  ff.kill("SIGKILL");
  await exited(ff);
  const d = ffprobe(path.join(rig.root, "p.webm")).durationSec;
  // 3 s recorded around a 2 s pause.
  checkSpan(
    t,
    d,
    pausedAt - started + (stopAt - resumeAnswered),
    pauseAnswered - recordAt + (stopAnswered - resumedAt),
  );
  const types = rig.app.events.map(eventType);
  t.ok(types.includes("Paused") && types.includes("Stopped"), "Paused and Stopped were raised");
});

t.test(
  "record() refuses URIs outside the recordings root, other schemes and uploads to loopback with 40107",
  async (t) => {
    const rig = await startRig(t);
    const sessionId = (await rig.app.call("ping", {})).result?.["sessionId"];
    const outside = path.join(path.dirname(rig.root), "escaped.webm");
    const hostile = [
      `file://${outside}`,
      "file://../escaped.webm",
      "file:a/../../escaped.webm",
      "ftp://example.org/x.webm",
      "http://127.0.0.1:9/x.webm",
      "file:///etc/korus-recording.webm",
    ];
    for (const uri of hostile) {
      const created = await rig.app.call("create", {
        type: "RecorderEndpoint",
        constructorParams: { mediaPipeline: rig.pipeline, uri, mediaProfile: "WEBM_AUDIO_ONLY" },
        sessionId,
      });
      const id = created.result?.["value"];
      if (created.error !== undefined) {
        t.equal(created.error.code, 40107, `${uri}: refused on create (${created.error.message})`);
        continue;
      }
      const rec = await rig.app.call("invoke", { object: id, operation: "record", sessionId });
      t.equal(rec.error?.code, 40107, `${uri}: record() refused with 40107 (${rec.error?.message})`);
      t.equal(await rig.call("invoke", { object: String(id), operation: "getState" }), "STOP", `${uri}: still STOP`);
    }
    t.notOk(existsSync(outside), "nothing was written next to the root");
    t.notOk(existsSync("/etc/korus-recording.webm"), "nothing was written to /etc");
  },
);
