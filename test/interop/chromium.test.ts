/**
 * A real browser against Korus: headless Debian Chromium (playwright-core, fake camera and microphone) runs the
 * hello-world page of test/interop/app, whose Node application server drives Korus with kurento-client 7.3.0.
 * The looped-back <video> must play at a non-zero size and the page's inbound-rtp byte counters must keep
 * growing. ICE runs on 127.0.0.1 only: Chromium is told to gather loopback candidates and not to hide host
 * addresses behind mDNS names.
 */
import t from "tap";
import type { Page } from "playwright-core";
import { CHROMIUM, hasChromium, launchChromium } from "../helpers/chromium.js";
import { startKorus } from "../helpers/server.js";
import { startApp } from "./app/server.js";

t.setTimeout(120_000);

if (!hasChromium()) {
  t.plan(0, `${CHROMIUM} is not installed`);
} else {
  const server = await startKorus(t);

  t.test("hello-world in headless Chromium: the looped-back video plays and bytes keep arriving", async (t) => {
    t.setTimeout(90_000);
    const app = await startApp(server.url);
    t.teardown(() => app.close());
    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page: Page = await browser.newPage();
    const consoleLines: string[] = [];
    page.on("console", (m) => consoleLines.push(m.text()));
    page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
    await page.goto(app.url);

    const diag = async (): Promise<string> =>
      `page status:\n${await page.locator("#status").innerText()}\napp log: ${app.log.join(" ")}\nconsole: ${consoleLines.join(" | ")}`;

    try {
      await page.waitForFunction(
        () => (window as unknown as { pc: RTCPeerConnection }).pc.connectionState === "connected",
        undefined,
        {
          timeout: 20_000,
        },
      );
    } catch (err) {
      t.fail(`peer connection did not connect: ${String(err)}\n${await diag()}`);
      return;
    }
    t.pass("RTCPeerConnection connected to Korus");

    // The looped-back video decodes: non-zero size and advancing time.
    await page.waitForFunction(
      () => {
        const v = document.getElementById("remote") as HTMLVideoElement;
        return v.videoWidth > 0 && v.currentTime > 0.5;
      },
      undefined,
      { timeout: 20_000 },
    );
    const v1 = await page.evaluate(() => {
      const v = document.getElementById("remote") as HTMLVideoElement;
      return { w: v.videoWidth, h: v.videoHeight, time: v.currentTime };
    });
    t.ok(v1.w > 0 && v1.h > 0, `remote video has a size (${v1.w}x${v1.h})`);

    const inbound = (): Promise<Record<string, number>> =>
      page.evaluate(async () => {
        const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
        const out: Record<string, number> = {};
        const report = await pc.getStats();
        report.forEach((s: { type: string; kind?: string; bytesReceived?: number; framesDecoded?: number }) => {
          if (s.type === "inbound-rtp" && s.kind !== undefined) {
            out[`${s.kind}Bytes`] = s.bytesReceived ?? 0;
            if (s.kind === "video") {
              out["framesDecoded"] = s.framesDecoded ?? 0;
            }
          }
        });
        return out;
      });
    const s1 = await inbound();
    await page.waitForTimeout(3000);
    const s2 = await inbound();
    const v2 = await page.evaluate(() => (document.getElementById("remote") as HTMLVideoElement).currentTime);
    t.ok(v2 > v1.time + 1.5, `remote video time advances (${v1.time.toFixed(2)} → ${v2.toFixed(2)})`);
    t.ok(
      (s2["videoBytes"] ?? 0) > (s1["videoBytes"] ?? 0) + 10_000,
      `video bytes grow (${s1["videoBytes"]} → ${s2["videoBytes"]})`,
    );
    t.ok(
      (s2["audioBytes"] ?? 0) > (s1["audioBytes"] ?? 0) + 1_000,
      `audio bytes grow (${s1["audioBytes"]} → ${s2["audioBytes"]})`,
    );
    t.ok((s2["framesDecoded"] ?? 0) > (s1["framesDecoded"] ?? 0) + 15, "frames keep being decoded");
    const errors = await page.evaluate(() => (window as unknown as { korus: { errors: string[] } }).korus.errors);
    t.same(errors, [], "no errors on the page");
    t.ok(
      app.log.some(
        (l) => l.startsWith("IceComponentStateChanged:READY") || l.startsWith("IceComponentStateChanged:CONNECTED"),
      ),
      "Korus reported ICE connected",
    );
    const pair = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const report = await pc.getStats();
      const all = new Map<string, { type: string; [k: string]: unknown }>();
      report.forEach((s: { id: string; type: string }) => all.set(s.id, s));
      for (const s of all.values()) {
        if (s.type === "transport" && typeof s["selectedCandidatePairId"] === "string") {
          const p = all.get(s["selectedCandidatePairId"]);
          const local = all.get(String(p?.["localCandidateId"]));
          const remote = all.get(String(p?.["remoteCandidateId"]));
          return { local: String(local?.["address"]), remote: String(remote?.["address"]) };
        }
      }
      return undefined;
    });
    // Korus gathers on 127.0.0.1 only. Chromium pairs it with every host address it has (with
    // --allow-loopback-in-peer-connection, 127.0.0.1 too) and usually prefers its interface address: that socket
    // is the browser's own, and the packets still go through the loopback device (both ends are local addresses).
    t.equal(pair?.remote, "127.0.0.1", `the selected pair reaches Korus on 127.0.0.1 (browser side ${pair?.local})`);
    // Korus's RTCP as Chromium read it (media/rtp/RtcpSession.ts, sent every second): our SRs become its
    // remote-outbound-rtp records, the report blocks about its streams its remote-inbound-rtp records.
    const remote = await page.evaluate(async () => {
      const pc = (window as unknown as { pc: RTCPeerConnection }).pc;
      const out: string[] = [];
      (await pc.getStats()).forEach((s: { type: string; kind?: string; packetsSent?: number }) => {
        if (s.type === "remote-outbound-rtp" && (s.packetsSent ?? 0) > 0) {
          out.push(`sr:${s.kind ?? ""}`);
        } else if (s.type === "remote-inbound-rtp") {
          out.push(`rr:${s.kind ?? ""}`);
        }
      });
      return out.sort();
    });
    t.same(remote, ["rr:audio", "rr:video", "sr:audio", "sr:video"], "Chromium reads our SRs and report blocks");
    await page.screenshot({ path: `/tmp/korus-chromium-${process.pid}.png` });
    t.comment(`screenshot: /tmp/korus-chromium-${process.pid}.png`);
  });
}
