/**
 * The admin console (issue 16 §2) against the built server (`npm run build` first), in headless Chromium:
 * - the security edges over plain HTTP: headers (CSP, nosniff, frame-ancestors), the token on the API (wrong
 *   bearer, wrong login → 401), path traversal on the static and recordings routes → 404;
 * - the page loads with no console errors, refuses a wrong token, logs in with the right one;
 * - a SIPp call (PCMA pcap) to the dial plan's echo appears in the live calls with its codec and a MOS, its
 *   SipEndpoint in the pipeline graph, its trunk's OPTIONS keepalive is shown; it disappears when SIPp hangs up,
 *   and the CDR list and the CSV download show it;
 * - a WebRTC endpoint (a werift peer looped back, Opus + VP8) shows its negotiated codecs, `opus` and `VP8`, and no
 *   transcoding;
 * - a SIPp call to a `play` rule with the dial plan's `record` option (WebM audio): the console lists the ready
 *   recording and the page's player plays it (readyState ≥ 2, currentTime past 1 s, no media error, its duration
 *   the call's); a Range request gets 206 with its bytes; hostile recording ids get 400/404;
 * - screenshots go to test/artifacts/console-*.png (git-ignored); the one with the live call also to
 *   docs/console.png for the README when KORUS_CONSOLE_SCREENSHOT=1 (so a plain run leaves the tree clean).
 * Everything binds 127.0.0.1; SIPp, the werift peer and Chromium are closed on every path.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import t from "tap";
import { CHROMIUM, hasChromium, launchChromium } from "../helpers/chromium.js";
import { ffmpegSync } from "../helpers/ffmpeg.js";
import { connect, connectClient, createPipeline, createWebRtc, negotiate, release } from "../helpers/kurento.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { runSipp } from "../helpers/sipp.js";
import { interopSlot } from "../helpers/slot.js";
import { WeriftPeer } from "../helpers/weriftPeer.js";
const FIXTURES = fileURLToPath(new URL("../fixtures/sipp/", import.meta.url));
const ARTIFACTS = join(ROOT, "test/artifacts");
const TOKEN = "console-test-token-7f3a9c";

t.setTimeout(240_000);

const hasSipp = existsSync("/usr/bin/sipp");
if (!hasChromium() || !hasSipp) {
  t.plan(0, `${CHROMIUM} or sipp is not installed`);
} else {
  const { children, work, port } = await interopSlot(t, "console");
  mkdirSync(join(work, "pcap"));
  for (const f of readdirSync("/usr/share/sip-tester").filter((n) => n.endsWith(".pcap"))) {
    copyFileSync(join("/usr/share/sip-tester", f), join(work, "pcap", f));
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  // The shipped scenario with the call held 4.5 s longer after the pcap, so a loaded machine still sees it live.
  const scenario = join(work, "uac_pcma_pcap_long.xml");
  const shipped = readFileSync(join(FIXTURES, "uac_pcma_pcap.xml"), "utf8");
  writeFileSync(scenario, shipped.replace('<pause milliseconds="7500"/>', '<pause milliseconds="12000"/>'));
  // A call the dial plan records: 4 s of the shipped pcap against a player's 1 kHz tone, mixed into WebM (Opus).
  const recScenario = join(work, "uac_pcma_pcap_short.xml");
  writeFileSync(recScenario, shipped.replace('<pause milliseconds="7500"/>', '<pause milliseconds="4000"/>'));
  const media = join(work, "media");
  mkdirSync(media);
  const toneFile = join(media, "tone.wav");
  ffmpegSync(["-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=8000:duration=30", "-ac", "1", toneFile]);
  const sipPort = port();
  const sippPort = port();
  const k = await startKorus(t, {
    workers: 1,
    config: {
      admin: { enabled: true, token: TOKEN },
      files: { mediaRoots: [media] },
      recording: { scanMs: 200 },
      sip: {
        port: sipPort,
        claimTimeoutMs: 500,
        trunks: [
          { name: "sipp", peers: [`127.0.0.1:${sippPort}`], transport: "udp", auth: "ip", optionsIntervalS: 0 },
          // Korus probes its own listener: a trunk that is up, with a last OPTIONS time to show.
          { name: "self", peers: [`127.0.0.1:${sipPort}`], transport: "udp", auth: "ip", optionsIntervalS: 1 },
        ],
        dialplan: [
          { to: "^sips?:echo@", action: "echo" },
          {
            to: "^sips?:rec-tone@",
            action: "play",
            file: toneFile,
            record: { mode: "mixed", profile: "WEBM_AUDIO_ONLY" },
          },
        ],
      },
    },
  });

  /** A raw request (the path is sent as given: fetch would resolve `..` itself). */
  const raw = (path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port: k.port, path, headers, timeout: 5000 }, (res) => {
        let body = "";
        res.on("data", (d: Buffer) => (body += d.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end();
    });
  const bearer = { authorization: `Bearer ${TOKEN}` };

  t.test("HTTP: security headers, the token, path traversal", async (t) => {
    const page = await fetch(`${k.httpUrl}/`);
    t.equal(page.status, 200);
    t.match(page.headers.get("content-security-policy"), /default-src 'self'/);
    t.match(page.headers.get("content-security-policy"), /frame-ancestors 'none'/);
    t.equal(page.headers.get("x-content-type-options"), "nosniff");
    t.match(await page.text(), /<script type="module" src="\/admin\/ui\/app.js">/);
    t.notMatch(await (await fetch(`${k.httpUrl}/`)).text(), /<script>/, "no inline script");
    t.equal((await fetch(`${k.httpUrl}/admin/vendor/cytoscape.min.js`)).status, 200, "cytoscape served locally");
    t.equal((await fetch(`${k.httpUrl}/admin/vendor/chart.umd.min.js`)).status, 200, "chart.js served locally");

    t.equal((await raw("/admin/api/overview")).status, 401, "no token");
    t.equal((await raw("/admin/api/overview", { authorization: "Bearer wrong" })).status, 401, "wrong token");
    t.equal((await raw(`/admin/api/overview?access_token=${TOKEN}`)).status, 401, "never a token in the URL");
    const ok = await raw("/admin/api/overview", bearer);
    t.equal(ok.status, 200, "the admin token as a bearer");
    t.equal((JSON.parse(ok.body) as { workers: unknown[] }).workers.length, 1);
    const wrong = await fetch(`${k.httpUrl}/admin/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ token: "wrong" }),
    });
    t.equal(wrong.status, 401, "login refused with a wrong token");
    t.equal(wrong.headers.get("set-cookie"), null, "and no cookie");

    for (const path of [
      "/admin/ui/../../package.json",
      "/admin/ui/..%2f..%2fpackage.json",
      "/admin/vendor/../../node_modules/cytoscape/package.json",
      "/admin/ui/app.js/../../../config/default.yaml",
      "/admin/ui/%2e%2e/%2e%2e/package.json",
    ]) {
      const r = await raw(path, bearer);
      t.equal(r.status, 404, `${path} → 404`);
      t.notMatch(r.body, /"name"|trunks:/, `${path} leaks nothing`);
    }
    for (const id of ["..%2f..%2fetc%2fpasswd", "..", "000000000000000000000000", "%2e%2e%2fcdr.sqlite"]) {
      const r = await raw(`/admin/api/recordings/${id}`, bearer);
      t.ok(r.status === 404, `recording ${id} → ${r.status}`);
    }
    t.equal((await raw("/admin/api/recordings/..%2f..", {})).status, 401, "the recordings route needs the token");
  });

  t.test("Chromium: login, a live SIPp call with its codecs, its CDR, screenshots", async (t) => {
    const browser = await launchChromium({ viewport: { width: 1400, height: 1500 } });
    t.teardown(() => browser.close());
    const context = browser.context;

    // A wrong token: the page says so and stays on the login form.
    const refused = await context.newPage();
    await refused.goto(`${k.httpUrl}/`);
    await refused.fill("#token", "not-the-token");
    await refused.click("#login button[type=submit]");
    await refused.waitForFunction(() => document.querySelector("#login-error")?.textContent === "Wrong token.");
    t.equal(await refused.isVisible("#app"), false, "a wrong token opens nothing");
    await refused.close();

    const page: Page = await context.newPage();
    const errors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error" || m.type() === "warning") {
        errors.push(`${m.type()}: ${m.text()} (${m.location().url})`);
      }
    });
    page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
    await page.goto(`${k.httpUrl}/`);
    await page.fill("#token", TOKEN);
    await page.click("#login button[type=submit]");
    await page.waitForSelector("#app", { state: "visible", timeout: 10_000 });
    await page.waitForSelector("#workers tbody td.up", { timeout: 10_000 });
    await page.waitForSelector('#trunks tr[data-trunk="self"] td.up', { timeout: 15_000 });
    const optionsCell = await page.locator('#trunks tr[data-trunk="self"] td').nth(2).innerText();
    t.not(optionsCell, "never", `the self-probing trunk shows its last OPTIONS time (${optionsCell})`);
    await page.waitForSelector("#calls td.empty");
    await page.screenshot({ path: join(ARTIFACTS, "console-idle.png"), fullPage: true });

    const call = runSipp(
      [
        "-sf",
        scenario,
        `127.0.0.1:${sipPort}`,
        "-s",
        "echo",
        "-i",
        "127.0.0.1",
        "-p",
        String(sippPort),
        "-mi",
        "127.0.0.1",
        "-mp",
        String(port(4)),
        "-m",
        "1",
        "-timeout",
        "30s",
      ],
      { children, cwd: work, limitMs: 40_000 },
    );
    // The live call: connected, PCMA on the peer's side, and a MOS once media has flowed.
    const row = page.locator("#calls tbody tr[data-element-id]");
    await row.first().waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      () => {
        const r = document.querySelector("#calls tbody tr[data-element-id]");
        const mos = Number(r?.querySelector("td.mos")?.textContent);
        return r?.querySelector("td.state")?.textContent === "CONNECTED" && mos > 1;
      },
      undefined,
      { timeout: 15_000 },
    );
    t.equal(await row.count(), 1, "one live call");
    t.equal(await row.locator("td.peer-codec").innerText(), "PCMA", "the caller's codec");
    t.equal(await row.locator("td.pipeline-codec").innerText(), "PCMA", "the pipeline's codec (echo: no transcoding)");
    const mos = Number(await row.locator("td.mos").innerText());
    t.ok(mos > 4 && mos <= 4.5, `MOS of a clean PCMA call on loopback: ${mos}`);
    const callId = await row.getAttribute("data-call-id");
    const elementId = await row.getAttribute("data-element-id");
    t.ok(callId !== null && callId !== "", "the row carries the SIP Call-ID");
    // The pipeline graph holds the call's SipEndpoint, its echo connection flowing.
    const inGraph = await page
      .waitForFunction(
        (id) => {
          const span = document.querySelector(`#graph-list span[data-element-id="${id}"]`);
          return span?.textContent === "SipEndpoint " && span.parentElement?.textContent.includes("AUDIO (flowing)");
        },
        elementId,
        { timeout: 15_000 },
      )
      .then(
        () => true,
        () => false,
      );
    t.ok(
      inGraph,
      `the graph holds the SipEndpoint, its echo connection flowing: ${await page.innerText("#graph-list")}`,
    );
    await page.screenshot({ path: join(ARTIFACTS, "console-call.png"), fullPage: true });
    if (process.env["KORUS_CONSOLE_SCREENSHOT"] === "1") {
      await page.screenshot({ path: join(ROOT, "docs/console.png") });
    }

    const r = await call;
    t.equal(r.code, 0, `SIPp: the call succeeded ${r.code === 0 ? "" : r.output.slice(-800)}`);
    await page.waitForSelector("#calls td.empty", { timeout: 15_000 });
    t.pass("the call left the live list when SIPp hung up");
    await page.waitForFunction(() => document.querySelectorAll("#graph-list li").length === 0, undefined, {
      timeout: 15_000,
    });
    t.pass("and its pipeline left the graph");

    await page.click("#cdr-filter button[type=submit]");
    const cdr = page.locator(`#cdrs tbody tr[data-call-id="${callId}"]`);
    await cdr.waitFor({ timeout: 10_000 });
    t.equal(await cdr.locator("td.disposition").innerText(), "ANSWERED");
    t.equal(await cdr.locator("td.codec").innerText(), "PCMA");
    const csv = await page.evaluate(async () => (await fetch("/admin/api/cdrs.csv")).text());
    t.match(csv.split("\r\n")[0], /^record_id,/, "CSV header");
    t.ok(callId !== null && csv.includes(callId), "the CSV download holds the call");
    await page.selectOption("#cdr-disposition", "BUSY");
    await page.click("#cdr-filter button[type=submit]");
    await page.waitForSelector("#cdrs td.empty", { timeout: 5_000 });
    t.pass("the disposition filter hides the answered call");
    await page.selectOption("#cdr-disposition", "");
    await page.click("#cdr-filter button[type=submit]");
    await cdr.waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(ARTIFACTS, "console-after.png"), fullPage: true });

    // A WebRTC endpoint (a werift peer, Opus + VP8, looped back to itself): its row shows the negotiated codecs.
    const { client } = await connectClient(t, k.url);
    const pipeline = await createPipeline(client);
    const ep = await createWebRtc(pipeline);
    await connect(ep, ep);
    const peer = new WeriftPeer({
      id: "console",
      onLocalCandidate: (c) => void ep.addIceCandidate(c, () => undefined),
    });
    t.teardown(() => peer.close());
    await negotiate(ep, peer, await peer.createOffer());
    peer.startMedia();
    const webrtc = page.locator('#calls tbody tr[data-kind="webrtc"]');
    await webrtc.first().waitFor({ timeout: 15_000 });
    await page.waitForFunction(
      () => document.querySelector('#calls tr[data-kind="webrtc"] td.peer-video-codec')?.textContent === "VP8",
      undefined,
      { timeout: 15_000 },
    );
    t.equal(await webrtc.count(), 1, "one WebRTC endpoint among the live calls");
    t.equal(await webrtc.locator("td.peer-codec").innerText(), "opus", "its audio codec");
    t.equal(await webrtc.locator("td.peer-video-codec").innerText(), "VP8", "its video codec");
    t.equal(await webrtc.locator("td.transcoding").innerText(), "no", "a loopback transcodes nothing");
    await page.waitForSelector('#graph-list span[data-type="WebRtcEndpoint"]', { timeout: 15_000 });
    t.pass("the pipeline graph holds the WebRtcEndpoint");
    await page.screenshot({ path: join(ARTIFACTS, "console-webrtc.png"), fullPage: true });
    peer.stopMedia();
    await release(pipeline);
    await page.waitForSelector("#calls td.empty", { timeout: 15_000 });

    // A call the dial plan records: the console lists the recording, and the page's player plays it.
    const rec = await runSipp(
      [
        ...["-sf", recScenario, `127.0.0.1:${sipPort}`, "-s", "rec-tone", "-i", "127.0.0.1", "-p", String(sippPort)],
        ...["-mi", "127.0.0.1", "-mp", String(port(4)), "-m", "1", "-timeout", "30s"],
      ],
      { children, cwd: work, limitMs: 40_000 },
    );
    t.equal(rec.code, 0, `SIPp: the recorded call succeeded ${rec.code === 0 ? "" : rec.output.slice(-800)}`);
    const recRow = page.locator('#recordings tbody tr[data-recording-id][data-state="ready"]');
    for (let i = 0; i < 40 && (await recRow.count()) === 0; i++) {
      await page.click("#recordings-refresh");
      await page.waitForTimeout(500);
    }
    t.equal(await recRow.count(), 1, "the console lists the ready recording");
    const recId = (await recRow.first().getAttribute("data-recording-id")) ?? "";
    await recRow.first().locator("button").click();
    const played = await page
      .waitForFunction(
        () => {
          const v = document.querySelector("#player");
          return v instanceof HTMLMediaElement && v.error === null && v.readyState >= 2 && v.currentTime > 1;
        },
        undefined,
        { timeout: 15_000 },
      )
      .then(
        () => true,
        () => false,
      );
    const state = await page.evaluate(() => {
      const v = document.querySelector<HTMLMediaElement>("#player")!;
      return {
        readyState: v.readyState,
        currentTime: v.currentTime,
        duration: v.duration,
        error: v.error?.message ?? null,
      };
    });
    t.ok(played, `the page's player plays the recording: ${JSON.stringify(state)}`);
    t.ok(state.duration > 3 && state.duration < 15, `as long as the call (${state.duration} s)`);
    await page.screenshot({ path: join(ARTIFACTS, "console-recording.png"), fullPage: true });
    // The player seeks through Range requests: 206 with the asked bytes.
    const ranged = await page.evaluate(async (id) => {
      const res = await fetch(`/admin/api/recordings/${id}`, { headers: { range: "bytes=10-19" } });
      return {
        status: res.status,
        range: res.headers.get("content-range"),
        length: (await res.arrayBuffer()).byteLength,
      };
    }, recId);
    t.match(ranged, { status: 206, range: /^bytes 10-19\/\d+$/, length: 10 }, "a Range request gets its bytes");
    for (const hostile of [`${recId}%2f..%2f..%2fcdr.sqlite`, `..%2f${recId}`, `${recId}.json`, `%2e%2e`]) {
      const res = await raw(`/admin/api/recordings/${hostile}`, bearer);
      t.ok(res.status === 400 || res.status === 404, `recording ${hostile} → ${res.status}`);
    }

    t.same(errors, [], "no console errors or warnings in the logged-in page");
  });
}
