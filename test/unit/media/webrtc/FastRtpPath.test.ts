/**
 * FastRtpPath between two real werift RTCPeerConnections on 127.0.0.1 (ICE, DTLS-SRTP negotiated by werift): RTP
 * sent with FastRtpPath.send on one side arrives, byte for byte, at the other side's FastRtpPath handler; without an
 * RTCP handler RTCP and everything else still reaches werift, with one, SRTCP is unprotected by the path's SrtpStage
 * (werift never sees it); forged and replayed datagrams are dropped; close() gives werift its socket callback back,
 * after which RTP arrives through werift's own dtls.onRtp again.
 */
import t from "tap";
import { createSocket } from "node:dgram";
import {
  PictureLossIndication,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtcpSenderInfo,
  RtcpSrPacket,
  useOPUS,
  useVP8,
  type RTCDtlsTransport,
  type RtcpPacket,
  type RtpPacket,
} from "werift";
import { createLogger } from "../../../../media/logger.js";
import { parseRtcp } from "../../../../media/rtp/Rtcp.js";
import { FastRtpPath } from "../../../../media/webrtc/FastRtpPath.js";
import type { RtpHeaderFields } from "../../../../media/srtp/rtpHeader.js";

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(10);
  }
}

/** A werift peer restricted to 127.0.0.1 (libraries.md §3), without the default STUN server. */
function makePc(): RTCPeerConnection {
  return new RTCPeerConnection({
    bundlePolicy: "max-bundle",
    codecs: { audio: [useOPUS()], video: [useVP8()] },
    iceServers: [],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceInterfaceAddresses: { udp4: "127.0.0.1" },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceFilterCandidatePair: (p) => p.localCandidate.host === "127.0.0.1" && p.remoteCandidate.host === "127.0.0.1",
  });
}

