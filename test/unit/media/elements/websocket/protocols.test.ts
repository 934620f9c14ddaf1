import t from "tap";
import { JambonzProtocol } from "../../../../../media/elements/websocket/jambonz.js";
import { streamParams } from "../../../../../media/elements/websocket/params.js";
import { TwilioProtocol } from "../../../../../media/elements/websocket/twilio.js";

const info = { id: "el-1", sampleRate: 8000, channels: 1, parameters: { a: "b" } };
const text = (s: string): Uint8Array => Buffer.from(s);

t.test("Twilio: greeting, media numbering, parse", (t) => {
  const p = new TwilioProtocol(info, "MZ1");
  const [connected, start] = p.greeting().map((m) => JSON.parse(m) as Record<string, unknown>);
  t.match(connected, { event: "connected", protocol: "Call" });
  t.match(start, {
    event: "start",
    sequenceNumber: "1",
    streamSid: "MZ1",
    start: { callSid: "el-1", customParameters: { a: "b" }, mediaFormat: { encoding: "audio/x-mulaw" } },
  });
  const m = JSON.parse(p.audio(new Uint8Array([0xff, 0x7f]))) as {
    sequenceNumber: string;
    media: Record<string, string>;
  };
  t.equal(m.sequenceNumber, "2");
  t.equal(m.media["chunk"], "1");
  t.equal(m.media["payload"], Buffer.from([0xff, 0x7f]).toString("base64"));
  t.match(p.parse(text('{"event":"media","media":{"payload":"/38="}}'), false), { kind: "audio" });
  t.match(p.parse(text('{"event":"clear"}'), false), { kind: "clear" });
  t.match(p.parse(text('{"event":"mark","mark":{"name":"n"}}'), false), { kind: "mark", name: "n" });
  t.match(p.parse(text('{"event":"mark","mark":{"name":""}}'), false), { kind: "bad" });
  t.match(p.parse(text("{"), false), { kind: "bad", reason: /JSON/ });
  t.match(p.parse(text("{}"), true), { kind: "bad", reason: /binary/ });
  t.match(p.parse(text('{"event":"media","media":{"payload":"a$=="}}'), false), { kind: "bad" });
  for (const bad of ["a b=", "ab=c", "abc\\n", "ab==cdef", "/38=/38="]) {
    t.match(p.parse(text(JSON.stringify({ event: "media", media: { payload: bad } })), false), { kind: "bad" }, bad);
  }
  for (const [good, bytes] of [
    ["", 0],
    ["AAAA", 3],
    ["AA==", 1],
    ["AAA=", 2],
  ] as const) {
    const c = p.parse(text(JSON.stringify({ event: "media", media: { payload: good } })), false);
    t.equal(c.kind === "audio" ? c.data.length : -1, bytes, `'${good}' is ${bytes} bytes`);
  }
  t.match(p.parse(text('{"event":"other"}'), false), { kind: "other" });
  t.end();
});

t.test("jambonz: metadata, commands, odd-length audio", (t) => {
  const p = new JambonzProtocol({ ...info, sampleRate: 16000, channels: 2 });
  t.equal(p.frameBytes, 640);
  t.same(JSON.parse(p.greeting()[0]!), { a: "b", callSid: "el-1", sampleRate: 16000, mixType: "stereo" });
  t.match(p.parse(new Uint8Array(4), true), { kind: "audio" });
  t.match(p.parse(new Uint8Array(3), true), { kind: "bad" });
  t.match(p.parse(text('{"type":"killAudio"}'), false), { kind: "clear" });
  t.match(p.parse(text('{"type":"disconnect"}'), false), { kind: "disconnect" });
  t.match(p.parse(text('{"type":"mark","data":{"name":"m"}}'), false), { kind: "mark", name: "m" });
  t.match(p.parse(text("[1]"), false), { kind: "bad" });
  t.same(JSON.parse(p.markCleared("m")), { type: "mark", data: { name: "m", event: "cleared" } });
  t.end();
});

t.test("parameters are checked", (t) => {
  t.throws(() => streamParams({ uri: "http://x/" }), TypeError);
  t.throws(() => streamParams({ uri: "ws://x/", protocol: "sip" }), /protocol/);
  t.throws(() => streamParams({ uri: "ws://x/", sampleRate: 16000 }), /twilio/);
  t.throws(() => streamParams({ uri: "ws://x/", headers: { "Bad Name": "v" } }), /header/);
  t.throws(() => streamParams({ uri: "ws://x/", headers: { Host: "v" } }), /header/);
  t.throws(() => streamParams({ uri: "ws://x/", headers: { A: "v\n" } }), /CR, LF/);
  t.throws(() => streamParams({ uri: "ws://x/", headers: { A: "v".repeat(9000) } }), /8192/);
  t.throws(() => streamParams({ uri: "ws://x/", retrySeconds: -1 }), /retrySeconds/);
  t.throws(() => streamParams({ uri: "ws://x/", outageAudio: "http://x/hold.wav" }), /outageAudio/);
  t.throws(() => streamParams({ uri: "ws://x/", outageAudio: 7 }), /outageAudio/);
  t.throws(() => streamParams({ uri: "ws://x/", outageAudio: "a\0b" }), /outageAudio/);
  t.equal(streamParams({ uri: "ws://x/", outageAudio: "file:///m/hold.wav" }).outageAudio, "file:///m/hold.wav");
  t.equal(
    streamParams({ uri: "ws://x/", outageAudio: "hold.wav" }).outageAudio,
    "hold.wav",
    "a path (under the roots)",
  );
  t.equal(streamParams({ uri: "ws://x/" }).outageAudio, undefined);
  t.match(streamParams({ uri: "wss://x/", protocol: "jambonz", sampleRate: 24000, channels: 2 }), {
    protocol: "jambonz",
    sampleRate: 24000,
    channels: 2,
    direction: "both",
    retryMs: 10000,
    maxQueueFrames: 3000,
  });
  t.end();
});
