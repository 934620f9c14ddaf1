// @ts-check
/**
 * Control-plane entry of the audiolevel module (optional in a module): Korus calls its default export once on the
 * main thread and adds the hooks it returns to its hook lists (docs/modules.md). This one counts the live
 * AudioLevelFilters and serves the count at GET /audiolevel/filters.
 *
 * @typedef {import("../../src/modules/types.js").ControlApi} ControlApi
 * @typedef {import("../../src/modules/types.js").ControlHooks} ControlHooks
 */

/**
 * @param {ControlApi} api
 * @returns {ControlHooks}
 */
export default function control(api) {
  /** @type {Set<string>} */
  const live = new Set();
  return {
    elementCreated(obj) {
      if (obj.cls.name === "AudioLevelFilter") {
        live.add(obj.id);
      }
    },
    objectsGone(objects) {
      for (const o of objects) {
        live.delete(o.id);
      }
    },
    routes: [
      (req, res) => {
        if (req.method !== "GET" || req.url !== "/audiolevel/filters") {
          return false;
        }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ filters: live.size }));
        return true;
      },
    ],
    start() {
      api.logger.info("audiolevel module ready");
    },
  };
}
