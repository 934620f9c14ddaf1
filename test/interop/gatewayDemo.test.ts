/**
 * The gateway demo served by Korus (GET /demo/gateway, issue 5 §4):
 *
 * - the page and its script are served; the relay WebSocket answers bad input with error messages and the server
 *   stays healthy;
 * - headless Chromium (flags of chromium.test.ts; a 1 kHz WAV as its fake microphone) opens the page, types a SIP
 *   URI and clicks Call; a baresip UA on 127.0.0.1 answers automatically (`;answermode=auto`) and sends a 440 Hz
 *   sine (ausine). The call reaches CONNECTED, and audio flows both ways, checked on both ends by counters and by
 *   content: the page's inbound-rtp bytes grow and its AnalyserNode hears ≈440 Hz; Korus's getStats (through the
 *   relay) counts packets received from the browser, and baresip's decoded-audio dump (sndfile module) holds the
 *   browser's 1 kHz tone. A keypad click sends DTMF to baresip, a key typed on baresip's console shows on the
 *   page (DtmfReceived); Hang up ends the call (TERMINATED) and baresip sees the BYE;
 * - the same page served by the example gateway-app (kurento-client + kurento-module-korus), outbound as above and
 *   inbound: baresip calls Korus, SipGateway's IncomingCall reaches the app, the page shows it and answers.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import t, { type Test } from "tap";
import type { Page } from "playwright-core";
import { CHROMIUM, launchChromium } from "../helpers/chromium.js";
import WebSocket from "ws";
import { RpcClient } from "../helpers/rpcClient.js";
import { reserveRtpRange } from "../helpers/ports.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { parse } from "yaml";
import * as prettier from "prettier";
import { generateTone, measureFrequency, rmsDbfs } from "../helpers/tone.js";

const BARESIP = "/usr/bin/baresip";
const BROWSER_TONE_HZ = 1000;
const BARESIP_TONE_HZ = 440;

t.setTimeout(150_000);

/** A mono 16-bit PCM WAV file. */
function wav(samples: Int16Array, sampleRate: number): Buffer {
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const h = Buffer.alloc(44);
  h.write("RIFF", 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write("WAVEfmt ", 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** The samples of a 16-bit PCM WAV (first channel), whatever chunks precede `data`. */
function readWav(buf: Buffer): { rate: number; channels: number; samples: Int16Array } {
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
      return { rate, channels, samples: out };
    }
    off += 8 + len + (len % 2);
  }
  throw new Error("no data chunk in the WAV file");
}

async function until(cond: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts examples/kurento-module-korus/examples/gateway-app against `korusUrl`, with kurento-client, ws and the
 * module taken from test/kurento-client/node_modules (NODE_PATH); resolves with its page URL.
 */
async function startExampleApp(t: Test, korusUrl: string): Promise<string> {
  const appDir = path.join(ROOT, "examples/kurento-module-korus/examples/gateway-app");
  const child = spawn(process.execPath, ["server.js"], {
    cwd: appDir,
    env: {
      ...process.env,
      NODE_PATH: path.join(ROOT, "test/kurento-client/node_modules"),
      KORUS_URI: korusUrl,
      HOST: "127.0.0.1",
      PORT: "0",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out = (out + d.toString("utf8")).slice(-20_000)));
  child.stderr.on("data", (d: Buffer) => (out = (out + d.toString("utf8")).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  t.teardown(async () => {
    child.kill("SIGKILL");
    await exited;
  });
  await until(() => /gateway app on (http:\/\/\S+)/.test(out) || child.exitCode !== null, 20_000, "the app to listen");
  const m = /gateway app on (http:\/\/\S+)/.exec(out);
  if (m === null) {
    throw new Error(`the example app did not start:\n${out}`);
  }
  return m[1]!;
}

/**
 * One call between Chromium on `pageUrl` (the demo page, or the example app's copy of it) and baresip: outbound
 * (the user dials baresip, which answers automatically) or inbound (baresip calls Korus, the page answers).
 */
async function browserCall(t: Test, pageUrl: string, inbound: boolean): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "korus-gwdemo-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const ports = await reserveRtpRange();
  t.teardown(() => ports.release());

  // baresip: SIP on ports.min, RTP in its own part of the slot, 440 Hz out, decoded audio dumped to snd/.
  const conf = path.join(dir, "baresip");
  const snd = path.join(dir, "snd");
  mkdirSync(conf, { recursive: true });
  mkdirSync(snd, { recursive: true });
  const sipPort = ports.min;
  writeFileSync(
    path.join(conf, "config"),
    [
      "poll_method epoll",
      "ausrc_srate 48000",
      "ausrc_channels 2",
      `sip_listen 127.0.0.1:${sipPort}`,
      "net_interface 127.0.0.1",
      `audio_source ausine,${BARESIP_TONE_HZ}`,
      "audio_player aubridge,nil",
      "audio_alert aubridge,nil",
      `rtp_ports ${ports.min + 10}-${ports.min + 60}`,
      `snd_path ${snd}`,
      "module_path /usr/lib/baresip/modules",
      "module g711.so",
      "module aubridge.so",
      "module ausine.so",
      "module sndfile.so",
      "module stdio.so",
      "module_tmp account.so",
      "module_app menu.so",
      "",
    ].join("\n"),
  );
  writeFileSync(
    path.join(conf, "accounts"),
    "<sip:bob@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMA,PCMU;ptime=20\n",
  );
  let baresipOut = "";
  let baresip: ChildProcess | undefined;
  let baresipExit: Promise<void> = Promise.resolve();
  const startBaresip = async (extra: string[]): Promise<void> => {
    const child = spawn(
      BARESIP,
      ["-f", conf, "-t", "100", ...extra, ...(process.env["H10_SIPTRACE"] === "1" ? ["-s"] : [])],
      { cwd: dir, stdio: ["pipe", "pipe", "pipe"] },
    );
    baresip = child;
    child.stdout.on("data", (d: Buffer) => (baresipOut = (baresipOut + d.toString("utf8")).slice(-30_000)));
    child.stderr.on("data", (d: Buffer) => (baresipOut = (baresipOut + d.toString("utf8")).slice(-30_000)));
    baresipExit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.once("exit", () => (baresip = undefined));
    await until(() => baresipOut.includes("baresip is ready"), 10_000, "baresip to start").catch(() => undefined);
  };
  t.teardown(async () => {
    baresip?.kill("SIGKILL");
    await baresipExit;
  });
  if (!inbound) {
    await startBaresip([]);
  }

  // Chromium with a 1 kHz tone as its microphone.
  const toneFile = path.join(dir, "tone.wav");
  writeFileSync(toneFile, wav(generateTone(BROWSER_TONE_HZ, { sampleRate: 48_000, samples: 48_000 * 10 }), 48_000));
  const browser = await launchChromium({ fakeAudioFile: toneFile });
  t.teardown(() => browser.close());
  const page: Page = await browser.newPage();
  const consoleLines: string[] = [];
  page.on("console", (m) => consoleLines.push(m.text()));
  page.on("pageerror", (e) => consoleLines.push(`pageerror: ${e.message}`));
  await page.goto(pageUrl);
  const diag = async (): Promise<string> =>
    `page log:\n${await page.locator("#log").innerText()}\nconsole: ${consoleLines.join(" | ")}\n` +
    `baresip:\n${baresipOut.slice(-20000)}\nkorus:\n${server.output().slice(-12000)}`;

  try {
    if (inbound) {
      // baresip calls Korus; the app offers the IncomingCall to this idle page, whose user clicks Answer.
      await page.waitForTimeout(500); // The page's WebSocket is up.
      await startBaresip(["-e", `/dial sip:4930555@127.0.0.1:${korusSipPort}`]);
      await page.waitForSelector("#incoming:not([hidden])", { timeout: 15_000 });
      t.match(
        await page.locator("#incomingFrom").innerText(),
        /bob@127\.0\.0\.1.*4930555/,
        "the page shows the incoming call",
      );
      await page.click("#accept");
    } else {
      // Dial through the UI, as a user would.
      await page.fill("#uri", `sip:bob@127.0.0.1:${sipPort}`);
      await page.click("#dial");
    }
    await page.waitForFunction(
      () => (window as unknown as { korus: { states: string[] } }).korus.states.includes("CONNECTED"),
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForFunction(
      () =>
        (window as unknown as { korus: { pc: RTCPeerConnection | null } }).korus.pc?.connectionState === "connected",
      undefined,
      { timeout: 20_000 },
    );
  } catch (err) {
    t.fail(`the call did not connect: ${String(err)}\n${await diag()}`);
    return;
  }
  const states = await page.evaluate(() => (window as unknown as { korus: { states: string[] } }).korus.states);
  if (inbound) {
    t.ok(
      states.at(-1) === "CONNECTED" && !states.includes("CALLING"),
      `the page shows the answered inbound call's states (${states.join(" → ")})`,
    );
  } else {
    t.equal(states[0], "CALLING", `the page shows the call states (${states.join(" → ")})`);
  }
  t.equal(await page.locator("#state").innerText(), "CONNECTED", "the state label reads CONNECTED");
  t.ok(await page.locator("#hangup").isEnabled(), "Hang up is enabled during the call");

  const inboundBytes = (): Promise<number> =>
    page.evaluate(async () => {
      const pc = (window as unknown as { korus: { pc: RTCPeerConnection } }).korus.pc;
      let bytes = 0;
      (await pc.getStats()).forEach((s: { type: string; kind?: string; bytesReceived?: number }) => {
        if (s.type === "inbound-rtp" && s.kind === "audio") {
          bytes += s.bytesReceived ?? 0;
        }
      });
      return bytes;
    });
  type Summary = Record<string, { packets: number; bytes: number }>;
  const relayStats = (): Promise<{ webrtc: Summary; sip: Summary }> =>
    page.evaluate(() =>
      (
        window as unknown as { korus: { relayStats: () => Promise<{ webrtc: Summary; sip: Summary }> } }
      ).korus.relayStats(),
    );
  const b1 = await inboundBytes();
  const k1 = await relayStats();
  await page.waitForTimeout(3000);
  const b2 = await inboundBytes();
  const k2 = await relayStats();
  t.ok(b2 > b1 + 5_000, `the page's inbound-rtp audio bytes grow (${b1} → ${b2}): baresip → Korus → browser`);
  const fromBrowser = (s: Summary): number => s["inboundrtp"]?.packets ?? 0;
  t.ok(
    fromBrowser(k2.webrtc) > fromBrowser(k1.webrtc) + 50,
    `Korus's getStats counts packets received from the browser (${fromBrowser(k1.webrtc)} → ${fromBrowser(k2.webrtc)})`,
  );
  const sipIn = (s: Summary): number => s["inboundrtp"]?.packets ?? 0;
  const sipOut = (s: Summary): number => s["outboundrtp"]?.packets ?? 0;
  t.ok(
    sipIn(k2.sip) > sipIn(k1.sip) + 50 && sipOut(k2.sip) > sipOut(k1.sip) + 50,
    `…and the SipEndpoint's getStats counts RTP both ways with baresip (in ${sipIn(k1.sip)} → ${sipIn(k2.sip)}, ` +
      `out ${sipOut(k1.sip)} → ${sipOut(k2.sip)})`,
  );
  const level = await page.evaluate(() => {
    const k = (window as unknown as { korus: { maxLevel: number; peakHz: number } }).korus;
    return { maxLevel: k.maxLevel, peakHz: k.peakHz };
  });
  t.ok(level.maxLevel > 0.01, `the page's analyser hears the remote audio (max RMS ${level.maxLevel.toFixed(3)})`);
  t.ok(
    Math.abs(level.peakHz - BARESIP_TONE_HZ) < 30,
    `…at baresip's ${BARESIP_TONE_HZ} Hz (analyser peak ${level.peakHz} Hz)`,
  );
  t.notMatch(await page.locator("#levelDb").innerText(), /–|silence/, "the level meter shows a level");

  // DTMF from the keypad.
  await page.click("#keypad button:has-text('5')");
  await page.waitForTimeout(1000);
  t.match(baresipOut, /received event: '5'/, "baresip received the keypad's DTMF 5");
  // And the other way: a key typed on baresip's console (stdio UI) is sent as DTMF and shown on the page.
  baresip?.stdin?.write("7");
  await page
    .waitForFunction(() => (window as unknown as { korus: { dtmfIn: string } }).korus.dtmfIn.includes("7"), undefined, {
      timeout: 5000,
    })
    .catch(() => undefined);
  t.match(await page.locator("#dtmfIn").innerText(), /7/, "baresip's DTMF 7 arrives as DtmfReceived on the page");

  // Hang up from the page.
  await page.click("#hangup");
  await page
    .waitForFunction(
      () => (window as unknown as { korus: { states: string[] } }).korus.states.includes("TERMINATED"),
      undefined,
      { timeout: 10_000 },
    )
    .catch(() => undefined);
  t.equal(await page.locator("#state").innerText(), "TERMINATED", "the page shows TERMINATED after Hang up");
  // baresip prints "session closed" (its audio) before "Call with … terminated": wait for the latter.
  await until(() => /Call with sip:\S+ terminated/.test(baresipOut), 10_000, "baresip to see the BYE").catch(
    () => undefined,
  );
  t.match(baresipOut, /Call with sip:\S+ terminated/, "baresip saw the call end (our BYE)");
  t.notOk(await page.locator("#hangup").isEnabled(), "Hang up is disabled after the call");
  const errors = await page.evaluate(() => (window as unknown as { korus: { errors: string[] } }).korus.errors);
  t.same(errors, [], "no errors on the page");

  // What baresip decoded from the browser: the sndfile dump of the call.
  baresip?.kill("SIGTERM");
  await Promise.race([baresipExit, new Promise((r) => setTimeout(r, 5000))]);
  const dumps = readdirSync(snd).filter((f) => f.endsWith("dec.wav"));
  t.ok(dumps.length > 0, `baresip dumped its decoded audio (${readdirSync(snd).join(", ")})`);
  if (dumps.length > 0) {
    const { rate, samples } = readWav(readFileSync(path.join(snd, dumps[0]!)));
    // Skip the first second (ICE/DTLS set-up, jitter buffer fill).
    const body = samples.subarray(Math.min(samples.length, rate), samples.length);
    t.ok(body.length > rate, `baresip decoded ${(samples.length / rate).toFixed(1)} s of audio from the browser`);
    const f = measureFrequency(body, rate);
    t.ok(
      Math.abs(f - BROWSER_TONE_HZ) < 15,
      `…carrying the browser's ${BROWSER_TONE_HZ} Hz tone (measured ${f.toFixed(1)} Hz, ${rmsDbfs(body).toFixed(1)} dBFS)`,
    );
  }
  const shot = `/tmp/korus-gateway-${inbound ? "in" : "out"}-${process.pid}-${path.basename(new URL(pageUrl).pathname) || "app"}.png`;
  await page.screenshot({ path: shot });
  t.comment(`screenshot: ${shot}`);
}

const server = await startKorus(t, { logLevel: process.env["H10_LOG"] ?? "warn" });
const korusSipPort = (parse(readFileSync(server.configFile, "utf8")) as { sip: { port: number } }).sip.port;

t.test("the page, its script, and a relay that survives bad input", async (t) => {
  const page = await fetch(`${server.httpUrl}/demo/gateway`);
  const html = await page.text();
  t.equal(page.status, 200, "GET /demo/gateway → 200");
  t.match(page.headers.get("content-type") ?? "", /text\/html/);
  t.match(html, /<script src="\/demo\/gateway\/app\.js">/, "the page loads its script");
  const js = await fetch(`${server.httpUrl}/demo/gateway/app.js`);
  t.equal(js.status, 200, "GET /demo/gateway/app.js → 200");
  t.match(await js.text(), /AnalyserNode|createAnalyser/, "the script measures the remote level with an analyser");
  t.equal((await fetch(`${server.httpUrl}/demo/gateway/nothing`)).status, 404, "other paths under it are 404");
  // The example app serves a prettier-formatted copy of the page: it must not drift from the demo's.
  const publicDir = path.join(ROOT, "examples/kurento-module-korus/examples/gateway-app/public");
  const pretty = async (text: string, file: string): Promise<string> =>
    prettier.format(text, { ...(await prettier.resolveConfig(file)), filepath: file });
  const demoJs = await (await fetch(`${server.httpUrl}/demo/gateway/app.js`)).text();
  const appJs = path.join(publicDir, "app.js");
  const indexHtml = path.join(publicDir, "index.html");
  t.equal(readFileSync(appJs, "utf8"), await pretty(demoJs, appJs), "gateway-app's app.js is the demo's script");
  t.equal(
    readFileSync(indexHtml, "utf8"),
    await pretty(html.replace('<script src="/demo/gateway/app.js">', '<script src="app.js">'), indexHtml),
    "gateway-app's index.html is the demo's page",
  );

  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/demo/gateway/ws`);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  t.teardown(() => ws.close());
  const replies: Record<string, unknown>[] = [];
  ws.on("message", (d: Buffer) => replies.push(JSON.parse(d.toString("utf8")) as Record<string, unknown>));
  const bad = [
    "not json",
    "[]",
    JSON.stringify({ id: 5 }),
    JSON.stringify({ id: "bogus" }),
    JSON.stringify({ id: "dtmf", digits: "1" }), // no call
    JSON.stringify({ id: "dtmf", digits: "xyz" }),
    JSON.stringify({ id: "call", uri: "http://evil", sdpOffer: "v=0\r\n" }),
    JSON.stringify({ id: "call", uri: "12345", sdpOffer: "v=0\r\n" }), // a number needs a trunk
    JSON.stringify({ id: "call", uri: "sip:a@b", sdpOffer: 7 }),
    JSON.stringify({ id: "candidate", candidate: { candidate: 1 } }),
    JSON.stringify({ id: "stats" }),
  ];
  for (const b of bad) {
    ws.send(b);
  }
  ws.send(JSON.stringify({ id: "trunks" }));
  await until(() => replies.length >= bad.length + 1, 10_000, "the relay's replies");
  t.equal(replies.filter((r) => r["id"] === "error").length, bad.length, "each bad message gets an error reply");
  const trunks = replies.find((r) => r["id"] === "trunks");
  t.ok(Array.isArray(trunks?.["trunks"]), `trunk names are listed (${JSON.stringify(trunks?.["trunks"])})`);

  // A page that floods the relay is cut off (1008) instead of queueing without bound.
  const flood = new WebSocket(`ws://127.0.0.1:${server.port}/demo/gateway/ws`);
  await new Promise<void>((resolve, reject) => {
    flood.once("open", () => resolve());
    flood.once("error", reject);
  });
  const closed = new Promise<number>((resolve) => flood.once("close", (code) => resolve(code)));
  const burst = Array.from({ length: 4000 }, () => '{"id":"stats"}');
  for (const m of burst) {
    flood.send(m);
  }
  t.equal(await closed, 1008, "a flood of 4000 queued messages closes the socket with 1008");

  const health = await fetch(`${server.httpUrl}/health`);
  t.equal(health.status, 200, "the server is still healthy");
});

const missing = [CHROMIUM, BARESIP].filter((p) => !existsSync(p));
// Does this server implement SipEndpoint (not just describe it)?
const rpc = await RpcClient.open(server.url);
const pipe = await rpc.call("create", { type: "MediaPipeline", constructorParams: {} });
const pipeId = String(pipe.result?.["value"]);
const probe = await rpc.call("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeId } });
await rpc.call("release", { object: pipeId });
rpc.ws.close();

if (missing.length > 0) {
  t.test("Chromium dials baresip through the demo", { skip: `not installed: ${missing.join(", ")}` }, () => undefined);
} else if (probe.error !== undefined) {
  const skip = `this server does not implement SipEndpoint yet: ${probe.error.code} ${probe.error.message}`;
  t.test("Chromium dials baresip through the demo", { skip }, () => undefined);
} else {
  t.test(
    "Chromium dials a baresip auto-answer UA through /demo/gateway: CONNECTED, audio both ways, DTMF, hang-up",
    (t) => browserCall(t, `${server.httpUrl}/demo/gateway`, false),
  );

  t.test("the example gateway-app (kurento-client + kurento-module-korus) serves the same page", async (t) => {
    const app = await startExampleApp(t, server.url);
    t.test("outbound: Chromium dials baresip", (t) => browserCall(t, app, false));
    t.test("inbound: baresip calls Korus, IncomingCall reaches the app, the page answers", (t) =>
      browserCall(t, app, true),
    );
  });
}
