/**
 * A real WebRTC sender into the recorder: headless Chromium (playwright-core, fake camera and microphone) sends VP8
 * + Opus to a WebRtcEndpoint connected to a RecorderEndpoint (WEBM), driven over raw JSON-RPC. The file is checked
 * by content: both streams, decoded frames that change, the fake microphone's periodic beep (energy bursts), and a
 * duration within 100 ms of the recorded span as the test bounds it (Recording event → stop sent at least, record
 * sent → stopAndWait answered at most).
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import t from "tap";
import type { Page } from "playwright-core";
import { CHROMIUM, hasChromium, launchChromium } from "../helpers/chromium.js";
import type { RpcMessage } from "../helpers/rpcClient.js";
import {
  checkSpan,
  decodeAudio,
  delay,
  eventType,
  ffprobe,
  frameHashes,
  startRig,
} from "../integration/recorderRig.js";

t.setTimeout(240_000);

/** Onsets of energy bursts (s) in 8 kHz PCM: 10 ms windows over a tenth of the loudest after a quiet one. */
function bursts(pcm: Int16Array): number[] {
  const win = 80;
  const energy: number[] = [];
  for (let i = 0; i + win <= pcm.length; i += win) {
    let e = 0;
    for (let j = i; j < i + win; j++) {
      const s = pcm[j] ?? 0;
      e += s * s;
    }
    energy.push(e / win);
  }
  const peak = Math.max(...energy);
  const out: number[] = [];
  let quiet = false;
  energy.forEach((e, i) => {
    if (e > peak / 10 && quiet) {
      out.push((i * win) / 8000);
    }
    quiet = e < peak / 100 ? true : e > peak / 10 ? false : quiet;
  });
  return out;
}

if (!hasChromium()) {
  t.plan(0, `${CHROMIUM} is not installed`);
} else {
  t.test("Chromium VP8 + Opus → WebRtcEndpoint → RecorderEndpoint WEBM", async (t) => {
    const rig = await startRig(t);
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page: Page = await browser.newPage();
    // getUserMedia needs a secure context: an empty page from 127.0.0.1.
    const http = createServer((_req, res) => res.end("<!doctype html><title>recorder</title>"));
    await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
    // Teardowns run last-registered first, so the browser still holds a keep-alive connection here: drop it.
    t.teardown(
      () =>
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
    );
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    const offer = await page.evaluate(async () => {
      const pc = new RTCPeerConnection();
      (window as unknown as { pc: RTCPeerConnection }).pc = pc;
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240 } });
      for (const track of stream.getTracks()) {
        pc.addTransceiver(track, { direction: "sendonly", streams: [stream] });
      }
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((resolve) => {
        if (pc.iceGatheringState === "complete") {
          resolve();
        }
        pc.addEventListener("icegatheringstatechange", () => pc.iceGatheringState === "complete" && resolve());
        setTimeout(resolve, 5000);
      });
      return pc.localDescription?.sdp ?? "";
    });

    const ep = String(
      await rig.call("create", { type: "WebRtcEndpoint", constructorParams: { mediaPipeline: rig.pipeline } }),
    );
    const name = "chromium.webm";
    const rec = String(
      await rig.call("create", {
        type: "RecorderEndpoint",
        constructorParams: {
          mediaPipeline: rig.pipeline,
          uri: `file://${path.join(rig.root, name)}`,
          mediaProfile: "WEBM",
        },
      }),
    );
    for (const [object, type] of [
      [ep, "IceCandidateFound"],
      [rec, "Recording"],
    ]) {
      await rig.call("subscribe", { object, type });
    }
    await rig.call("invoke", { object: ep, operation: "connect", operationParams: { sink: rec } });
    const answer = String(
      await rig.call("invoke", { object: ep, operation: "processOffer", operationParams: { offer } }),
    );
    await page.evaluate(async (sdp) => {
      await (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({ type: "answer", sdp });
    }, answer);
    await rig.call("invoke", { object: ep, operation: "gatherCandidates" });
    // Korus's candidates to the browser, as they come.
    let fed = 0;
    const candidates = (): RpcMessage[] => rig.app.events.filter((m) => eventType(m) === "IceCandidateFound");
    const deadline = performance.now() + 30_000;
    let state = "";
    while (performance.now() < deadline) {
      for (const m of candidates().slice(fed)) {
        fed++;
        const c = (m.params?.["value"] as { data?: { candidate?: unknown } } | undefined)?.data?.candidate;
        await page.evaluate(async (cand) => {
          await (window as unknown as { pc: RTCPeerConnection }).pc.addIceCandidate(cand as RTCIceCandidateInit);
        }, c);
      }
      state = await page.evaluate(() => (window as unknown as { pc: RTCPeerConnection }).pc.connectionState);
      if (state === "connected") {
        break;
      }
      await delay(200);
    }
    t.equal(state, "connected", "Chromium connected to Korus");

    await delay(1500); // media flowing before the recording starts
    const recordAt = performance.now();
    await rig.call("invoke", { object: rec, operation: "record" });
    await rig.app.event((m) => eventType(m) === "Recording", 15_000);
    const started = performance.now();
    await delay(4000);
    const stopAt = performance.now();
    await rig.call("invoke", { object: rec, operation: "stopAndWait" });
    const answered = performance.now();

    const file = path.join(rig.root, name);
    const p = ffprobe(file);
    t.same(p.streams.map((s) => `${s.codec_type}:${s.codec_name}`).sort(), ["audio:opus", "video:vp8"]);
    // The span recorded: at least Recording event → stop sent, at most record sent → stopAndWait answered.
    checkSpan(t, p.durationSec, stopAt - started, answered - recordAt);
    const hashes = frameHashes(file, 60);
    t.ok(hashes.length >= 30, `video frames decode (${hashes.length})`);
    t.ok(new Set(hashes).size >= 10, "the frames change");
    const onsets = bursts(decodeAudio(file));
    t.comment(`beep onsets (s): ${onsets.map((o) => o.toFixed(2)).join(", ")}`);
    t.ok(onsets.length >= 3, `the fake microphone's beeps are heard (${onsets.length} bursts)`);
    const gaps = onsets.slice(1).map((o, i) => o - (onsets[i] ?? 0));
    t.ok(
      gaps.every((g) => g > 0.3 && g < 1.5),
      `periodic (gaps ${gaps.map((g) => g.toFixed(2)).join(", ")} s)`,
    );
  });
}
