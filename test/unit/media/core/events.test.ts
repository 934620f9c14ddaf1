/**
 * media/core/events.ts against the kmd descriptors the control plane serves: every event the built-in elements raise
 * exists in a descriptor with exactly the fields and field types listed, and every enum those fields use has the
 * descriptor's values. Any drift (a renamed field, a new enum value, a typo) fails here.
 */
import t from "tap";
import { ELEMENT_EVENTS, INTERNAL_EVENTS, KMD_ENUMS } from "../../../../media/core/events.js";
import { DTMF_OUT_EVENT } from "../../../../media/index.js";
import { KmdRegistry, type KmdEvent } from "../../../../src/kurento/kmd.js";
import { KORUS_KMD } from "../../../../src/kurento/korusKmd.js";

// Korus's own "korus" module (SipEndpoint, DtmfReceived) comes through the module door, as src/modules/builtin.ts loads it.
const kmd = KmdRegistry.load([KORUS_KMD]);
const events = new Map<string, KmdEvent>(kmd.modules.flatMap((m) => m.events.map((e) => [e.name, e] as const)));
/** The Media base event's fields: the control plane adds them. */
const BASE = new Set(["source", "tags", "timestampMillis", "type"]);

/** An event's own fields with their types, inherited ones included, the base ones left out. */
function fieldsOf(name: string): Record<string, string> {
  const e = events.get(name);
  if (e === undefined) {
    return {};
  }
  const own = Object.fromEntries(e.properties.map((p) => [p.name, p.type]));
  const inherited = e.extends === undefined ? {} : fieldsOf(e.extends);
  const all: Record<string, string> = { ...inherited, ...own };
  for (const b of BASE) {
    if (name !== "Error" || b !== "type") {
      delete all[b];
    }
  }
  return all;
}

t.test("every listed event is described with exactly these fields and types", async (t) => {
  for (const [name, fields] of Object.entries(ELEMENT_EVENTS)) {
    t.ok(events.has(name), `${name} is in a kmd descriptor`);
    t.same(fields, fieldsOf(name), `${name}: fields and kmd types`);
  }
});

t.test("every enum a field uses has the descriptor's values", async (t) => {
  const used = new Set(Object.values(ELEMENT_EVENTS).flatMap((f) => Object.values(f)));
  for (const type of used) {
    const complex = kmd.complexType(type);
    if (complex?.typeFormat === "ENUM") {
      t.ok(type in KMD_ENUMS, `${type} is listed in KMD_ENUMS`);
    }
  }
  for (const [name, values] of Object.entries(KMD_ENUMS)) {
    const complex = kmd.complexType(name);
    t.equal(complex?.typeFormat, "ENUM", `${name} is a kmd enum`);
    t.same([...values].sort(), [...(complex?.values ?? [])].sort(), `${name} values`);
  }
});

t.test("the events a class declares that Korus raises are listed; internal events are not Kurento's", async (t) => {
  for (const cls of ["MediaElement", "BaseRtpEndpoint", "WebRtcEndpoint", "RtpEndpoint", "PlayerEndpoint"]) {
    t.ok(kmd.classByType(cls) !== undefined, `${cls} is described`);
  }
  t.ok(kmd.classByType("SipEndpoint")?.events.has("DtmfReceived"), "Korus's DtmfReceived is on SipEndpoint");
  t.same(Object.keys(INTERNAL_EVENTS), [DTMF_OUT_EVENT]);
  for (const name of Object.keys(INTERNAL_EVENTS)) {
    t.notOk(events.has(name), `${name} is not a Kurento event`);
    t.ok(name.includes(":"), `${name} is namespaced`);
  }
});
