import t from "tap";
import { AmrCmrStage } from "../../../../../media/endpoint/stages/AmrCmrStage.js";
import { MockStream } from "./mockStream.js";

t.test("the CMR of the peer's last AMR/AMR-WB packet is the mode request; 15 means none", (t) => {
  const stage = new AmrCmrStage();
  t.equal(stage.modeRequest, undefined, "nothing asked before any packet");
  const amr = new MockStream({ codec: "amr-wb", clockRate: 16000, payloadType: 97 });
  t.ok(stage.onRtp(amr.next(Buffer.from([0x2f, 0x00]))));
  t.equal(stage.modeRequest, 2, "CMR = the first 4 bits");
  const pcmu = new MockStream();
  stage.onRtp(pcmu.next(Buffer.from([0xff])));
  t.equal(stage.modeRequest, 2, "other codecs do not change it");
  stage.onRtp(amr.next(Buffer.alloc(0)));
  t.equal(stage.modeRequest, 2, "an empty payload does not change it");
  stage.onRtp(new MockStream({ codec: "amr", payloadType: 99 }).next(Buffer.from([0x70])));
  t.equal(stage.modeRequest, 7);
  stage.onRtp(amr.next(Buffer.from([0xf0])));
  t.equal(stage.modeRequest, undefined, "CMR 15: no request");
  stage.close();
  t.end();
});
