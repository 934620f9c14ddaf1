import t from "tap";
import { DatagramChain, type DatagramStage } from "../../../../../media/endpoint/stages/DatagramStage.js";

/** Appends its name to every datagram it passes; drops those whose first byte is `dropOn`. */
function tagger(name: string, log: string[], dropOn?: number, closeError?: Error): DatagramStage {
  const tag = (dir: string) => (d: Buffer) => {
    log.push(`${dir} ${name}`);
    return d[0] === dropOn ? undefined : Buffer.concat([d, Buffer.from(name)]);
  };
  return {
    rtpIn: tag("rtpIn"),
    rtcpIn: tag("rtcpIn"),
    rtpOut: tag("rtpOut"),
    rtcpOut: tag("rtcpOut"),
    close: () => {
      log.push(`close ${name}`);
      if (closeError !== undefined) {
        throw closeError;
      }
    },
  };
}

t.test("inbound runs from the wire inwards, outbound from the inside out; a drop stops the chain", (t) => {
  const log: string[] = [];
  const chain = new DatagramChain([tagger("a", log), tagger("b", log, 0x7a)]);
  t.equal(chain.rtpIn(Buffer.from("x"))?.toString(), "xab", "in: a (nearest the wire) first");
  t.equal(chain.rtcpIn(Buffer.from("y"))?.toString(), "yab");
  t.equal(chain.rtpOut(Buffer.from("x"))?.toString(), "xba", "out: a (nearest the wire) last");
  t.equal(chain.rtcpOut(Buffer.from("y"))?.toString(), "yba");
  log.length = 0;
  t.equal(chain.rtpIn(Buffer.from("z")), undefined, "b drops a datagram starting with 'z'");
  t.same(log, ["rtpIn a", "rtpIn b"]);
  log.length = 0;
  t.equal(chain.rtpOut(Buffer.from("z")), undefined, "b drops first on the way out");
  t.same(log, ["rtpOut b"], "and a never sees it");
  const plain = Buffer.from("p");
  t.equal(new DatagramChain([]).rtpIn(plain), plain, "an empty chain passes the same buffer");
  t.end();
});

t.test("only stages with a hook run for it; rtpValid reaches each of them", (t) => {
  const seen: number[] = [];
  const timeoutLike: DatagramStage = { rtpValid: (now) => seen.push(now), close: () => undefined };
  const log: string[] = [];
  const chain = new DatagramChain([tagger("a", log), timeoutLike]);
  chain.rtpValid(42);
  t.same(seen, [42]);
  t.equal(chain.rtpIn(Buffer.from("x"))?.toString(), "xa", "a stage without rtpIn is skipped");
  t.end();
});

t.test("close() closes every stage and gathers every error", (t) => {
  const log: string[] = [];
  const e1 = new Error("first");
  const e2 = new Error("second");
  const chain = new DatagramChain([tagger("a", log, undefined, e1), tagger("b", log), tagger("c", log, undefined, e2)]);
  let caught: unknown;
  try {
    chain.close();
  } catch (err) {
    caught = err;
  }
  t.same(log, ["close a", "close b", "close c"], "every stage closed");
  t.ok(caught instanceof AggregateError);
  t.same(caught instanceof AggregateError ? caught.errors : [], [e1, e2], "both errors, in order");
  t.end();
});
