/**
 * sip/TypedEmitter.ts: the one typed emitter of sip/ (the UA's and the trunk's, merged in issue 10).
 */
import t from "tap";
import { TypedEmitter } from "../../../sip/index.js";

interface Events {
  state: [from: string, to: string];
  done: [];
}

class Machine extends TypedEmitter<Events> {
  fire<K extends keyof Events>(event: K, ...args: Events[K]): boolean {
    return this.emit(event, ...args);
  }
}

t.test("listeners run in order; a throwing one is skipped, not fatal", async (t) => {
  const m = new Machine();
  const seen: string[] = [];
  m.on("state", (a, b) => seen.push(`1:${a}>${b}`));
  m.on("state", () => {
    throw new Error("application bug");
  });
  m.on("state", (a, b) => seen.push(`3:${a}>${b}`));
  t.equal(m.fire("state", "idle", "busy"), true);
  t.same(seen, ["1:idle>busy", "3:idle>busy"]);
  t.equal(m.fire("done"), false, "no listener");
});

t.test("once with a listener, once as a promise, off", async (t) => {
  const m = new Machine();
  let count = 0;
  const l = (): void => {
    count++;
  };
  m.once("done", l);
  const next = m.once("state");
  m.fire("done");
  m.fire("done");
  t.equal(count, 1, "a once listener runs once");
  m.fire("state", "a", "b");
  t.same(await next, ["a", "b"], "the promise holds the arguments");
  m.on("done", l);
  m.off("done", l);
  m.fire("done");
  t.equal(count, 1, "removed");
  m.on("done", l);
  m.removeAllListeners();
  t.equal(m.fire("done"), false);
});
