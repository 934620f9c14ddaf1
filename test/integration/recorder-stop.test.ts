/**
 * How a recording ends: `stopAndWait` answers only once the file is complete (ffprobe gives its duration, the
 * journal entry is complete, nothing is written to it afterwards), and `stopOnEndOfStream` stops the recording when
 * its source (a PlayerEndpoint at the end of its file) ends, as KMS does; without it the recorder keeps recording.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import t from "tap";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { delay, eventType, exited, ffprobe, rtpSource, sendMedia, startRig, type Rig } from "./recorderRig.js";

async function recorder(rig: Rig, name: string, profile: string, stopOnEndOfStream = false): Promise<string> {
  const id = String(
    await rig.call("create", {
      type: "RecorderEndpoint",
      constructorParams: {
        mediaPipeline: rig.pipeline,
        uri: `file://${path.join(rig.root, name)}`,
        mediaProfile: profile,
        stopOnEndOfStream,
      },
    }),
  );
  for (const type of ["Recording", "Stopped"]) {
    await rig.call("subscribe", { object: id, type });
  }
  return id;
}

/** The journal entry of the recording at `file` (live or done), or undefined. */
function journalState(root: string, file: string): string | undefined {
  for (const dir of [path.join(root, ".journal"), path.join(root, ".journal", "done")]) {
    if (!existsSync(dir)) {
      continue;
    }
    for (const name of readdirSync(dir)) {
      if (!name.endsWith(".json")) {
        continue;
      }
      const e = JSON.parse(readFileSync(path.join(dir, name), "utf8")) as { path?: string; state?: string };
      if (e.path === file) {
        return e.state;
      }
    }
  }
  return undefined;
}

t.test("stopAndWait answers once the file is complete: duration, journal entry, no write after", async (t) => {
  const rig = await startRig(t);
  // Audio only: encoding a video source first is too slow for the test's limits on a loaded machine.
  const src = await rtpSource(rig, "opus", undefined);
  const rec = await recorder(rig, "done.webm", "WEBM_AUDIO_ONLY");
  await rig.call("invoke", { object: src.id, operation: "connect", operationParams: { sink: rec } });
  const ff = sendMedia(t, src, "opus", undefined, 8);
  await delay(1000);
  await rig.call("invoke", { object: rec, operation: "record" });
  await rig.app.event((m) => eventType(m) === "Recording", 10_000);
  await delay(2000);
  await rig.call("invoke", { object: rec, operation: "stopAndWait" });
  // At the answer, with media still arriving at the source:
  const file = path.join(rig.root, "done.webm");
  const size = statSync(file).size;
  const state = journalState(rig.root, file);
  const p = ffprobe(file);
  t.ok(Number.isFinite(p.durationSec) && p.durationSec > 1.5, `ffprobe reports its Duration (${p.durationSec} s)`);
  t.ok(state === "complete" || state === "ready", `the journal entry is complete (${state})`);
  await delay(1500);
  t.equal(statSync(file).size, size, "nothing is written to the file afterwards");
  ff.kill("SIGKILL");
  await exited(ff);
});

t.test("stopOnEndOfStream: the recording stops when the player ends; without it, it goes on", async (t) => {
  const rig = await startRig(t);
  const media = path.join(rig.k.dataDir, "data", "media");
  mkdirSync(media, { recursive: true });
  ffmpegSync(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-y", path.join(media, "t.wav")]);
  const player = String(
    await rig.call("create", {
      type: "PlayerEndpoint",
      constructorParams: { mediaPipeline: rig.pipeline, uri: "t.wav" },
    }),
  );
  await rig.call("subscribe", { object: player, type: "EndOfStream" });
  const stops = await recorder(rig, "eos.webm", "WEBM_AUDIO_ONLY", true);
  const goesOn = await recorder(rig, "on.webm", "WEBM_AUDIO_ONLY", false);
  for (const rec of [stops, goesOn]) {
    await rig.call("invoke", { object: player, operation: "connect", operationParams: { sink: rec } });
    await rig.call("invoke", { object: rec, operation: "record" });
  }
  await rig.call("invoke", { object: player, operation: "play" });
  const stopped = await rig.app.event(
    (m) => eventType(m) === "Stopped" && (m.params?.["value"] as { object?: string } | undefined)?.object === stops,
    15_000,
  );
  t.ok(stopped, "Stopped raised without a stop() call");
  t.ok(
    rig.app.events.some((m) => eventType(m) === "EndOfStream"),
    "after the player's EndOfStream",
  );
  t.equal(await rig.call("invoke", { object: stops, operation: "getState" }), "STOP");
  t.equal(await rig.call("invoke", { object: goesOn, operation: "getState" }), "START", "the other one records on");
  const d = ffprobe(path.join(rig.root, "eos.webm")).durationSec;
  t.ok(Math.abs(d - 2) < 0.1, `the file holds the 2 s played (${d} s)`);
  await rig.call("invoke", { object: goesOn, operation: "stopAndWait" });
});
