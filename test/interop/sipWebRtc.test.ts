/**
 * The WebRTC-to-phone path against the real server (dist/): an application (raw Kurento JSON-RPC, as kurento-client
 * sends it) builds WebRtcEndpoint ↔ SipEndpoint in one pipeline and dials a SIPp UAS that answers PCMA and echoes
 * RTP (uas_answer.xml -rtp_echo). A werift peer (real ICE/DTLS-SRTP on 127.0.0.1) sends a 400 Hz tone as Opus;
 * it is transcoded to PCMA towards SIPp, echoed, transcoded back to Opus, and the peer decodes 400 Hz.
 * CallStateChanged runs CALLING → RINGING → CONNECTED → TERMINATED; the SIP leg and the WebRTC endpoint each get
 * a CDR.
 * Second test: a WebRTC participant joins a dial-plan room through SipGateway.getRoom while baresip calls
 * sip:room-mix: each hears the other.
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { RtpHeader, RtpPacket } from "werift";
import { createDecoder, createEncoder } from "../../media/codecs/index.js";
import { interopSlot } from "../helpers/slot.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { generateTone, toneLevelDb } from "../helpers/tone.js";
import { makePeer, offerFromPeer, waitConnected } from "../unit/media/fixtures/webrtcHarness.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const { range, children, work } = await interopSlot(t, "sipwebrtc");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const dataDir = join(work, "data");

t.test("werift → WebRtcEndpoint ↔ SipEndpoint → SIPp RTP echo: the 400 Hz tone comes back", async (t) => {
  t.setTimeout(90_000);
  const k = await startKorus(undefined, { workers: 1, config: { sip: { port: range.min }, data: { dir: dataDir } } });
  t.teardown(() => k.stop());
  const uasPort = range.min + 1;
  const uas = new Promise<number | null>((resolve) => {
    const child = spawn(
      "sipp",
      [
        "-sf",
        join(FIXTURES, "uas_answer.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        String(uasPort),
        "-mi",
        "127.0.0.1",
        "-mp",
        String(range.min + 10),
        "-rtp_echo",
        "-m",
        "1",
        "-timeout",
        "40s",
        "-nostdin",
      ],
      { cwd: work, stdio: "ignore" },
    );
    children.add(child);
    child.on("close", (code) => {
      children.delete(child);
      resolve(code);
    });
  });
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  const web = String(
    await app.value("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  const sip = String(
    await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  await app.value("invoke", { object: web, operation: "connect", operationParams: { sink: sip, mediaType: "AUDIO" } });
  await app.value("invoke", { object: sip, operation: "connect", operationParams: { sink: web, mediaType: "AUDIO" } });
  await app.value("subscribe", { object: web, type: "IceCandidateFound" });
  await app.value("subscribe", { object: sip, type: "CallStateChanged" });

  const pc = makePeer();
  t.teardown(() => pc.close());
  const received: Buffer[] = [];
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((p) => {
      if (track.kind === "audio" && p.payload.length > 0) {
        received.push(Buffer.from(p.payload));
      }
    });
  });
  const { sdp, tracks } = await offerFromPeer(pc);
  const answer = String(
    await app.value("invoke", { object: web, operation: "processOffer", operationParams: { offer: sdp } }),
  );
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const seen = new Set<RpcMessage>();
  const trickle = setInterval(() => {
    for (const m of app.events) {
      const v = m.params?.["value"] as { object?: string; type?: string; data?: Record<string, unknown> } | undefined;
      if (!seen.has(m) && v?.object === web && v.type === "IceCandidateFound") {
        seen.add(m);
        const c = v.data?.["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number };
        pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }).catch(
          () => undefined,
        );
      }
    }
  }, 20);
  t.teardown(() => clearInterval(trickle));
  await app.value("invoke", { object: web, operation: "gatherCandidates" });
  await waitConnected(pc);

  await sleep(300);
  await app.value("invoke", {
    object: sip,
    operation: "call",
    operationParams: { uri: `sip:4930123@127.0.0.1:${uasPort}` },
  });
  const stateOf = (m: RpcMessage): string | undefined => {
    const v = m.params?.["value"] as { object?: string; type?: string; data?: { state?: string } } | undefined;
    return v?.object === sip && v.type === "CallStateChanged" ? v.data?.state : undefined;
  };
  await app.event((m) => stateOf(m) === "CONNECTED");

  const enc = createEncoder("opus", { sampleRate: 48000 });
  t.teardown(() => enc.close());
  const packets = 150;
  const tone = generateTone(400, { sampleRate: 48000, samples: 960 * packets, amplitude: 8000 });
  const start = performance.now();
  for (let i = 0; i < packets; i++) {
    const hdr = new RtpHeader({ payloadType: 111, sequenceNumber: 5000 + i, timestamp: 960 * i, marker: i === 0 });
    tracks.audio.writeRtp(new RtpPacket(hdr, Buffer.from(enc.encode(tone.subarray(960 * i, 960 * (i + 1))))));
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
  await sleep(500);
  t.equal(
    await app.value("invoke", {
      object: sip,
      operation: "isMediaTranscoding",
      operationParams: { mediaType: "AUDIO" },
    }),
    true,
    "Opus from the browser is transcoded for the PCMA phone",
  );
  t.ok(received.length >= 80, `the werift peer received ${received.length} audio packets back`);
  const dec = createDecoder("opus", { sampleRate: 48000 });
  const pcm = Int16Array.from(received.flatMap((p) => Array.from(dec.decode(p))));
  dec.close();
  const body = pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
  const level = toneLevelDb(body, 48000, 400);
  const off = toneLevelDb(body, 48000, 1000);
  t.ok(
    level > -30 && level > off + 20,
    `the tone came back through SIPp: 400 Hz at ${level.toFixed(1)} dB (1 kHz ${off.toFixed(1)} dB)`,
  );

  await app.value("invoke", { object: sip, operation: "hangup" });
  await app.event((m) => stateOf(m) === "TERMINATED");
  t.same(
    app.events.map(stateOf).filter((s) => s !== undefined),
    ["CALLING", "RINGING", "CONNECTED", "TERMINATED"],
  );
  t.equal(await uas, 0, "SIPp UAS saw INVITE, ACK and our BYE");
  await app.value("release", { object: pipeline });
  await sleep(500);
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", dataDir],
    {
      encoding: "utf8",
      timeout: 20_000,
    },
  );
  const rows = r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map(
      (l) =>
        JSON.parse(l) as {
          direction: string;
          disposition: string;
          elementId: string | null;
          media: { peerCodec: string | null; pipelineCodec: string | null; transcoded: boolean | null };
        },
    );
  const leg = rows.find((c) => c.direction === "outbound" && c.elementId === sip);
  t.equal(leg?.disposition, "ANSWERED", "SIP leg CDR");
  t.equal(leg?.media.peerCodec, "PCMA");
  t.equal(leg?.media.pipelineCodec, "opus", "the pipeline fed the SIP leg Opus (from the browser side)");
  t.equal(leg?.media.transcoded, true, "the CDR says the leg was transcoded");
  t.ok(
    rows.some((c) => c.direction === "webrtc" && c.elementId === web),
    "WebRTC endpoint CDR",
  );
});

/** The 16-bit PCM samples (first channel) and rate of a WAV file. */
function readWav(buf: Buffer): { rate: number; samples: Int16Array } {
  let off = 12;
  let rate = 0;
  let channels = 1;
  while (off + 8 <= buf.length) {
    const id = buf.toString("ascii", off, off + 4);
    const len = buf.readUInt32LE(off + 4);
    if (id === "fmt ") {
      channels = buf.readUInt16LE(off + 10);
      rate = buf.readUInt32LE(off + 12);
    } else if (id === "data") {
      const end = Math.min(buf.length, off + 8 + len);
      const frames = Math.floor((end - off - 8) / (2 * channels));
      const out = new Int16Array(frames);
      for (let i = 0; i < frames; i++) {
        out[i] = buf.readInt16LE(off + 8 + i * 2 * channels);
      }
      return { rate, samples: out };
    }
    off += 8 + len + (len % 2);
  }
  throw new Error("no data chunk in the WAV file");
}