function noStun(pc: RTCPeerConnection): void {
  for (const tr of pc.iceTransports) {
    (tr.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
  }
}

const loopbackOnly = (sdp: string): string =>
  sdp
    .split("\r\n")
    .filter((l) => !l.startsWith("a=candidate") || l.includes(" 127.0.0.1 "))
    .join("\r\n");

/**
 * Restricts the SRTP protection profiles werift's DTLS offers and accepts (werift keeps them in a field its DTLS
 * handshake reads when it starts; werift numbers: 1 = AES_CM_128_HMAC_SHA1_80, 7 = AEAD_AES_128_GCM).
 */
function onlyProfile(pc: RTCPeerConnection, profile: number | undefined): void {
  if (profile === undefined) {
    return;
  }
  for (const d of pc.dtlsTransports) {
    (d as unknown as { srtpProfiles: number[] }).srtpProfiles = [profile];
  }
}

/** Offer/answer with full candidates in the SDP; resolves when both sides are connected (ICE + DTLS). */
async function connect(a: RTCPeerConnection, b: RTCPeerConnection, profile: number | undefined): Promise<void> {
  a.addTransceiver("audio", { direction: "sendrecv" });
  a.addTransceiver("video", { direction: "sendrecv" });
  const offer = await a.createOffer();
  noStun(a);
  await a.setLocalDescription(offer);
  onlyProfile(a, profile);
  await b.setRemoteDescription({ type: "offer", sdp: loopbackOnly(a.localDescription!.sdp) });
  noStun(b);
  onlyProfile(b, profile);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription({ type: "answer", sdp: loopbackOnly(b.localDescription!.sdp) });
  await waitFor(
    () => a.connectionState === "connected" && b.connectionState === "connected",
    `both connected (${a.connectionState}/${b.connectionState})`,
  );
}

interface UdpLike {
  type?: string;
  onData: (data: Buffer, addr: [string, number]) => void;
  socket: { address(): { port: number }; send(data: Buffer, port: number, host: string): void };
}

/** The UDP socket wrapper of the nominated ICE pair inside werift (what FastRtpPath hooks). */
function nominatedTransport(dtls: RTCDtlsTransport): UdpLike {
  const conn = dtls.iceTransport.connection as unknown as { nominated?: { protocol: { transport: UdpLike } } };
  const tr = conn.nominated?.protocol.transport;
  if (tr === undefined) {
    throw new Error("no nominated pair");
  }
  return tr;
}

interface Got {
  h: RtpHeaderFields;
  payload: Buffer;
}

/** Payload of packet `i`: a tag, the counter and a counter-dependent filler, 40–1240 bytes. */
function payloadOf(tag: string, i: number): Buffer {
  const n = 40 + ((i * 97) % 1200);
  const b = Buffer.alloc(n);
  b.write(tag, 0, "ascii");
  b.writeUInt32BE(i, 4);
  for (let j = 8; j < n; j++) {
    b[j] = (i * 7 + j) & 0xff;
  }
  return b;
}

for (const [name, profile] of [
  ["AEAD_AES_128_GCM", undefined], // werift's preference, what browsers negotiate with it
  ["AES_CM_128_HMAC_SHA1_80", 1],
] as const) {
  t.test(`FastRtpPath between two werift peers on 127.0.0.1 (${name})`, async (t) => {
    t.setTimeout(60_000);
    const a = makePc();
    const b = makePc();
    const sockets: ReturnType<typeof createSocket>[] = [];
    t.teardown(async () => {
      for (const s of sockets) {
        s.close();
      }
      const timeout = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());
      await Promise.race([Promise.all([a.close(), b.close()]), timeout(5000)]);
    });
    await connect(a, b, profile);
    const dtlsA = a.dtlsTransports[0]!;
    const dtlsB = b.dtlsTransports[0]!;
    t.equal(a.dtlsTransports.length, 1, "BUNDLE: one DTLS transport");
    await waitFor(() => dtlsA.state === "connected" && dtlsB.state === "connected", "DTLS connected");
    const tB = nominatedTransport(dtlsB);
    const tA0 = (): UdpLike => nominatedTransport(dtlsA);
    const originalB = tB.onData;
    t.equal(tB.type, "udp");

    const gotA: Got[] = [];
    const gotB: Got[] = [];
    const rtcpA: Buffer[] = [];
    // The handler's header object is reused by the path: copy it.
    const log = createLogger("test");
    const fastA = FastRtpPath.create(
      dtlsA, // werift's RTCDtlsTransport satisfies DtlsTransportLike as typed
      (h, p) => gotA.push({ h: { ...h }, payload: Buffer.from(p) }),
      log,
      undefined,
      (plain) => rtcpA.push(Buffer.from(plain)),
    );
    const fastB = FastRtpPath.create(dtlsB, (h, p) => gotB.push({ h: { ...h }, payload: Buffer.from(p) }), log);
    if (fastA === undefined || fastB === undefined) {
      t.fail("FastRtpPath.create returned undefined for a werift DTLS transport");
      return;
    }
    const negotiated = (dtlsA as unknown as { srtp: { config: { profile: number } } }).srtp.config.profile;
    t.equal(negotiated, name === "AEAD_AES_128_GCM" ? 7 : 1, `werift negotiated profile ${negotiated}`);
    t.equal(fastA.profile, name);
    t.equal(fastB.profile, name);
    t.ok(fastA.active && fastB.active, "both paths active on the UDP pair");
    t.not(tB.onData, originalB, "B's socket callback is hooked");

    const weriftRtpB: RtpPacket[] = [];
    const weriftRtcpB: RtcpPacket[] = [];
    dtlsB.onRtp.subscribe((rtp) => weriftRtpB.push(rtp));
    dtlsB.onRtcp.subscribe((rtcp) => weriftRtcpB.push(rtcp));

    // ---- 200 packets A → B, across the sequence wrap (ROC 0 → 1 on both sides).
    const SSRC_A = 0x0a0b_0c0d;
    const sentA: Buffer[] = [];
    for (let i = 0; i < 200; i++) {
      const seq = (65_436 + i) & 0xffff;
      const out = fastA.send(SSRC_A, 96, seq, (0xffff_0000 + i * 3000) >>> 0, i % 10 === 9, payloadOf("FAST", i));
      if (out !== undefined) {
        sentA.push(out);
      }
      if (i % 20 === 19) {
        await sleep(5); // pace the burst: loopback drops when the receive buffer overflows
      }
    }
    t.equal(sentA.length, 200, "send() protected and sent every packet");
    t.equal(sentA[0]?.length, 12 + payloadOf("FAST", 0).length + (fastA.profile === "AEAD_AES_128_GCM" ? 16 : 10));
    await waitFor(() => gotB.length >= 200, `200 packets at B (got ${gotB.length}, dropped ${fastB.dropped})`);
    let intact = 0;
    for (let i = 0; i < 200; i++) {
      const g = gotB[i];
      const ok =
        g !== undefined &&
        g.payload.equals(payloadOf("FAST", i)) &&
        g.h.sequenceNumber === ((65_436 + i) & 0xffff) &&
        g.h.timestamp === (0xffff_0000 + i * 3000) >>> 0 &&
        g.h.marker === (i % 10 === 9) &&
        g.h.payloadType === 96 &&
        g.h.ssrc === SSRC_A &&
        g.h.payloadOffset === 12;
      if (ok) {
        intact++;
      } else if (g !== undefined) {
        t.fail(`packet ${i}: seq ${g.h.sequenceNumber} ts ${g.h.timestamp} len ${g.payload.length}`);
      }
    }
    t.equal(intact, 200, "200 packets in order with payload bytes and header fields intact");
    t.equal(fastB.dropped, 0, "nothing dropped");
    t.equal(weriftRtpB.length, 0, "werift's RTP path saw none of them");

    // ---- B → A.
    for (let i = 0; i < 30; i++) {
      fastB.send(0x0b0b_0b0b, 111, 1000 + i, i * 960, false, payloadOf("BACK", i));
    }
    await waitFor(() => gotA.length >= 30, `30 packets at A (got ${gotA.length})`);
    t.ok(
      gotA.every((g, i) => g.payload.equals(payloadOf("BACK", i)) && g.h.sequenceNumber === 1000 + i),
      "B → A payloads intact",
    );

    // ---- SRTCP B → A: A's path has an RTCP handler, so its SrtpStage unprotects SRTCP and werift never sees it.
    const weriftRtcpA: RtcpPacket[] = [];
    dtlsA.onRtcp.subscribe((p) => weriftRtcpA.push(p));
    const srB = new RtcpSrPacket({
      ssrc: 0x0b0b_0b0b,
      senderInfo: new RtcpSenderInfo({
        ntpTimestamp: 0x99n << 32n,
        rtpTimestamp: 777_777,
        packetCount: 30,
        octetCount: 9,
      }),
    });
    const srtcpB = dtlsB.srtcp.encrypt(srB.serialize()); // werift's SRTCP, B's key: what B's werift would send
    const portA = tA0().socket.address().port;
    tB.socket.send(srtcpB, portA, "127.0.0.1");
    const isOurSr = (buf: Buffer): boolean => parseRtcp(buf).some((p) => p.type === "sr" && p.rtpTimestamp === 777_777);
    await waitFor(() => rtcpA.some(isOurSr), "B's SR at A's RTCP handler");
    const got = rtcpA.find(isOurSr);
    t.ok(got?.equals(srB.serialize()), "SRTCP unprotected by the fast path: the plain SR, byte for byte");
    const before = rtcpA.length;
    const tampered = Buffer.from(srtcpB);
    tampered[9]! ^= 0x01;
    tB.socket.send(srtcpB, portA, "127.0.0.1"); // replayed
    tB.socket.send(tampered, portA, "127.0.0.1");
    await waitFor(() => fastA.dropped >= 2, `2 SRTCP drops at A (dropped ${fastA.dropped})`);
    t.equal(fastA.dropped, 2, "replayed and tampered SRTCP dropped and counted");
    t.notOk(
      rtcpA.slice(before).some((buf) => buf.equals(srB.serialize())),
      "neither reached the RTCP handler",
    );
    t.notOk(
      weriftRtcpA.some((p) => p instanceof RtcpSrPacket && p.senderInfo.rtpTimestamp === 777_777),
      "werift's RTCP path at A saw none of them",
    );

    // ---- Without an RTCP handler (B), werift's RTCP (SRTCP) still reaches werift through the hooked socket.
    await dtlsA.sendRtcp([
      new RtcpPayloadSpecificFeedback({
        feedback: new PictureLossIndication({ senderSsrc: 1, mediaSsrc: 0x0b0b_0b0b }),
      }),
    ]);
    await dtlsA.sendRtcp([
      new RtcpSrPacket({
        ssrc: SSRC_A,
        senderInfo: new RtcpSenderInfo({
          ntpTimestamp: 0x1234n << 32n,
          rtpTimestamp: 4242,
          packetCount: 200,
          octetCount: 7,
        }),
      }),
    ]);
    await waitFor(() => weriftRtcpB.length >= 2, `RTCP at B's werift (got ${weriftRtcpB.length})`);
    const pli = weriftRtcpB.find((p) => p.type === 206) as
      { feedback?: { count?: number; mediaSsrc?: number; senderSsrc?: number } } | undefined;
    t.equal(pli?.feedback?.count, 1, "PLI arrived via werift's dtls.onRtcp");
    t.equal(pli?.feedback?.mediaSsrc, 0x0b0b_0b0b);
    const sr = weriftRtcpB.find((p): p is RtcpSrPacket => p.type === 200);
    t.equal(sr?.ssrc, SSRC_A, "SR arrived via werift");
    t.equal(sr?.senderInfo.rtpTimestamp, 4242);
    t.equal(sr?.senderInfo.packetCount, 200);
    t.equal(gotB.length, 200, "RTCP did not reach the fast RTP handler");
    t.equal(fastB.dropped, 0, "and was not counted as a dropped RTP packet");

    // ---- Forged and replayed datagrams from A's own address: authenticated by the fast path and dropped.
    const tA = tA0();
    const portB = tB.socket.address().port;
    const replay = sentA[150]!;
    const forged = Buffer.from(sentA[199]!);
    forged.writeUInt16BE(100, 2); // next sequence numbers after the 200th, with a stale tag
    forged[forged.length - 1]! ^= 0xff;
    for (const d of [replay, forged]) {
      tA.socket.send(d, portB, "127.0.0.1");
    }
    await waitFor(() => fastB.dropped >= 2, `2 drops at B (dropped ${fastB.dropped})`);
    t.equal(fastB.dropped, 2, "replayed and forged packets dropped");
    // ---- The same from another socket: not the selected pair's address, dropped unread.
    const intruder = createSocket("udp4");
    sockets.push(intruder);
    await new Promise<void>((r) => intruder.bind(0, "127.0.0.1", r));
    for (const d of [replay, forged, sentA[199]!]) {
      intruder.send(d, portB, "127.0.0.1");
    }
    await waitFor(() => fastB.foreign >= 3, `3 foreign drops at B (foreign ${fastB.foreign})`);
    t.equal(fastB.dropped, 2, "foreign packets were not even authenticated");
    t.equal(gotB.length, 200, "none reached the handler");
    t.equal(weriftRtpB.length, 0, "nor werift");
    // Genuine traffic still flows after the forgery (its index was not recorded).
    fastA.send(SSRC_A, 96, 100, 0, false, payloadOf("FAST", 200));
    await waitFor(() => gotB.length >= 201, "packet 201 at B");
    t.ok(gotB[200]?.payload.equals(payloadOf("FAST", 200)), "next genuine packet accepted");

    // ---- close(): werift's callback is back, and RTP flows through werift again.
    fastB.close();
    fastB.close();
    t.equal(tB.onData, originalB, "B's socket callback restored");
    t.equal(fastB.active, false, "closed path is inactive");
    t.equal(fastB.send(1, 96, 1, 0, false, Buffer.alloc(4)), undefined, "closed path does not send");
    // A fresh SSRC (ROC 0): werift's SRTP context on B never saw SSRC_A's wrap.
    const SSRC_A2 = 0x0a0b_0c0e;
    for (let i = 0; i < 20; i++) {
      fastA.send(SSRC_A2, 96, 5000 + i, i * 3000, false, payloadOf("WRFT", i));
    }
    await waitFor(() => weriftRtpB.length >= 20, `20 packets through werift at B (got ${weriftRtpB.length})`);
    t.ok(
      weriftRtpB.every(
        (p, i) =>
          p.payload.equals(payloadOf("WRFT", i)) && p.header.sequenceNumber === 5000 + i && p.header.ssrc === SSRC_A2,
      ),
      "werift decrypts what the fast path sent: payloads intact",
    );
    t.equal(gotB.length, 201, "the closed fast path handler saw nothing more");
    fastA.close();
  });
}

