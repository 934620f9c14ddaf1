import t from "tap";
import { KeyframeRequestStage } from "../../../../../media/endpoint/stages/KeyframeRequestStage.js";
import { MockStream } from "./mockStream.js";

t.test("a pending request is sent at the first video packet, unless it is a keyframe; only once", (t) => {
  let asked = 0;
  const stage = new KeyframeRequestStage(() => asked++);
  const video = new MockStream({ kind: "VIDEO", codec: "vp8", clockRate: 90000, payloadType: 96 });
  const audio = new MockStream();
  t.ok(stage.onRtp(video.next(Buffer.alloc(10))));
  t.equal(asked, 0, "nothing pending, nothing asked");
  stage.pending = true;
  t.ok(stage.onRtp(audio.next(Buffer.alloc(10))));
  t.equal(asked, 0, "audio does not answer a video request");
  t.ok(stage.onRtp(video.next(Buffer.alloc(10))));
  t.equal(asked, 1, "asked at the first delta frame");
  t.equal(stage.pending, false);
  stage.onRtp(video.next(Buffer.alloc(10)));
  t.equal(asked, 1, "once");
  stage.pending = true;
  stage.onRtp(video.next(Buffer.alloc(10), { keyframe: true }));
  t.equal(asked, 1, "a keyframe answers the request by itself");
  t.equal(stage.pending, false);
  stage.pending = true;
  stage.close();
  t.equal(stage.pending, false, "close forgets the request");
  t.end();
});
