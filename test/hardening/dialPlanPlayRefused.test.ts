/**
 * Issue 9, dial-plan `play` confined like any player: a rule whose file lies outside `files.mediaRoots` (here
 * /etc/passwd, and `../outside/secret.wav` relative to the root) does not play it. The caller (a UA of Korus's own
 * SIP stack) is answered, then Korus hangs up at once (BYE) instead of leaving the call open in silence, and logs
 * why. A rule whose file lies inside the root plays to its end and hangs up then.
 */
import "../helpers/loopbackNamespace.js";
import dgram from "node:dgram";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import type { MediaHandler } from "../../sip/index.js";
import { reserveRtpRange } from "../helpers/ports.js";
import { startKorus } from "../helpers/server.js";
import { ended, localUa } from "../helpers/sipUa.js";
import { toneWav } from "./playerFixtures.js";

t.setTimeout(60_000);
const work = mkdtempSync(join(tmpdir(), "korus-dialplay-"));
t.teardown(() => rmSync(work, { recursive: true, force: true }));
const root = join(work, "media");
mkdirSync(root);
mkdirSync(join(work, "outside"));
writeFileSync(join(root, "tone.wav"), toneWav(800, 1));
writeFileSync(join(work, "outside", "secret.wav"), toneWav(1200, 1));

const range = await reserveRtpRange();
t.teardown(() => range.release());
const sipPort = range.min + 10;
const k = await startKorus(t, {
  workers: 1,
  config: {
    sip: {
      port: sipPort,
      dialplan: [
        { to: "^sip:passwd@", action: "play", file: "/etc/passwd" },
        { to: "^sip:outside@", action: "play", file: "../outside/secret.wav" },
        { to: "^sip:tone@", action: "play", file: "tone.wav" },
      ],
    },
    files: { mediaRoots: [root] },
  },
});
const { ua, close } = await localUa(range.min + 20);
t.teardown(close);
const rtp = dgram.createSocket("udp4");
await new Promise<void>((r) => rtp.bind(range.min + 30, "127.0.0.1", r));
t.teardown(() => rtp.close());
const offer = [
  "v=0",
  "o=tester 1 1 IN IP4 127.0.0.1",
  "s=-",
  "c=IN IP4 127.0.0.1",
  "t=0 0",
  `m=audio ${range.min + 30} RTP/AVP 8`,
  "a=rtpmap:8 PCMA/8000",
  "a=sendrecv",
  "",
].join("\r\n");
const media = (): MediaHandler => ({
  getOffer: () => offer,
  setAnswer: () => undefined,
  processOffer: () => offer,
  close: () => undefined,
});

for (const user of ["passwd", "outside"]) {
  t.test(`play rule with a file outside the roots (${user}): answered, then Korus hangs up`, async (t) => {
    const session = ua.call(`sip:${user}@127.0.0.1:${sipPort}`, { from: "sip:tester@127.0.0.1", media: media() });
    const start = Date.now();
    const info = await Promise.race([ended(session), new Promise<undefined>((r) => setTimeout(r, 8000))]);
    if (info === undefined) {
      session.hangup();
    }
    t.equal(info?.status, 200, "answered");
    t.equal(info?.by, "remote", "Korus hung up");
    t.ok(Date.now() - start < 3000, `at once (${Date.now() - start} ms), not after playing anything`);
  });
}

t.test("play rule with a file inside the root plays to its end", async (t) => {
  const session = ua.call(`sip:tone@127.0.0.1:${sipPort}`, { from: "sip:tester@127.0.0.1", media: media() });
  const start = Date.now();
  const info = await Promise.race([ended(session), new Promise<undefined>((r) => setTimeout(r, 8000))]);
  if (info === undefined) {
    session.hangup();
  }
  t.equal(info?.status, 200, "answered");
  t.equal(info?.by, "remote", "Korus hung up at the end");
  t.ok(Date.now() - start >= 900, `after the 1 s file (${Date.now() - start} ms)`);
});

t.test("the refusals are logged with the reason", async (t) => {
  const out = k.output();
  t.match(out, /\/etc\/passwd is outside files\.mediaRoots/);
  t.match(out, /outside\/secret\.wav is outside files\.mediaRoots/);
  t.match(out, /dial plan: play failed, hanging up/);
});
