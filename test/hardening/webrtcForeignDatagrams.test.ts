/**
 * Issue 9, defect 1: one 13-byte datagram ended a WebRTC call's media for good. werift closed DTLS on any record of
 * an unknown content type (24–63) or any warning alert, and Korus handed it such datagrams from any source address.
 *
 * A live call: a werift peer (test/helpers/weriftPeer.ts) ↔ a WebRtcEndpoint connected to itself (loopback), Opus
 * passthrough, so every payload the peer sends comes back and is checked byte for byte. Then:
 *
 * 1. from a foreign UDP socket, ~3000 datagrams/s for 2 s to the endpoint's ICE port: random garbage, 13-byte records
 *    of content types 24–63, forged plaintext alerts, forged "epoch 1" alerts whose first two bytes read as a
 *    close_notify, fake SRTP, STUN garbage and unauthenticated STUN binding requests carrying ICE-CONTROLLED and
 *    USE-CANDIDATE;
 * 2. from the peer's own socket (the selected pair's remote address, as a spoofer would send): the same DTLS
 *    records, which werift would take as the peer's close.
 *
 * After each: DTLS is still connected on both sides and every audio payload the peer sends afterwards comes back
 * intact (100 %).
 */
import "../helpers/loopbackNamespace.js";
import dgram from "node:dgram";
import { randomBytes, randomInt } from "node:crypto";
import t, { type Test as Tap } from "tap";
import { Message } from "werift";
import { WebRtcEndpoint } from "../../media/elements/WebRtcEndpoint.js";
import { WeriftPeer } from "../helpers/weriftPeer.js";
import { RtpHarness, invoke, sleep } from "../unit/media/rtp/fixtures/rtpHarness.js";

/** One DTLS record header (DTLS 1.2) plus fragment. */
function record(type: number, epoch: number, fragment: Buffer): Buffer {
  const h = Buffer.alloc(13);
  h[0] = type;
  h[1] = 0xfe;
  h[2] = 0xfd;
  h.writeUInt16BE(epoch, 3);
  h.writeUIntBE(randomInt(0xffff_ffff), 7, 4);
  h.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([h, fragment]);
}

/** DTLS records werift took as a close: unknown content types, plaintext alerts, alerts that look plaintext. */
function hostileRecord(): Buffer {
  switch (randomInt(5)) {
    case 0:
      return record(24 + randomInt(40), randomInt(2), Buffer.alloc(0)); // the 13-byte datagram of the report
    case 1:
      return record(21, 0, Buffer.from([1, 0])); // plaintext warning close_notify
    case 2:
      return record(21, 0, Buffer.from([2, 40])); // plaintext fatal handshake_failure
    case 3:
      return record(21, 1, Buffer.concat([Buffer.from([1, 0]), randomBytes(24)])); // "encrypted", reads as close
    default:
      return Buffer.concat([record(23, 1, randomBytes(40)), record(24 + randomInt(40), 1, randomBytes(4))]);
  }
}

function hostileDatagram(ufrag: string): Buffer {
  switch (randomInt(5)) {
    case 0:
      return randomBytes(1 + randomInt(200));
    case 1: {
      const rtp = randomBytes(12 + randomInt(160));
      rtp[0] = 0x80;
      rtp[1] = randomInt(2) === 0 ? 111 : 200; // fake SRTP, fake SRTCP
      return rtp;
    }
    case 2: {
      const stun = randomBytes(20 + randomInt(60));
      stun[0] = randomInt(4);
      return stun;
    }
    case 3: {
      // A well-formed binding request whose integrity is not made with our password (werift answered it, and
      // acted on its ICE-CONTROLLED / USE-CANDIDATE).
      const m = new Message(1, 0).setAttribute("USERNAME", `${ufrag}:evil`).setAttribute("PRIORITY", 1);
      if (randomInt(2) === 0) {
        m.setAttribute("ICE-CONTROLLED", BigInt("0xffffffffffffffff")).setAttribute("USE-CANDIDATE", null);
      }
      return m.addMessageIntegrity(Buffer.from("not-the-password")).addFingerprint().bytes;
    }
    default:
      return hostileRecord();
  }
}

/** Sends `make()` datagrams at `rate` per second for `ms` through `send` (catching up after slow timer ticks). */
async function flood(send: (b: Buffer) => void, make: () => Buffer, rate: number, ms: number): Promise<number> {
  const start = Date.now();
  let n = 0;
  for (let now = start; now < start + ms; now = Date.now()) {
    for (const due = Math.min(rate * ms, Math.ceil((rate * (now - start + 5)) / 1000)); n < due; n++) {
      send(make());
    }
    await sleep(5);
  }
  return n;
}

/** The endpoint's UDP host candidate ports, from its IceCandidateFound events. */
function candidatePorts(h: RtpHarness, web: WebRtcEndpoint): number[] {
  const ports = new Set<number>();
  for (const d of h.eventsOf(web, "IceCandidateFound")) {
    const c = (d["candidate"] as { candidate: string }).candidate.split(" ");
    if (c[2]?.toLowerCase() === "udp") {
      ports.add(Number(c[5]));
    }
  }
  return [...ports];
}

