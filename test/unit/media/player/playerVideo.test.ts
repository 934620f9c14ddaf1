/**
 * PlayerEndpoint with video, real ffmpeg, checked by content. A capture element takes what the player sends:
 *
 * - a red VP8+Opus WebM passes through: the VP8 frames reassembled from the RTP packets are byte-identical to
 *   ffmpeg's `-c:v copy` of the file, isMediaTranscoding(VIDEO) is false, and the frames decode (ffmpeg) at the
 *   file's size and colour;
 * - an H.264/AAC MP4 (moving testsrc) is transcoded to VP8: isMediaTranscoding(VIDEO) is true, frames decode at
 *   the file's size and change over time;
 * - pause holds the video, setPosition jumps (getPosition follows), EndOfStream ends it early after the seek;
 *   getVideoInfo has the duration from ffprobe.
 */
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import type { Connection } from "../../../../media/core/MediaElement.js";
import type { MediaPacket } from "../../../../media/core/types.js";
import { PassThrough } from "../../../../media/elements/PassThrough.js";
import { PlayerEndpoint } from "../../../../media/elements/PlayerEndpoint.js";
import { IvfReader } from "../../../../media/player/ivf.js";
import { Vp8Assembler, type EncodedFrame } from "../../../../media/record/depacketize.js";
import { RtpHarness, invoke, until } from "../rtp/fixtures/rtpHarness.js";
import { sleep } from "../transcode/fixtures/audio.js";

const dir = mkdtempSync(join(tmpdir(), "korus-playerv-"));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ff = (args: string[]): Buffer =>
  execFileSync("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...args], {
    timeout: 60_000,
    maxBuffer: 512 * 1024 * 1024,
  });

const webm = join(dir, "red.webm");
ff([
  "-f", "lavfi", "-i", "color=c=red:size=320x240:rate=25",
  "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
  "-t", "4", "-c:v", "libvpx", "-deadline", "realtime", "-g", "10", "-b:v", "300k", "-c:a", "libopus", webm,
]); // prettier-ignore
const mp4 = join(dir, "moving.mp4");
ff([
  "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25",
  "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
  "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "25", "-c:a", "aac", mp4,
]); // prettier-ignore

/** Takes every packet it is sent. */
class Capture extends PassThrough {
  readonly packets: MediaPacket[] = [];
  protected override onMedia(packet: MediaPacket, _conn: Connection): void {
    this.packets.push(packet);
  }
}

async function harness(): Promise<RtpHarness> {
  const h = await RtpHarness.create();
  h.settings.mediaAccess = { mediaRoots: [dir], recordingsRoot: dir, httpAllowHosts: [], httpAllowNetworks: [] };
  return h;
}

function vp8Frames(packets: readonly MediaPacket[]): EncodedFrame[] {
  const a = new Vp8Assembler();
  const out: EncodedFrame[] = [];
  for (const p of packets) {
    if (p.kind === "VIDEO") {
      const f = a.push(p);
      if (f !== undefined) {
        out.push(f);
      }
    }
  }
  return out;
}

