/**
 * ffmpeg as an external RTP peer on both legs of a transcoded call: one ffmpeg sends a 1 kHz tone as PCMA RTP to
 * RtpEndpoint A (relayed through a UDP socket at the address A's SDP names, so symmetric RTP latches to it); A is
 * connected to RtpEndpoint B whose peer, a second ffmpeg reading an SDP file, negotiated Opus only. The receiving
 * ffmpeg decodes the Opus RTP it gets into a WAV file, whose dominant frequency must be 1 kHz.
 */
import { spawn, type ChildProcess } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { measureFrequency } from "../helpers/tone.js";
import { Phone, RtpHarness, invoke, sleep } from "../unit/media/rtp/fixtures/rtpHarness.js";

/** The PCM of a 16-bit WAV file (the samples of its data chunk). */
function wavSamples(buf: Buffer): Int16Array {
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === "data") {
      const n = Math.floor(Math.min(size, buf.length - off - 8) / 2);
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) {
        out[i] = buf.readInt16LE(off + 8 + 2 * i);
      }
      return out;
    }
    off += 8 + size + (size % 2);
  }
  return new Int16Array(0);
}

function run(args: string[]): { proc: ChildProcess; done: Promise<number | null>; stderr: () => string } {
  const proc = spawn("ffmpeg", ["-hide_banner", "-loglevel", "error", ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<number | null>((res) => proc.on("exit", res));
  return { proc, done, stderr: () => err };
}

t.test("ffmpeg PCMA → RtpEndpoint → RtpEndpoint → ffmpeg Opus: 1 kHz in the decoded WAV", async (t) => {
  t.setTimeout(40_000);
  const dir = mkdtempSync(join(tmpdir(), "korus-transcode-"));
  const h = await RtpHarness.create();
  const a = await h.rtp();
  const b = await h.rtp();
  const phone = await Phone.open(); // A's peer address; relays ffmpeg's datagrams
  const slot = await Phone.open(); // a free even/odd port pair for the receiving ffmpeg
  const recvPort = slot.port;
  slot.close();
  const inlet = dgram.createSocket("udp4");
  await new Promise<void>((r) => inlet.bind(0, "127.0.0.1", r));
  let relayed = 0;
  inlet.on("message", (m) => {
    relayed++;
    phone.raw(m);
  });
  const procs: ChildProcess[] = [];
  t.teardown(() => {
    for (const p of procs) {
      p.kill("SIGKILL");
    }
    inlet.close();
    phone.close();
    h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  phone.aimAt((await invoke(a, "processOffer", { offer: phone.offer({ codecs: "8" }) })) as string);
  const ffOffer = [
    "v=0",
    "o=- 1 1 IN IP4 127.0.0.1",
    "s=ffmpeg",
    "c=IN IP4 127.0.0.1",
    "t=0 0",
    `m=audio ${recvPort} RTP/AVP 111`,
    "a=rtpmap:111 opus/48000/2",
    "a=recvonly",
    "",
  ].join("\r\n");
  const bAnswer = (await invoke(b, "processOffer", { offer: ffOffer })) as string;
  t.match(bAnswer, /m=audio \d+ RTP\/AVP 111\r\n/, "B's leg negotiated Opus only");
  const sdpFile = join(dir, "in.sdp");
  writeFileSync(sdpFile, ffOffer.replace("a=recvonly", "a=sendrecv"));
  h.pipeline.connect(a, b, "AUDIO", "default", "default");

  const wav = join(dir, "out.wav");
  const rx = run([
    ...["-protocol_whitelist", "file,udp,rtp", "-i", sdpFile],
    ...["-t", "2", "-ac", "1", "-ar", "48000", "-y", wav],
  ]);
  procs.push(rx.proc);
  await sleep(700);
  const tx = run([
    "-re",
    ...["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000:duration=3"],
    ...["-c:a", "pcm_alaw", "-ar", "8000", "-ac", "1", "-f", "rtp", "-payload_type", "8"],
    `rtp://127.0.0.1:${inlet.address().port}?pkt_size=172`,
  ]);
  procs.push(tx.proc);
  const [txCode, rxCode] = await Promise.all([
    tx.done,
    Promise.race([rx.done, sleep(15_000).then(() => "timeout" as const)]),
  ]);
  t.equal(txCode, 0, `the sending ffmpeg exited cleanly ${tx.stderr()}`);
  t.equal(rxCode, 0, `the receiving ffmpeg exited cleanly ${rx.stderr()}`);
  t.ok(relayed >= 100, `ffmpeg sent ${relayed} PCMA packets`);
  const pcm = wavSamples(readFileSync(wav));
  t.ok(pcm.length >= 48000, `ffmpeg decoded ${pcm.length} samples of Opus`);
  const mid = pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
  const f = measureFrequency(mid, 48000);
  t.ok(Math.abs(f - 1000) < 10, `ffmpeg hears ${f.toFixed(1)} Hz`);
  t.equal(await invoke(a, "isMediaTranscoding", { mediaType: "AUDIO" }), true);
  t.equal(a.transcoderDiagnostics?.decodeErrors, 0, "every PCMA packet decoded");
});
