/**
 * The CDR `recording` column (src/cdr/recordingCdr.ts): RecordingLinks adds URIs to a leg (space-separated, no
 * duplicates, no credentials), and the hooks attach a RecorderEndpoint's uri to the leg of each element connected
 * to it.
 */
import t from "tap";
import { CdrDirection, HangupSide, type CdrRecord } from "../../../../src/cdr/CdrRecord.js";
import { CdrRecorder } from "../../../../src/cdr/CdrRecorder.js";
import { cdrRecordingUri, recordingCdrHooks, RecordingLinks } from "../../../../src/cdr/recordingCdr.js";
import type { KObject } from "../../../../src/kurento/ObjectRegistry.js";

function setup(): { rec: CdrRecorder; committed: CdrRecord[] } {
  const committed: CdrRecord[] = [];
  const rec = new CdrRecorder({ commit: (r) => committed.push(r), onCommitError: () => undefined });
  return { rec, committed };
}

const obj = (id: string, cls: string): KObject => ({ id, cls: { name: cls } }) as KObject;

t.test("attach: the leg's recordings, space-separated, once each, without credentials", async (t) => {
  const { rec, committed } = setup();
  rec.started("leg", { direction: CdrDirection.WebRtc });
  const links = new RecordingLinks(rec);
  t.ok(links.attach("leg", "file:///rec/a b.webm"));
  t.ok(links.attach("leg", "https://user:secret@store.example/up/x.webm"));
  t.ok(links.attach("leg", "file:///rec/a b.webm"));
  t.notOk(links.attach("nope", "file:///rec/c.webm"), "an unknown leg");
  rec.ended("leg", { hangupSide: HangupSide.Local, endReason: "released" });
  t.equal(committed[0]?.media.recording, "file:///rec/a%20b.webm https://store.example/up/x.webm");
  t.notOk(links.attach("leg", "file:///rec/d.webm"), "an ended leg");
  t.equal(links.size, 0, "ended legs are forgotten");
  t.equal(cdrRecordingUri("http://h/x"), "http://h/x");
});

t.test("hooks: connect(source → RecorderEndpoint) attaches the uri to the source's leg", async (t) => {
  const { rec, committed } = setup();
  rec.started("web1", { direction: CdrDirection.WebRtc });
  const links = new RecordingLinks(rec);
  const hooks = recordingCdrHooks(links, (id) => (rec.has(id) ? id : undefined));
  await hooks.elementCreated?.(obj("recA", "RecorderEndpoint"), { uri: "file:///rec/call.webm" });
  await hooks.elementCreated?.(obj("other", "PlayerEndpoint"), { uri: "file:///media/x.wav" });
  t.equal(hooks.operation?.(obj("web1", "WebRtcEndpoint"), "connect", { sink: "other" }), undefined);
  t.equal(hooks.operation?.(obj("web1", "WebRtcEndpoint"), "connect", { sink: "recA" }), undefined, "observe only");
  hooks.operation?.(obj("unknown", "WebRtcEndpoint"), "connect", { sink: "recA" });
  hooks.objectsGone?.(
    [obj("web1", "WebRtcEndpoint"), obj("recA", "RecorderEndpoint")],
    "released",
    Promise.resolve({}),
  );
  t.equal(links.size, 0, "forgotten with the element");
  rec.ended("web1", { hangupSide: HangupSide.Local, endReason: "released" });
  t.equal(committed[0]?.media.recording, "file:///rec/call.webm", "only the recorder's uri");
});

t.test("SIP legs: a SipEndpoint's CDR leg is found by its element id (legOfElement)", async (t) => {
  const { rec, committed } = setup();
  rec.started("cdr-uuid", { direction: CdrDirection.Inbound, elementId: "pipe/sip1" });
  const links = new RecordingLinks(rec);
  const hooks = recordingCdrHooks(links, (id) => (rec.has(id) ? id : rec.legOfElement(id)));
  t.equal(rec.legOfElement("pipe/sip1"), "cdr-uuid");
  t.equal(rec.legOfElement("pipe/other"), undefined);
  await hooks.elementCreated?.(obj("recS", "RecorderEndpoint"), { uri: "calls/2026-12-07/x-stereo.wav" });
  hooks.operation?.(obj("pipe/sip1", "SipEndpoint"), "connect", { sink: "recS" });
  rec.ended("cdr-uuid", { hangupSide: HangupSide.Remote, endReason: "bye" });
  t.equal(committed[0]?.media.recording, "calls/2026-12-07/x-stereo.wav");
});