/** Decodes VP8 frames with ffmpeg (through an IVF file): RGB24 frames of width × height. */
function decode(frames: readonly EncodedFrame[], width: number, height: number): Buffer[] {
  const header = Buffer.alloc(32);
  header.write("DKIF", 0);
  header.writeUInt16LE(32, 6);
  header.write("VP80", 8);
  header.writeUInt16LE(width, 12);
  header.writeUInt16LE(height, 14);
  header.writeUInt32LE(25, 16);
  header.writeUInt32LE(1, 20);
  const parts = [header];
  frames.forEach((f, i) => {
    const fh = Buffer.alloc(12);
    fh.writeUInt32LE(f.data.length, 0);
    fh.writeBigUInt64LE(BigInt(i), 4);
    parts.push(fh, Buffer.from(f.data));
  });
  const ivf = join(dir, `got-${Date.now()}.ivf`);
  writeFileSync(ivf, Buffer.concat(parts));
  const raw = ff(["-i", ivf, "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]);
  const size = width * height * 3;
  const out: Buffer[] = [];
  for (let o = 0; o + size <= raw.length; o += size) {
    out.push(raw.subarray(o, o + size));
  }
  return out;
}

const pixel = (rgb: Buffer, width: number, x: number, y: number): number[] => {
  const o = (y * width + x) * 3;
  return [rgb[o] ?? 0, rgb[o + 1] ?? 0, rgb[o + 2] ?? 0];
};

t.test("a VP8 WebM passes through: the frames are ffmpeg's -c copy, byte for byte, red at 320x240", async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const player = await h.element(PlayerEndpoint, "PlayerEndpoint", { uri: pathToFileURL(webm).href });
  const cap = await h.element(Capture, "PassThrough");
  h.pipeline.connect(player, cap, undefined, "default", "default");
  await invoke(player, "play");
  const eos = await Promise.race([h.waitEvent(player, "EndOfStream"), sleep(12_000).then(() => undefined)]);
  t.same(eos, {}, "EndOfStream after the file");
  t.same(h.eventsOf(player, "Error"), [], "no Error");
  const info = (await invoke(player, "getVideoInfo")) as Record<string, unknown>;
  t.ok(Math.abs(Number(info["duration"]) - 4000) < 100, `getVideoInfo duration ${String(info["duration"])} ms`);
  t.equal(info["isSeekable"], true, "a file is seekable");

  const got = vp8Frames(cap.packets);
  const copy = new IvfReader().push(ff(["-i", webm, "-map", "0:v:0", "-c:v", "copy", "-f", "ivf", "-"]));
  t.ok(copy.length >= 95, `ffmpeg -c copy gives ${copy.length} frames`);
  t.equal(got.length, copy.length, `all ${copy.length} frames arrived`);
  const same = got.every((f, i) => Buffer.compare(Buffer.from(f.data), Buffer.from(copy[i]?.data ?? [])) === 0);
  t.ok(same, "every VP8 frame is byte-identical to ffmpeg's -c:v copy (nothing re-encoded)");
  t.equal(got[0]?.keyframe, true, "the first frame is a keyframe");
  t.same([got[0]?.width, got[0]?.height], [320, 240], "the keyframe says 320x240");
  const rgb = decode(got, 320, 240);
  t.equal(rgb.length, got.length, `${rgb.length} frames decode`);
  const [r, g, b] = pixel(rgb[Math.floor(rgb.length / 2)] ?? Buffer.alloc(0), 320, 160, 120);
  t.ok((r ?? 0) > 200 && (g ?? 255) < 60 && (b ?? 255) < 60, `the picture is red (${r},${g},${b})`);
  const audio = cap.packets.filter((p) => p.kind === "AUDIO");
  t.ok(audio.length >= 190, `${audio.length} Opus packets (4 s of audio)`);
  const video = cap.packets.filter((p) => p.kind === "VIDEO");
  // A/V offset of the pacing: when each video frame left against its pts, minus when each audio frame left against
  // its place (20 ms each), medians of both.
  const median = (xs: number[]): number => xs.sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
  const firstOfFrame = video.filter((_p, i) => i === 0 || video[i - 1]?.marker === true);
  const vLead = median(firstOfFrame.map((p, j) => p.arrivalMs - (copy[j]?.ptsMs ?? 0)));
  const aLead = median(audio.map((p, i) => p.arrivalMs - 20 * i));
  t.ok(Math.abs(vLead - aLead) <= 40, `A/V offset of the pacing ${(vLead - aLead).toFixed(1)} ms (video later)`);
  const span = ((video.at(-1)?.arrivalMs ?? 0) - (video[0]?.arrivalMs ?? 0)) / 1000;
  t.ok(span > 3.3 && span < 5, `paced in real time: video over ${span.toFixed(2)} s`);
  const tsSpan = (((video.at(-1)?.timestamp ?? 0) - (video[0]?.timestamp ?? 0)) >>> 0) / 90000;
  t.ok(Math.abs(tsSpan - 3.96) < 0.1, `RTP timestamps span ${tsSpan.toFixed(2)} s at 90 kHz`);
  t.equal(player.videoMode, undefined, "stopped");
});

t.test("an H.264 MP4 is transcoded to VP8: isMediaTranscoding(VIDEO), 320x240, frames change", async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const player = await h.element(PlayerEndpoint, "PlayerEndpoint", { uri: mp4 });
  const cap = await h.element(Capture, "PassThrough");
  h.pipeline.connect(player, cap, undefined, "default", "default");
  await invoke(player, "play");
  t.ok(await until(() => player.videoPacketsSent > 0, 8000), "video flows");
  t.equal(player.videoMode, "vp8", "transcoding to VP8");
  t.equal(await invoke(player, "isMediaTranscoding", { mediaType: "VIDEO" }), true, "isMediaTranscoding(VIDEO)");
  const eos = await Promise.race([h.waitEvent(player, "EndOfStream"), sleep(10_000).then(() => undefined)]);
  t.same(eos, {}, "EndOfStream");
  const got = vp8Frames(cap.packets);
  t.ok(got.length >= 45, `${got.length} VP8 frames`);
  t.ok(got.filter((f) => f.keyframe).length >= 2, "a keyframe every second");
  t.same([got[0]?.width, got[0]?.height], [320, 240], "the file's size");
  const rgb = decode(got, 320, 240);
  t.equal(rgb.length, got.length, "every frame decodes");
  const first = rgb[2] ?? Buffer.alloc(0);
  const last = rgb.at(-2) ?? Buffer.alloc(0);
  let diff = 0;
  for (let i = 0; i < first.length; i++) {
    diff += Math.abs((first[i] ?? 0) - (last[i] ?? 0));
  }
  t.ok(diff / first.length > 2, `the frames change (mean abs diff ${(diff / first.length).toFixed(1)})`);
});