/** The UDP socket of the peer's selected pair (werift internals), to send from the peer's own address. */
function peerSocket(peer: WeriftPeer): dgram.Socket {
  const conn = peer.pc.iceTransports[0]?.connection as unknown as {
    nominated?: { protocol: { transport?: { socket?: dgram.Socket } } };
  };
  const s = conn.nominated?.protocol.transport?.socket;
  if (s === undefined) {
    throw new Error("peer has no selected UDP pair");
  }
  return s;
}

interface Call {
  h: RtpHarness;
  web: WebRtcEndpoint;
  peer: WeriftPeer;
  ufrag: string;
  ports: number[];
}

/** A live loopback call (peer → endpoint → itself → peer) with audio flowing, torn down with `t`. */
async function liveCall(t: Tap): Promise<Call> {
  const h = await RtpHarness.create();
  const web = await h.element(WebRtcEndpoint, "WebRtcEndpoint");
  const peer = new WeriftPeer({
    id: "victim",
    video: false,
    onLocalCandidate: (c) => {
      invoke(web, "addIceCandidate", { candidate: { ...c } }).catch(() => undefined);
    },
  });
  const trickled = new Set<object>();
  const trickle = setInterval(() => {
    for (const d of h.eventsOf(web, "IceCandidateFound")) {
      if (!trickled.has(d)) {
        trickled.add(d);
        peer.addRemoteCandidate(d["candidate"] as { candidate: string }).catch(() => undefined);
      }
    }
  }, 20);
  t.teardown(async () => {
    clearInterval(trickle);
    peer.stopMedia();
    await peer.close();
    h.close();
  });
  const answer = (await invoke(web, "processOffer", { offer: await peer.createOffer() })) as string;
  await peer.setAnswer(answer);
  await invoke(web, "gatherCandidates");
  await peer.waitConnected(15_000);
  h.pipeline.connect(web, web, "AUDIO", "default", "default");
  peer.startMedia();
  await peer.waitForPayloads("victim", "audio", 20, 10_000);
  const ports = candidatePorts(h, web);
  t.ok(ports.length > 0, `endpoint ICE ports ${ports.join(",")}`);
  return { h, web, peer, ufrag: /a=ice-ufrag:(\S+)/.exec(answer)?.[1] ?? "x", ports };
}

/** Every audio frame the peer sends over 1.5 s comes back intact; DTLS still up on both sides. */
async function mediaIntact(t: Tap, { h, web, peer }: Call, what: string): Promise<void> {
  const dtlsStates = (): string[] =>
    h.eventsOf(web, "DtlsConnectionStateChange").map((d) => JSON.stringify(d["state"]));
  await sleep(300); // let the attack's queue drain
  const from = peer.sent.audio;
  await sleep(1500);
  const to = peer.sent.audio;
  await sleep(700);
  const got = new Set(peer.receivedFrom("victim", "audio").map((p) => p.counter));
  const missing: number[] = [];
  for (let c = from; c < to; c++) {
    if (!got.has(c)) {
      missing.push(c);
    }
  }
  t.ok(to - from >= 50, `${what}: peer sent ${to - from} audio frames`);
  t.same(missing, [], `${what}: all ${to - from} frames came back byte for byte`);
  t.equal(peer.corrupt, 0, `${what}: no corrupted payload`);
  t.notOk(
    dtlsStates().some((s) => s === '"CLOSED"' || s === '"FAILED"'),
    `${what}: endpoint DTLS never closed (${dtlsStates().join(" → ")})`,
  );
  t.equal(peer.pc.connectionState, "connected", `${what}: peer still connected`);
}

t.test("a foreign address flooding the ICE port never ends the call's media", async (t) => {
  t.setTimeout(60_000);
  const call = await liveCall(t);
  const attacker = dgram.createSocket("udp4");
  let stunReplies = 0;
  attacker.on("message", (m) => {
    stunReplies += m[0]! < 4 ? 1 : 0;
  });
  await new Promise<void>((r) => attacker.bind(0, "127.0.0.1", r));
  t.teardown(() => attacker.close());
  let port = 0;
  const sent = await flood(
    (b) => attacker.send(b, call.ports[port++ % call.ports.length], "127.0.0.1"),
    () => hostileDatagram(call.ufrag),
    3000,
    2000,
  );
  t.ok(sent >= 5000, `sent ${sent} hostile datagrams from a foreign address`);
  await mediaIntact(t, call, "after the foreign flood");
  t.equal(stunReplies, 0, "no forged STUN request was answered");
  const refused = call.web.refusedDatagrams;
  t.ok(refused !== undefined && refused.foreign > 0 && refused.unknown > 0 && refused.stun > 0, "refusals counted");
  t.comment(`refused: ${JSON.stringify(refused)}`);
});

t.test("unauthenticated DTLS records from the peer's own address never close the session", async (t) => {
  t.setTimeout(60_000);
  const call = await liveCall(t);
  const own = peerSocket(call.peer);
  const spoofed = await flood((b) => own.send(b, call.ports[0], "127.0.0.1"), hostileRecord, 1000, 1000);
  t.ok(spoofed >= 900, `sent ${spoofed} forged DTLS records from the peer's own address`);
  await mediaIntact(t, call, "after forged records from the peer's address");
  t.ok((call.web.refusedDatagrams?.badRecord ?? 0) > 0, "refused records counted");
  t.comment(`refused: ${JSON.stringify(call.web.refusedDatagrams)}`);
});
