/**
 * baresip (a real SIP UA from Debian) against the real server (dist/): it sends a 440 Hz sine (ausine) as PCMA and
 * dumps what it decodes (sndfile), so the tests check media by content.
 * - baresip calls the dial-plan echo extension: it hears its own 440 Hz back; the CDR is ANSWERED;
 * - an application calls baresip (auto answer) from a SipEndpoint connected to itself: CONNECTED, baresip hears its
 *   own 440 Hz, hangup() ends the call (TERMINATED) and baresip sees the BYE;
 * - dial-plan bridge (B2BUA) and room: two baresips with different tones each hear the other (and, in the room,
 *   not themselves).
 */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import t, { type Test } from "tap";
import { interopSlot } from "../helpers/slot.js";
import { RpcClient, type RpcMessage } from "../helpers/rpcClient.js";
import { ROOT, startKorus } from "../helpers/server.js";
import { generateTone, measureFrequency, rmsDbfs, toneLevelDb } from "../helpers/tone.js";

const TONE_HZ = 440;
const { range, children, work } = await interopSlot(t, "sipbaresip");
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const sipPort = range.min;
const dataDir = join(work, "data");
const calleeBase = range.min + 150;
// A 5 s 600 Hz WAV for the play rule.
const PLAY_HZ = 600;
const playFile = join(work, "tone600.wav");
{
  const rate = 48000;
  const pcm = generateTone(PLAY_HZ, { sampleRate: rate, samples: rate * 5, amplitude: 8000 });
  const h = Buffer.alloc(44);
  h.write("RIFF", 0, "ascii");
  h.writeUInt32LE(36 + pcm.length * 2, 4);
  h.write("WAVEfmt ", 8, "ascii");
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write("data", 36, "ascii");
  h.writeUInt32LE(pcm.length * 2, 40);
  writeFileSync(playFile, Buffer.concat([h, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)]));
}
const k = await startKorus(undefined, {
  workers: 1,
  config: {
    sip: {
      port: sipPort,
      dialplan: [
        { to: "^sips?:echo@", action: "echo" },
        { to: "^sip:room-([a-z0-9]+)@", action: "room", room: "$1" },
        { to: "^sip:play@", action: "play", file: playFile },
        // B2BUA: sip:ext-bob@… is bridged to the baresip callee of the bridge test.
        { to: "^sip:ext-([a-z]+)@", action: "bridge", uri: `sip:$1@127.0.0.1:${calleeBase}` },
      ],
    },
    data: { dir: dataDir },
    files: { mediaRoots: [work] },
  },
});
t.teardown(() => k.stop());

interface Baresip {
  readonly sipPort: number;
  readonly snd: string;
  output(): string;
  exited: Promise<void>;
  kill(): void;
}

