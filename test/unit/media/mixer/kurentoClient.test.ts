/**
 * A conference room through the whole server with kurento-client 7.3.0: `create Composite`, `createHubPort()`
 * for two PCMU phones (RtpEndpoints) and a PlayerEndpoint playing an 800 Hz file into a third port. Each phone
 * hears the other phone's tone and the file, not itself; EndOfStream reaches the client; releasing the Composite
 * releases its ports (ObjectDestroyed for each). Run `npm run build` first (the server runs from dist/).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import t from "tap";
import { toneLevelDb } from "../../../helpers/tone.js";
import {
  cb,
  connect,
  connectClient,
  createPipeline,
  type Callback,
  type KEvent,
  type MediaElement,
  type MediaObject,
  type ServerManager,
} from "../../../helpers/kurento.js";
import { startKorus } from "../../../helpers/server.js";
import { Phone, until } from "../rtp/fixtures/rtpHarness.js";
import { decodeReceived, sleep, streamTone } from "../transcode/fixtures/audio.js";

interface Hub extends MediaObject {
  createHubPort(callback: Callback<MediaElement>): void;
}
interface RtpEndpointProxy extends MediaElement {
  processOffer(offer: string, callback: Callback<string>): void;
}
interface PlayerProxy extends MediaElement {
  play(callback: Callback<undefined>): void;
}

t.test("kurento-client: a Composite room of two phones and a player", async (t) => {
  t.setTimeout(90_000);
  const dir = mkdtempSync(join(tmpdir(), "korus-room-"));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const wav = join(dir, "tone800.wav");
  execFileSync(
    "ffmpeg",
    ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=800:duration=3", "-y", wav],
    { timeout: 20_000 },
  );
  const server = await startKorus(t, { workers: 1, config: { files: { mediaRoots: [dir] } } });
  const { client } = await connectClient(t, server.url);
  const pipeline = await createPipeline(client);
  const hub = (await cb<MediaElement>((done) => pipeline.create("Composite", done))) as unknown as Hub;
  t.match(hub.id, /_kurento\.Composite$/, "Composite created");

  const phones: Phone[] = [];
  t.teardown(() => phones.forEach((p) => p.close()));
  const ports: MediaElement[] = [];
  for (let i = 0; i < 2; i++) {
    const ep = (await cb<MediaElement>((done) => pipeline.create("RtpEndpoint", done))) as RtpEndpointProxy;
    const phone = await Phone.open();
    phones.push(phone);
    const answer = await cb<string>((done) => ep.processOffer(phone.offer({ codecs: "0 101" }), done));
    phone.aimAt(answer);
    const port = await cb<MediaElement>((done) => hub.createHubPort(done));
    t.ok(port.id.startsWith(`${hub.id}/`), "the HubPort id nests under the hub");
    ports.push(port);
    await connect(ep, port);
    await connect(port, ep);
  }
  const player = (await cb<MediaElement>((done) =>
    pipeline.create("PlayerEndpoint", { uri: `file://${wav}` }, done),
  )) as PlayerProxy;
  const playerPort = await cb<MediaElement>((done) => hub.createHubPort(done));
  ports.push(playerPort);
  await connect(player, playerPort);
  const eos: KEvent[] = [];
  player.on("EndOfStream", (e) => eos.push(e));
  await sleep(100);
  await cb<undefined>((done) => player.play(done));
  await Promise.all(
    phones.map((phone, i) =>
      streamTone(phone, {
        codec: "PCMU",
        pt: 0,
        rate: 8000,
        ticks: 160,
        packets: 100,
        frequency: i === 0 ? 400 : 1000,
        ssrc: 0x3000 + i,
      }),
    ),
  );
  await sleep(100);
  const [a, b] = phones as [Phone, Phone];
  const mid = (p: Phone): Int16Array => {
    const pcm = decodeReceived(p, 0, "PCMU");
    return pcm.subarray(Math.floor(pcm.length * 0.3), Math.floor(pcm.length * 0.9));
  };
  const la = mid(a);
  const lb = mid(b);
  const db = (x: Int16Array, f: number): number => toneLevelDb(x, 8000, f);
  t.comment(`A hears 400 ${db(la, 400).toFixed(1)}, 1000 ${db(la, 1000).toFixed(1)}, 800 ${db(la, 800).toFixed(1)}`);
  t.comment(`B hears 400 ${db(lb, 400).toFixed(1)}, 1000 ${db(lb, 1000).toFixed(1)}, 800 ${db(lb, 800).toFixed(1)}`);
  t.ok(db(la, 1000) > -30 && db(la, 800) > -30, "A hears B (1000 Hz) and the file (800 Hz)");
  t.ok(db(la, 400) < db(la, 1000) - 30, "A does not hear itself");
  t.ok(db(lb, 400) > -30 && db(lb, 800) > -30, "B hears A (400 Hz) and the file (800 Hz)");
  t.ok(db(lb, 1000) < db(lb, 400) - 30, "B does not hear itself");
  t.ok(await until(() => eos.length === 1, 3000), "EndOfStream reached the client");

  const manager = await cb<ServerManager>((done) => client.getServerManager(done));
  const destroyed: string[] = [];
  manager.on("ObjectDestroyed", (e) => destroyed.push(String(e["objectId"])));
  await sleep(100);
  await cb<undefined>((done) => hub.release(done));
  t.ok(
    await until(() => ports.every((p) => destroyed.includes(p.id)), 3000),
    "ObjectDestroyed for every HubPort of the released Composite",
  );
  t.equal(server.exited, undefined, "the server is still running");
});
