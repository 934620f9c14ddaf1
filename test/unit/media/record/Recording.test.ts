/**
 * Keyframe requests of a recording (media/record/Recording.ts): for MP4 with video, one only when the source's own
 * keyframes are more than 0.8 s apart (fragments start at keyframes), none when they come sooner; for WebM none
 * beyond the start. H.264 RTP (STAP-A with SPS/PPS + IDR, then single non-IDR NAL units) at 25 fps.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t from "tap";
import type { MediaPacket } from "../../../../media/core/types.js";
import { recordingProfile } from "../../../../media/record/profiles.js";
import { Recording } from "../../../../media/record/Recording.js";

const SPS = [0x67, 0x42, 0xc0, 0x0d, 0xd9, 0x01, 0x41, 0xfb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00];
const PPS = [0x68, 0xce, 0x3c, 0x80];

function packet(seq: number, frame: number, key: boolean, arrivalMs: number): MediaPacket {
  const payload = key
    ? [0x78, 0, SPS.length, ...SPS, 0, PPS.length, ...PPS, 0, 3, 0x65, 0x88, 0x80]
    : [0x41, 0x9a, frame & 0xff];
  return {
    kind: "VIDEO",
    codec: "h264",
    clockRate: 90000,
    payloadType: 96,
    ssrc: 7,
    sequenceNumber: seq & 0xffff,
    timestamp: frame * 3600,
    marker: true,
    payload: Uint8Array.from(payload),
    keyframe: key,
    arrivalMs,
  };
}

/** Keyframe requests over 5 s of 25 fps video with a keyframe every `gop` frames. */
async function requests(profile: string, gop: number): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-rec-unit-"));
  try {
    let asked = 0;
    const rec = new Recording(path.join(dir, "x"), recordingProfile(profile), {
      requestKeyframe: () => asked++,
      started: () => undefined,
      failed: () => undefined,
    });
    for (let f = 0; f < 125; f++) {
      rec.push(packet(f, f, f % gop === 0, 1000 + f * 40));
    }
    await rec.finish();
    return asked;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

t.test("MP4: a keyframe is asked only when the source's are over 0.8 s apart", async (t) => {
  t.equal(await requests("MP4_VIDEO_ONLY", 12), 0, "keyframes every 0.48 s: never asked");
  t.equal(await requests("MP4_VIDEO_ONLY", 25), 5, "keyframes every 1 s: once per interval, 0.8 s in");
  t.equal(await requests("MP4_VIDEO_ONLY", 1000), 6, "one keyframe only: every 0.8 s, not every 0.5 s");
  t.equal(await requests("MKV_VIDEO_ONLY", 1000), 0, "Matroska: none (clusters do not need keyframes)");
});