/** Starts baresip with its own config dir, SIP port and RTP ports inside the reserved slot. */
function baresip(name: string, base: number, extra: string[], toneHz = TONE_HZ): Baresip {
  const conf = join(work, name);
  const snd = join(conf, "snd");
  mkdirSync(snd, { recursive: true });
  writeFileSync(
    join(conf, "config"),
    [
      "poll_method epoll",
      "ausrc_srate 48000",
      "ausrc_channels 2",
      `sip_listen 127.0.0.1:${base}`,
      "net_interface 127.0.0.1",
      `audio_source ausine,${toneHz}`,
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
  writeFileSync(join(conf, "accounts"), "<sip:bob@127.0.0.1>;regint=0;answermode=auto;audio_codecs=PCMA;ptime=20\n");
  const child = spawn("/usr/bin/baresip", ["-f", conf, "-t", "30", ...extra], {
    cwd: conf,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out = (out + d.toString("utf8")).slice(-30_000)));
  child.stderr.on("data", (d: Buffer) => (out = (out + d.toString("utf8")).slice(-30_000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  void exited.then(() => children.delete(child));
  return { sipPort: base, snd, output: () => out, exited, kill: () => child.kill("SIGTERM") };
}

async function until(what: string, cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await sleep(100);
  }
}

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

/** baresip's decoded audio of the call holds `hz` (its own tone by default; skipping the first second). */
function hearsTone(t: Test, b: Baresip, hz = TONE_HZ, notHz?: number): void {
  const dumps = readdirSync(b.snd).filter((f) => f.endsWith("dec.wav"));
  t.ok(dumps.length > 0, `baresip dumped its decoded audio (${readdirSync(b.snd).join(", ")})`);
  const file = dumps[0];
  if (file === undefined) {
    return;
  }
  const { rate, samples } = readWav(readFileSync(join(b.snd, file)));
  const body = samples.subarray(Math.min(samples.length, rate));
  t.ok(body.length > rate, `${(samples.length / rate).toFixed(1)} s of decoded audio`);
  const f = measureFrequency(body, rate);
  t.ok(Math.abs(f - hz) < 15, `baresip hears ${hz} Hz (measured ${f.toFixed(1)} Hz, ${rmsDbfs(body).toFixed(1)} dBFS)`);
  if (notHz !== undefined) {
    const wanted = toneLevelDb(body, rate, hz);
    const own = toneLevelDb(body, rate, notHz);
    t.ok(own < wanted - 20, `…and not its own ${notHz} Hz (${own.toFixed(1)} dB vs ${wanted.toFixed(1)} dB)`);
  }
}

interface Cdr {
  to: string | null;
  disposition: string;
  direction: string;
  media: { rx: { packets: number }; tx: { packets: number } };
}

function cdrs(): Cdr[] {
  const r = spawnSync(
    process.execPath,
    [join(ROOT, "dist/src/cli.js"), "cdr", "export", "--format", "jsonl", "--data-dir", dataDir],
    { encoding: "utf8", timeout: 20_000 },
  );
  return r.stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Cdr);
}

t.test("baresip calls the echo extension and hears itself", async (t) => {
  const b = baresip("caller", range.min + 50, ["-e", `/dial sip:echo@127.0.0.1:${sipPort}`]);
  await until("the call to be established", () => /Call established|established/i.test(b.output()));
  await sleep(4000);
  b.kill();
  await Promise.race([b.exited, sleep(5000)]);
  hearsTone(t, b);
  await sleep(500);
  const cdr = cdrs().find((c) => c.to?.startsWith("sip:echo@") === true);
  t.equal(cdr?.disposition, "ANSWERED", "CDR ANSWERED");
  t.ok((cdr?.media.rx.packets ?? 0) > 100 && (cdr?.media.tx.packets ?? 0) > 100, "RTP both ways in the CDR");
});

t.test("an application calls baresip (auto answer); hangup ends the call", async (t) => {
  const b = baresip("callee", range.min + 100, []);
  await until("baresip to start", () => b.output().includes("baresip is ready"), 10_000).catch(() => undefined);
  const app = await RpcClient.open(k.url);
  t.teardown(() => app.close());
  const pipeline = String(await app.value("create", { type: "MediaPipeline", constructorParams: {} }));
  const ep = String(await app.value("create", { type: "SipEndpoint", constructorParams: { mediaPipeline: pipeline } }));
  await app.value("subscribe", { object: ep, type: "CallStateChanged" });
  await app.value("invoke", { object: ep, operation: "connect", operationParams: { sink: ep } });
  await app.value("invoke", {
    object: ep,
    operation: "call",
    operationParams: { uri: `sip:bob@127.0.0.1:${b.sipPort}` },
  });
  const stateOf = (m: RpcMessage): string | undefined => {
    const v = m.params?.["value"] as { object?: string; type?: string; data?: { state?: string } } | undefined;
    return v?.object === ep && v.type === "CallStateChanged" ? v.data?.state : undefined;
  };
  await app.event((m) => stateOf(m) === "CONNECTED");
  await sleep(2000);
  await app.value("invoke", { object: ep, operation: "sendDtmf", operationParams: { digits: "5" } });
  await sleep(2000);
  t.match(b.output(), /received event: '5'/, "baresip received the RFC 4733 digit 5 sent with sendDtmf");
  await app.value("invoke", { object: ep, operation: "hangup" });
  await app.event((m) => stateOf(m) === "TERMINATED");
  const states = app.events.map(stateOf).filter((s) => s !== undefined);
  t.equal(states[0], "CALLING");
  t.same(states.slice(-2), ["CONNECTED", "TERMINATED"], `states ${states.join(" → ")}`);
  await until("baresip to see the BYE", () => /terminated|closed/i.test(b.output()), 5000).catch(() => undefined);
  t.match(b.output(), /terminated|closed/i, "baresip saw the call end");
  b.kill();
  await Promise.race([b.exited, sleep(5000)]);
  hearsTone(t, b);
  await app.value("release", { object: pipeline });
  await sleep(500);
  const cdr = cdrs().find((c) => c.to?.startsWith("sip:bob@") === true);
  t.equal(cdr?.direction, "outbound");
  t.equal(cdr?.disposition, "ANSWERED");
});

t.test("dial-plan bridge (B2BUA): baresip A calls ext-bob, Korus calls baresip B; each hears the other", async (t) => {
  const callee = baresip("bridge-callee", calleeBase, [], 880);
  await until("baresip B to start", () => callee.output().includes("baresip is ready"), 10_000).catch(() => undefined);
  const caller = baresip("bridge-caller", range.min + 200, ["-e", `/dial sip:ext-bob@127.0.0.1:${sipPort}`], 440);
  await until("the bridged call to be established", () => caller.output().includes("Call established"));
  await sleep(4000);
  caller.kill();
  await Promise.race([caller.exited, sleep(5000)]);
  await until("baresip B to see the call end", () => /terminated/i.test(callee.output()), 8000).catch(() => undefined);
  t.match(callee.output(), /terminated/i, "the caller's BYE reached the callee through the bridge");
  callee.kill();
  await Promise.race([callee.exited, sleep(5000)]);
  hearsTone(t, caller, 880);
  hearsTone(t, callee, 440);
  await sleep(500);
  const legs = cdrs().filter(
    (c) => c.to?.startsWith("sip:ext-bob@") === true || c.to?.startsWith(`sip:bob@127.0.0.1:${calleeBase}`) === true,
  );
  t.same(
    legs.map((c) => `${c.direction} ${c.disposition}`).sort(),
    ["inbound ANSWERED", "outbound ANSWERED"],
    "one CDR per leg",
  );
});

t.test("dial-plan room: two baresips call sip:room-test; each hears the other, not itself", async (t) => {
  const a = baresip("room-a", range.min + 250, ["-e", `/dial sip:room-test@127.0.0.1:${sipPort}`], 440);
  const b = baresip("room-b", range.min + 300, ["-e", `/dial sip:room-test@127.0.0.1:${sipPort}`], 880);
  await until("both calls to be established", () => [a, b].every((x) => x.output().includes("Call established")));
  await sleep(5000);
  a.kill();
  b.kill();
  await Promise.race([Promise.all([a.exited, b.exited]), sleep(5000)]);
  hearsTone(t, a, 880, 440);
  hearsTone(t, b, 440, 880);
  await sleep(500);
  const legs = cdrs().filter((c) => c.to?.startsWith("sip:room-test@") === true);
  t.equal(legs.length, 2, "one CDR per participant");
  t.ok(legs.every((c) => c.disposition === "ANSWERED"));
});

t.test("dial-plan play: baresip calls sip:play, hears the file's tone, and Korus hangs up at its end", async (t) => {
  const b = baresip("player", range.min + 350, ["-e", `/dial sip:play@127.0.0.1:${sipPort}`]);
  await until("the call to be established", () => b.output().includes("Call established"));
  await until("Korus to hang up at the end of the file", () => /terminated/i.test(b.output()), 15_000);
  t.pass("the call ended from Korus's side after the file");
  b.kill();
  await Promise.race([b.exited, sleep(5000)]);
  hearsTone(t, b, PLAY_HZ);
  await sleep(500);
  const cdr = cdrs().find((c) => c.to?.startsWith("sip:play@") === true);
  t.equal(cdr?.disposition, "ANSWERED");
});
