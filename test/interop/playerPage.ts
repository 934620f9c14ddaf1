/**
 * A headless Chromium page (test/helpers/chromium.ts launchChromium) with one
 * RTCPeerConnection that the test negotiates with a Korus WebRtcEndpoint through kurento-client, the tutorials'
 * way (IceCandidateFound ↔ addIceCandidate, processOffer, gatherCandidates). For the player tests: the page
 * sends its fake camera and microphone, or only receives (optionally VP8 only, through setCodecPreferences), and
 * shows what it receives in `<video id="v">`; {@link PlayerPage.videoState} reads its size and a hash of the
 * picture drawn on a canvas.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/chromium.js";
import { addCandidate, cb, type WebRtcEndpoint } from "../helpers/kurento.js";
import type { CandidateInit } from "../helpers/weriftPeer.js";

export { CHROMIUM } from "../helpers/chromium.js";

const PAGE = `<!doctype html><html><body><video id="v" autoplay muted playsinline></video>
<canvas id="c" width="64" height="48"></canvas></body></html>`;

export interface VideoState {
  width: number;
  height: number;
  time: number;
  /** A hash of the current picture, scaled to 64x48 (changes when the frames do). */
  hash: number;
}

export interface PlayerPage {
  page: Page;
  /** Negotiates the page's peer connection with `ep`; resolves once it is connected. */
  connect(ep: WebRtcEndpoint, opts: { send: boolean; vp8Only?: boolean }): Promise<void>;
  /** Closes the page's peer connection. */
  hangUp(): Promise<void>;
  videoState(): Promise<VideoState>;
  close(): Promise<void>;
}

export async function openPlayerPage(): Promise<PlayerPage> {
  const server = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end(PAGE));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(url);
  let onCandidate: ((c: CandidateInit) => void) | undefined;
  await page.exposeFunction("korusCandidate", (c: CandidateInit) => onCandidate?.(c));

  return {
    page,
    async connect(ep, opts) {
      onCandidate = (c) => void addCandidate(ep, c).catch(() => undefined);
      ep.on("IceCandidateFound", (ev) => {
        const c = ev["candidate"] as CandidateInit;
        void page
          .evaluate((cand) => (window as unknown as { pc: RTCPeerConnection }).pc.addIceCandidate(cand), c)
          .catch(() => undefined);
      });
      const offer = await page.evaluate(async (o) => {
        const w = window as unknown as { pc: RTCPeerConnection; korusCandidate(c: RTCIceCandidateInit): void };
        const pc = new RTCPeerConnection();
        w.pc = pc;
        pc.onicecandidate = (e) => {
          if (e.candidate !== null) {
            w.korusCandidate(e.candidate.toJSON());
          }
        };
        const video = document.getElementById("v") as HTMLVideoElement;
        pc.ontrack = (e) => {
          video.srcObject = e.streams[0] ?? new MediaStream([e.track]);
        };
        if (o.send) {
          const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
          for (const track of stream.getTracks()) {
            pc.addTrack(track, stream);
          }
        } else {
          pc.addTransceiver("audio", { direction: "recvonly" });
          const v = pc.addTransceiver("video", { direction: "recvonly" });
          if (o.vp8Only) {
            const codecs = RTCRtpReceiver.getCapabilities("video")?.codecs ?? [];
            v.setCodecPreferences(codecs.filter((c) => /vp8|rtx/i.test(c.mimeType)));
          }
        }
        const desc = await pc.createOffer();
        await pc.setLocalDescription(desc);
        return desc.sdp ?? "";
      }, opts);
      const answer = await cb<string>((done) => ep.processOffer(offer, done));
      await cb<undefined>((done) => ep.gatherCandidates(done));
      await page.evaluate(
        (sdp) => (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({ type: "answer", sdp }),
        answer,
      );
      await page.waitForFunction(
        () => (window as unknown as { pc: RTCPeerConnection }).pc.connectionState === "connected",
        undefined,
        { timeout: 20_000 },
      );
    },
    async hangUp() {
      await page.evaluate(() => {
        const w = window as unknown as { pc?: RTCPeerConnection };
        for (const s of w.pc?.getSenders() ?? []) {
          s.track?.stop();
        }
        w.pc?.close();
        (document.getElementById("v") as HTMLVideoElement).srcObject = null;
      });
    },
    videoState() {
      return page.evaluate(() => {
        const v = document.getElementById("v") as HTMLVideoElement;
        const c = document.getElementById("c") as HTMLCanvasElement;
        const ctx = c.getContext("2d", { willReadFrequently: true });
        let hash = 0;
        if (ctx !== null && v.videoWidth > 0) {
          ctx.drawImage(v, 0, 0, c.width, c.height);
          const d = ctx.getImageData(0, 0, c.width, c.height).data;
          for (let i = 0; i < d.length; i += 4) {
            hash = (Math.imul(hash, 31) + ((d[i] ?? 0) >> 3) + ((d[i + 1] ?? 0) >> 3) * 7) | 0;
          }
        }
        return { width: v.videoWidth, height: v.videoHeight, time: v.currentTime, hash };
      });
    },
    async close() {
      await browser.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
