/**
 * The WebRTC-to-phone path against the real server (dist/): an application (raw Kurento JSON-RPC, as kurento-client
 * sends it) builds WebRtcEndpoint ↔ SipEndpoint in one pipeline and dials a SIPp UAS that answers PCMA and echoes
 * RTP (uas_answer.xml -rtp_echo). A werift peer (real ICE/DTLS-SRTP on 127.0.0.1) sends a 400 Hz tone as Opus;
 * it is transcoded to PCMA towards SIPp, echoed, transcoded back to Opus, and the peer decodes 400 Hz.
 * CallStateChanged runs CALLING → RINGING → CONNECTED → TERMINATED; the SIP leg and the WebRTC endpoint each get
 * a CDR.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import t from "tap";
import { RtpHeader, RtpPacket } from "werift";
import { createDecoder, createEncoder } from "../../media/codecs/index.js";
import { reserveRtpRange } from "../helpers/ports.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { generateTone, toneLevelDb } from "../helpers/tone.js";
import { makePeer, offerFromPeer, waitConnected } from "../unit/media/fixtures/webrtcHarness.js";

const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const work = mkdtempSync(join(tmpdir(), "korus-sipwebrtc-"));
const range = await reserveRtpRange();
const children = new Set<ChildProcess>();
t.teardown(() => {
  for (const c of children) {
    c.kill("SIGKILL");
  }
  range.release();
  rmSync(work, { recursive: true, force: true });
});
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
          media: { peerCodec: string | null; transcoded: boolean | null };
        },
    );
  const leg = rows.find((c) => c.direction === "outbound" && c.elementId === sip);
  t.equal(leg?.disposition, "ANSWERED", "SIP leg CDR");
  t.equal(leg?.media.peerCodec, "PCMA");
  t.equal(leg?.media.transcoded, true, "the CDR says the leg was transcoded");
  t.ok(
    rows.some((c) => c.direction === "webrtc" && c.elementId === web),
    "WebRTC endpoint CDR",
  );
});
