/**
 * Call recording through the Kurento API (issue 11 §3): two RtpEndpoints fed by ffmpeg with different tones,
 * connected into one RecorderEndpoint as `left` / `right` (stereo) or on two other descriptions (mixed); the korus
 * WAV (G.711) and OGG (Opus) profiles. Checked by content: ffprobe codec and channels, each channel's tone.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { delay, exited, startRig, type Rig } from "./recorderRig.js";
import { channelPcm, probeAudio as probe, tone, toneSeconds } from "./recorderStereoRig.js";

type Codec = "pcma" | "pcmu" | "opus";

const PT: Record<Codec, string> = { pcma: "8", pcmu: "0", opus: "111" };
const RTPMAP: Record<Codec, string> = { pcma: "PCMA/8000", pcmu: "PCMU/8000", opus: "opus/48000/2" };

async function source(rig: Rig, codec: Codec): Promise<{ id: string; port: number }> {
  const id = String(
    await rig.call("create", { type: "RtpEndpoint", constructorParams: { mediaPipeline: rig.pipeline } }),
  );
  const offer = ["v=0", "o=- 1 1 IN IP4 127.0.0.1", "s=-", "c=IN IP4 127.0.0.1", "t=0 0"];
  offer.push(`m=audio 9 RTP/AVP ${PT[codec]}`, `a=rtpmap:${PT[codec]} ${RTPMAP[codec]}`, "a=sendonly");
  const answer = String(
    await rig.call("invoke", {
      object: id,
      operation: "processOffer",
      operationParams: { offer: `${offer.join("\r\n")}\r\n` },
    }),
  );
  return { id, port: Number(/m=audio (\d+)/.exec(answer)?.[1] ?? 0) };
}

/** ffmpeg sending a `freq` Hz tone as RTP in real time (encoded first, then sent with -re -c copy). */
function sendTone(t: Test, port: number, codec: Codec, freq: number, seconds: number, ssrc: number): ChildProcess {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-rec-stereo-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const src = path.join(dir, "src.mkv");
  const enc =
    codec === "opus"
      ? ["-c:a", "libopus", "-b:a", "48k"]
      : ["-c:a", codec === "pcma" ? "pcm_alaw" : "pcm_mulaw", "-ar", "8000"];
  ffmpegSync([
    "-f",
    "lavfi",
    "-i",
    `sine=frequency=${freq}:sample_rate=48000:duration=${seconds}`,
    "-ac",
    "1",
    ...enc,
    "-y",
    src,
  ]);
  const child = spawn(
    "ffmpeg",
    [
      ...["-hide_banner", "-loglevel", "error", "-re", "-i", src, "-c", "copy"],
      ...["-payload_type", PT[codec], "-ssrc", String(ssrc), "-f", "rtp", `rtp://127.0.0.1:${port}`],
    ],
    { stdio: "ignore" },
  );
  const timer = setTimeout(() => child.kill("SIGKILL"), (seconds + 30) * 1000);
  child.on("exit", () => clearTimeout(timer));
  t.teardown(() => child.kill("SIGKILL"));
  return child;
}

const LEFT_HZ = 440;
const RIGHT_HZ = 1000;
const SECONDS = 3;

/** Two tone sources connected into a new recorder on `descriptions`; records, returns the file and the span. */
async function record(
  t: Test,
  rig: Rig,
  opts: { profile: string; codec: Codec; descriptions: string[]; name: string },
): Promise<{ file: string; spanSec: number }> {
  const uri = `file:///${path.join(rig.root, opts.name)}`.replace("////", "///");
  const rec = String(
    await rig.call("create", {
      type: "RecorderEndpoint",
      constructorParams: { mediaPipeline: rig.pipeline, uri, mediaProfile: opts.profile },
    }),
  );
  const freqs = [LEFT_HZ, RIGHT_HZ];
  const srcs = [];
  for (const [i, d] of opts.descriptions.entries()) {
    const s = await source(rig, opts.codec);
    await rig.call("invoke", {
      object: s.id,
      operation: "connect",
      operationParams: { sink: rec, mediaType: "AUDIO", sourceMediaDescription: "default", sinkMediaDescription: d },
    });
    srcs.push({ ...s, freq: freqs[i] ?? 0 });
  }
  await rig.call("invoke", { object: rec, operation: "record" });
  const started = performance.now();
  const senders = srcs.map((s, i) => sendTone(t, s.port, opts.codec, s.freq, SECONDS, 1000 + i));
  await Promise.all(senders.map(exited));
  await delay(200);
  await rig.call("invoke", { object: rec, operation: "stopAndWait" });
  const spanSec = (performance.now() - started) / 1000;
  const file = path.join(rig.root, opts.name);
  t.ok(existsSync(file), `${opts.name} written`);
  return { file, spanSec };
}

