/**
 * Logger seam (sip/logger.ts): no-op by default, installable factory, late installation reaches early loggers.
 */

import t from "tap";
import { getLogger, noopLogger, setLoggerFactory, type Logger } from "../../../sip/index.js";

t.test("the default logger is a no-op", async (t) => {
  const log = getLogger("sip:test");
  t.doesNotThrow(() => {
    log.debug("a");
    log.info("b");
    log.warn("c");
    log.error("d", { x: 1 });
  });
  t.doesNotThrow(() => noopLogger.info("x"));
});

t.test("a factory installed later reaches loggers created earlier", async (t) => {
  const early = getLogger("sip:early");
  const lines: string[] = [];
  const make = (ns: string): Logger => ({
    debug: (m) => lines.push(`debug ${ns} ${m}`),
    info: (m) => lines.push(`info ${ns} ${m}`),
    warn: (m) => lines.push(`warn ${ns} ${m}`),
    error: (m, f) => lines.push(`error ${ns} ${m} ${JSON.stringify(f)}`),
  });
  setLoggerFactory(make);
  early.debug("one");
  early.info("two");
  early.warn("three");
  early.error("four", { id: 1 });
  setLoggerFactory(undefined);
  early.info("dropped");
  t.same(lines, ["debug sip:early one", "info sip:early two", "warn sip:early three", 'error sip:early four {"id":1}']);
});