t.test("pause holds the video, setPosition jumps, EndOfStream after the seek", async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const player = await h.element(PlayerEndpoint, "PlayerEndpoint", { uri: webm });
  const cap = await h.element(Capture, "PassThrough");
  h.pipeline.connect(player, cap, "VIDEO", "default", "default");
  await invoke(player, "play");
  t.ok(await until(() => player.videoPacketsSent > 10, 8000), "video flows");
  await invoke(player, "pause");
  const held = player.videoPacketsSent;
  const pos = Number(await invoke(player, "getPosition"));
  await sleep(500);
  t.equal(player.videoPacketsSent, held, "no video while paused");
  t.equal(Number(await invoke(player, "getPosition")), pos, `position held at ${pos} ms`);
  await invoke(player, "play");
  await invoke(player, "setPosition", { position: 3000 });
  const seeked = Number(await invoke(player, "getPosition"));
  t.ok(seeked >= 3000 && seeked < 3200, `getPosition ${seeked} ms right after setPosition(3000)`);
  const t0 = performance.now();
  const eos = await Promise.race([h.waitEvent(player, "EndOfStream"), sleep(6000).then(() => undefined)]);
  const took = performance.now() - t0;
  t.same(eos, {}, "EndOfStream");
  t.ok(took < 2500, `EndOfStream ${took.toFixed(0)} ms after seeking to 3 s of 4`);
  const after = cap.packets.filter((p) => p.arrivalMs >= t0 - 50);
  t.ok(
    after.some((p) => p.keyframe),
    "the seek restarts on a keyframe",
  );
  await t.rejects(invoke(player, "setPosition", { position: -1 }), { name: "TypeError" }, "negative refused");
});

t.test("a video codec no sink can take raises Error naming the element and the codec; audio plays on", async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const ep = await h.rtp();
  const offer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=-",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    "m=audio 40000 RTP/AVP 0",
    "a=rtpmap:0 PCMU/8000",
    "m=video 40002 RTP/AVP 96",
    "a=rtpmap:96 H264/90000",
    "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1",
    "",
  ].join("\r\n");
  await invoke(ep, "processOffer", { offer });
  const player = await h.element(PlayerEndpoint, "PlayerEndpoint", { uri: mp4 });
  h.pipeline.connect(player, ep, undefined, "default", "default");
  await invoke(player, "play");
  const e = await Promise.race([h.waitEvent(player, "Error"), sleep(8000).then(() => undefined)]);
  t.match(e, { type: "STREAM_ERROR_CODEC_NOT_FOUND", errorCode: 6 }, "Error STREAM_ERROR_CODEC_NOT_FOUND");
  const d = typeof e?.["description"] === "string" ? e["description"] : "";
  t.ok(d.includes(player.id) && d.includes("h264"), `names the element and the codec: ${d}`);
  t.ok(await until(() => player.packetsSent > 10, 8000), "the audio plays on");
  t.equal(player.videoPacketsSent, 0, "no video sent");
  t.equal(player.state, "START", "still playing");
});

t.test("a playlist in the media root cannot reach another file", async (t) => {
  const h = await harness();
  t.teardown(() => h.close());
  const outside = mkdtempSync(join(tmpdir(), "korus-outside-"));
  t.teardown(() => rmSync(outside, { recursive: true, force: true }));
  const secret = join(outside, "secret.mkv"); // an extension HLS accepts for a segment
  copyFileSync(webm, secret);
  const list = join(dir, "list.m3u8");
  writeFileSync(list, `#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4,\nfile://${secret}\n#EXT-X-ENDLIST\n`);
  const player = await h.element(PlayerEndpoint, "PlayerEndpoint", { uri: list });
  const cap = await h.element(Capture, "PassThrough");
  h.pipeline.connect(player, cap, undefined, "default", "default");
  await invoke(player, "play");
  const e = await Promise.race([h.waitEvent(player, "Error"), sleep(8000).then(() => undefined)]);
  t.match(e, { type: "STREAM_ERROR_DECODE" }, "refused as undecodable");
  t.equal(cap.packets.length, 0, "nothing played");
});
