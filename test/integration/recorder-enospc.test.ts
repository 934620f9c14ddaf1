/**
 * A disk that fills while recording: the recording's writer runs in a child Node process inside its own mount
 * namespace (`unshare -m`, as root) whose recordings folder is a 96 KiB tmpfs. Real Opus packets (a 440 Hz tone)
 * go in until the disk is full; the writer must report ENOSPC once through its failure hook, stop, close its
 * descriptor, and leave a file that ffprobe opens and ffmpeg decodes; the process stays alive and exits cleanly.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import { ROOT } from "../helpers/server.js";
import { decodeAudio, ffprobe, has440 } from "./recorderRig.js";

const root = process.getuid?.() === 0;
const hasUnshare = spawnSync("unshare", ["-m", "true"]).status === 0;

t.test(
  "ENOSPC: Error hook, a playable file, the process alive",
  { skip: root && hasUnshare ? false : "needs root and unshare -m" },
  async (t) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "korus-enospc-"));
    t.teardown(() => rmSync(dir, { recursive: true, force: true }));
    const mnt = path.join(dir, "mnt");
    const out = path.join(dir, "left.webm");
    const script = path.join(dir, "child.mjs");
    writeFileSync(
      script,
      `
import { copyFileSync, mkdirSync } from "node:fs";
const { Recording } = await import(${JSON.stringify(path.join(ROOT, "dist/media/record/Recording.js"))});
const { recordingProfile } = await import(${JSON.stringify(path.join(ROOT, "dist/media/record/profiles.js"))});
const { createEncoder } = await import(${JSON.stringify(path.join(ROOT, "dist/media/codecs/factory.js"))});
const file = ${JSON.stringify(path.join(mnt, "r.webm"))};
const failures = [];
const rec = new Recording(file, recordingProfile("WEBM_AUDIO_ONLY"), {
  requestKeyframe() {},
  started() {},
  failed(err) { failures.push(err.code ?? err.message); },
});
const enc = createEncoder("opus", { sampleRate: 48000, frameMs: 20 });
const frame = new Int16Array(960);
let n = 0;
// 60 s of a 440 Hz tone at 20 ms per packet, stamped as if it arrived in real time; far more than 96 KiB.
for (; n < 3000 && failures.length === 0; n++) {
  for (let i = 0; i < 960; i++) frame[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * 960 + i)) / 48000));
  rec.push({ kind: "AUDIO", codec: "opus", clockRate: 48000, payloadType: 111, ssrc: 1, sequenceNumber: n & 0xffff,
    timestamp: n * 960, marker: false, payload: enc.encode(frame), keyframe: false, arrivalMs: 1000 + n * 20 });
  if (n % 25 === 0) await new Promise((r) => setTimeout(r, 1));
}
const summary = await rec.finish();
copyFileSync(file, ${JSON.stringify(out)});
console.log(JSON.stringify({ failures, packets: n, summary }));
`,
    );
    const r = spawnSync(
      "unshare",
      ["-m", "sh", "-c", `mkdir -p "${mnt}" && mount -t tmpfs -o size=96k tmpfs "${mnt}" && exec node "${script}"`],
      { timeout: 60_000, killSignal: "SIGKILL" },
    );
    t.equal(r.status, 0, `the child exits cleanly (${r.stderr.toString().slice(0, 500)})`);
    const res = JSON.parse(r.stdout.toString().trim().split("\n").at(-1) ?? "{}") as {
      failures: string[];
      packets: number;
      summary: { bytes: number };
    };
    t.same(res.failures, ["ENOSPC"], "the failure hook saw ENOSPC, once");
    t.ok(res.packets < 3000, `writing stopped when the disk filled (${res.packets} packets)`);
    t.ok(res.summary.bytes > 32_000, `what fitted was written (${res.summary.bytes} bytes)`);
    t.ok(
      ffprobe(out).streams.some((s) => s.codec_name === "opus"),
      "ffprobe opens the file left",
    );
    const pcm = decodeAudio(out);
    t.ok(pcm.length / 8000 > 2, `it decodes (${(pcm.length / 8000).toFixed(2)} s)`);
    t.ok(has440(pcm), "to the tone");
  },
);