t.test("a WebRTC participant joins a dial-plan room (SipGateway.getRoom) with a baresip caller", async (t) => {
  t.setTimeout(90_000);
  const sipPort = range.min + 100;
  const k = await startKorus(undefined, { workers: 1, config: { sip: { port: sipPort } } });
  t.teardown(() => k.stop());
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const composite = String(
    await app.value("invoke", { object: "korus_SipGateway", operation: "getRoom", operationParams: { name: "mix" } }),
  );
  t.match(composite, /_kurento\.Composite$/, "getRoom returns the room's Composite");
  const pipeline = String(await app.value("invoke", { object: composite, operation: "getMediaPipeline" }));
  const port = String(await app.value("create", { type: "HubPort", constructorParams: { hub: composite } }));
  const web = String(
    await app.value("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: pipeline } }),
  );
  await app.value("invoke", { object: web, operation: "connect", operationParams: { sink: port, mediaType: "AUDIO" } });
  await app.value("invoke", { object: port, operation: "connect", operationParams: { sink: web, mediaType: "AUDIO" } });
  await app.value("subscribe", { object: web, type: "IceCandidateFound" });
  const pc = makePeer();
  t.teardown(() => pc.close());
  const received: Buffer[] = [];
  pc.onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((p) => {
      if (track.kind === "audio" && p.payload.length > 0) {
        received.push(Buffer.from(p.payload));
      }
    });
  });
  const { sdp, tracks } = await offerFromPeer(pc);
  const answer = String(
    await app.value("invoke", { object: web, operation: "processOffer", operationParams: { offer: sdp } }),
  );
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const seen = new Set<RpcMessage>();
  const trickle = setInterval(() => {
    for (const m of app.events) {
      const v = m.params?.["value"] as { object?: string; type?: string; data?: Record<string, unknown> } | undefined;
      if (!seen.has(m) && v?.object === web && v.type === "IceCandidateFound") {
        seen.add(m);
        const c = v.data?.["candidate"] as { candidate: string; sdpMid: string; sdpMLineIndex: number };
        pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex }).catch(
          () => undefined,
        );
      }
    }
  }, 20);
  t.teardown(() => clearInterval(trickle));
  await app.value("invoke", { object: web, operation: "gatherCandidates" });
  await waitConnected(pc);

  // baresip calls the room with a 440 Hz sine and dumps what it hears.
  const conf = join(work, "room-baresip");
  const snd = join(conf, "snd");
  mkdirSync(snd, { recursive: true });
  const base = range.min + 110;
  writeFileSync(
    join(conf, "config"),
    [
      "poll_method epoll",
      "ausrc_srate 48000",
      "ausrc_channels 2",
      `sip_listen 127.0.0.1:${base}`,
      "net_interface 127.0.0.1",
      "audio_source ausine,440",
      "audio_player aubridge,nil",
      "audio_alert aubridge,nil",
      `rtp_ports ${base + 10}-${base + 40}`,
      `snd_path ${snd}`,
      "module_path /usr/lib/baresip/modules",
      "module g711.so",
      "module aubridge.so",
      "module ausine.so",
      "module sndfile.so",
      "module_tmp account.so",
      "module_app menu.so",
      "",
    ].join("\n"),
  );
  writeFileSync(join(conf, "accounts"), "<sip:bob@127.0.0.1>;regint=0;audio_codecs=PCMA;ptime=20\n");
  const child = spawn("/usr/bin/baresip", ["-f", conf, "-t", "30", "-e", `/dial sip:room-mix@127.0.0.1:${sipPort}`], {
    cwd: conf,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 15_000;
  while (!out.includes("Call established") && Date.now() < deadline) {
    await sleep(100);
  }
  t.ok(out.includes("Call established"), "baresip is in the room");

  const enc = createEncoder("opus", { sampleRate: 48000 });
  t.teardown(() => enc.close());
  const packets = 200;
  const tone = generateTone(1000, { sampleRate: 48000, samples: 960 * packets, amplitude: 8000 });
  const start = performance.now();
  for (let i = 0; i < packets; i++) {
    const hdr = new RtpHeader({ payloadType: 111, sequenceNumber: 7000 + i, timestamp: 960 * i, marker: i === 0 });
    tracks.audio.writeRtp(new RtpPacket(hdr, Buffer.from(enc.encode(tone.subarray(960 * i, 960 * (i + 1))))));
    await sleep(Math.max(0, start + (i + 1) * 20 - performance.now()));
  }
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(5000)]);
  children.delete(child);

  const dec = createDecoder("opus", { sampleRate: 48000 });
  const atWeb = Int16Array.from(received.flatMap((p) => Array.from(dec.decode(p))));
  dec.close();
  const w = atWeb.subarray(Math.floor(atWeb.length * 0.3), Math.floor(atWeb.length * 0.9));
  const l440 = toneLevelDb(w, 48000, 440);
  const l1000 = toneLevelDb(w, 48000, 1000);
  t.ok(
    l440 > -30 && l440 > l1000 + 20,
    `the WebRTC peer hears baresip's 440 Hz (${l440.toFixed(1)} dB), not itself (${l1000.toFixed(1)} dB)`,
  );
  const dump = readdirSync(snd).find((f) => f.endsWith("dec.wav"));
  t.ok(dump !== undefined, "baresip dumped what it heard");
  if (dump !== undefined) {
    const { rate, samples } = readWav(readFileSync(join(snd, dump)));
    const body = samples.subarray(Math.min(samples.length, rate));
    const b1000 = toneLevelDb(body, rate, 1000);
    const b440 = toneLevelDb(body, rate, 440);
    t.ok(
      b1000 > -35 && b1000 > b440 + 20,
      `baresip hears the WebRTC peer's 1 kHz (${b1000.toFixed(1)} dB), not itself (${b440.toFixed(1)} dB)`,
    );
  }
});