t.test("create() declines transports without SRTP keys or with a profile it does not implement", (t) => {
  const log = createLogger("test");
  const conn = { iceTransport: { connection: {} } };
  // werift's SrtpSession keeps the profile and the master keys its DTLS transport exported in `config`.
  const keys = {
    localMasterKey: Buffer.alloc(16),
    localMasterSalt: Buffer.alloc(14),
    remoteMasterKey: Buffer.alloc(16),
    remoteMasterSalt: Buffer.alloc(14),
  };
  const none = (): void => undefined;
  t.equal(FastRtpPath.create({ ...conn }, none, log), undefined, "DTLS not done: no srtp session");
  t.equal(
    FastRtpPath.create({ ...conn, srtp: { config: { profile: 2, keys } } }, none, log),
    undefined,
    "SRTP_AES128_CM_HMAC_SHA1_32 (2): werift does not negotiate it",
  );
  t.equal(FastRtpPath.create({ ...conn, srtp: { config: { profile: 7 } } }, none, log), undefined, "no master keys");
  const path = FastRtpPath.create({ ...conn, srtp: { config: { profile: 1, keys } } }, none, log);
  t.equal(path?.profile, "AES_CM_128_HMAC_SHA1_80");
  t.equal(path?.active, false, "no nominated pair: inactive");
  t.equal(path?.send(1, 96, 1, 0, false, Buffer.alloc(1)), undefined, "and send() leaves it to werift");
  t.end();
});