t.test("stereo WAV from two PCMA sources: pcm_alaw, 2 channels, 440 Hz left, 1000 Hz right", async (t) => {
  const rig = await startRig(t);
  const { file, spanSec } = await record(t, rig, {
    profile: "WAV",
    codec: "pcma",
    descriptions: ["left", "right"],
    name: "stereo.wav",
  });
  const p = probe(file);
  t.match(p, { streams: 1, codec: "pcm_alaw", channels: 2, sampleRate: 8000 });
  t.ok(
    p.duration > SECONDS && p.duration < spanSec,
    `duration ${p.duration} s within the ${spanSec.toFixed(2)} s span`,
  );
  const left = channelPcm(file, 0);
  const right = channelPcm(file, 1);
  // Each side's 3 s of tone lasts 3 s in the file (±100 ms): wall-clock timing, nothing compressed or stretched.
  t.ok(Math.abs(toneSeconds(left, LEFT_HZ) - SECONDS) <= 0.1, `left tone lasts ${toneSeconds(left, LEFT_HZ)} s`);
  t.ok(Math.abs(toneSeconds(right, RIGHT_HZ) - SECONDS) <= 0.1, `right tone lasts ${toneSeconds(right, RIGHT_HZ)} s`);
  t.ok(tone(left, LEFT_HZ) > 100 * tone(left, RIGHT_HZ), "left holds the left tone only");
  t.ok(tone(right, RIGHT_HZ) > 100 * tone(right, LEFT_HZ), "right holds the right tone only");
});

t.test("stereo OGG (Opus) from PCMU and Opus sources, and mono OGG passthrough", async (t) => {
  const rig = await startRig(t);
  const stereo = await record(t, rig, {
    profile: "OGG",
    codec: "pcmu",
    descriptions: ["left", "right"],
    name: "stereo.ogg",
  });
  let p = probe(stereo.file);
  t.match(p, { codec: "opus", channels: 2 });
  t.ok(p.duration > SECONDS && p.duration < stereo.spanSec, `duration ${p.duration} s within the span`);
  const left = channelPcm(stereo.file, 0);
  const right = channelPcm(stereo.file, 1);
  t.ok(tone(left, LEFT_HZ) > 30 * tone(left, RIGHT_HZ), "left: 440 Hz");
  t.ok(tone(right, RIGHT_HZ) > 30 * tone(right, LEFT_HZ), "right: 1000 Hz");

  const mono = await record(t, rig, { profile: "OGG", codec: "opus", descriptions: ["default"], name: "mono.ogg" });
  p = probe(mono.file);
  t.match(p, { codec: "opus", channels: 1 });
  t.ok(Math.abs(p.duration - SECONDS) < 0.35, `mono passthrough lasts ${p.duration} s`);
  const pcm = channelPcm(mono.file, -1);
  t.ok(tone(pcm, LEFT_HZ) > 100 * tone(pcm, RIGHT_HZ), "mono: 440 Hz");
});

t.test("mixed: two sources on their own descriptions are mixed into one channel", async (t) => {
  const rig = await startRig(t);
  const { file } = await record(t, rig, {
    profile: "WEBM_AUDIO_ONLY",
    codec: "pcma",
    descriptions: ["caller", "callee"],
    name: "mixed.webm",
  });
  const p = probe(file);
  t.match(p, { codec: "opus", channels: 1 });
  const pcm = channelPcm(file, -1);
  const quiet = tone(pcm, 700);
  t.ok(tone(pcm, LEFT_HZ) > 30 * quiet && tone(pcm, RIGHT_HZ) > 30 * quiet, "both tones in the one channel");
});
