/**
 * The Dispatcher's routing table alone, with fake ports: which port's input each port sends, the keyframe request on
 * every switch, and what a port's departure or removeSource leaves behind.
 */
import t from "tap";
import type { MediaPacket } from "../../../../media/core/types.js";
import type { RoutedPort } from "../../../../media/mixer/hub.js";
import { DispatcherRoutes } from "../../../../media/elements/DispatcherRoutes.js";

class FakePort implements RoutedPort {
  readonly got: number[] = [];
  keyframes = 0;
  released = false;
  constructor(readonly id: string) {}
  deliver(packet: MediaPacket): void {
    this.got.push(packet.ssrc);
  }
  requestSourceKeyframe(): void {
    this.keyframes++;
  }
  release(): void {
    this.released = true;
  }
}

const packet = (ssrc: number): MediaPacket => ({
  kind: "AUDIO",
  codec: "pcmu",
  clockRate: 8000,
  payloadType: 0,
  ssrc,
  sequenceNumber: 1,
  timestamp: 1,
  marker: false,
  payload: new Uint8Array(160),
  keyframe: false,
  arrivalMs: 0,
});

t.test("route: a port sends its source's input; a switch replaces the source and asks it for a keyframe", async (t) => {
  const r = new DispatcherRoutes();
  const [a, b, c] = [new FakePort("a"), new FakePort("b"), new FakePort("c")];
  const [la, lb] = [r.attach(a), r.attach(b)];
  r.attach(c);
  t.ok(r.route("a", "c"));
  t.equal(a.keyframes, 1, "the new source was asked for a keyframe");
  la.input(packet(1));
  lb.input(packet(2));
  t.same(c.got, [1], "c sends a's input only");
  t.ok(r.route("b", "c"));
  t.equal(b.keyframes, 1);
  la.input(packet(1));
  lb.input(packet(2));
  t.same(c.got, [1, 2], "after the switch c sends b's input, no longer a's");
  t.equal(r.sourceOf("c"), "b");
  t.notOk(r.route("a", "nope"), "an unknown port is refused");
  // A keyframe request from c's sinks goes to c's source.
  r.attach(new FakePort("d")).keyframe();
  const lc = r.attach(c); // re-attaching replaces the link
  lc.keyframe();
  t.equal(b.keyframes, 1, "a port with no source asks nobody");
});

t.test("fan-out, a port leaving, routeAll and unrouteAll", async (t) => {
  const left: string[] = [];
  const r = new DispatcherRoutes((id) => left.push(id));
  const ports = ["s", "x", "y"].map((id) => new FakePort(id));
  const [s, x, y] = ports as [FakePort, FakePort, FakePort];
  const links = ports.map((p) => r.attach(p));
  t.ok(r.routeAll("s"));
  t.equal(s.keyframes, 1, "one keyframe request for the whole fan-out");
  links[0]?.input(packet(7));
  t.same([s.got, x.got, y.got], [[7], [7], [7]], "every port, the source included, sends the source");
  links[1]?.keyframe();
  t.equal(s.keyframes, 2, "x's sinks ask s through x");
  links[1]?.leave();
  t.same(left, ["x"]);
  links[0]?.input(packet(8));
  t.same(x.got, [7], "a port that left gets nothing");
  t.same(y.got, [7, 8]);
  r.unrouteAll();
  links[0]?.input(packet(9));
  t.same(y.got, [7, 8], "unrouteAll: nothing is sent");
  links[0]?.leave();
  t.equal(r.sourceOf("y"), undefined, "the source left: y has none");
  r.releaseAll();
  t.ok(y.released, "releaseAll releases the ports");
  t.equal(r.size, 0);
});
