/**
 * Control entries of the modules (docs/modules.md): each is imported on the main thread, its default export called
 * once with a {@link ControlApi}, and the hooks it returns appended to the Kurento server's hook lists.
 */
import type { KurentoServer } from "../kurento/KurentoServer.js";
import type { Logger } from "../logging/logger.js";
import { KurentoError } from "../kurento/errors.js";
import type { ModuleDefinition } from "./manifest.js";
import { ModuleError } from "./ModuleError.js";
import type { ControlApi, ControlEntry } from "./types.js";

function api(module: string, k: KurentoServer, logger: Logger): ControlApi {
  return {
    module,
    logger: logger.child({ module }),
    emitEvent: (objectId, event, data) => k.emitEvent(objectId, event, data),
    invoke: async (objectId, operation, args) => {
      const obj = k.objects.get(objectId);
      if (obj?.worker == null) {
        throw new KurentoError("MEDIA_OBJECT_NOT_FOUND", `Object '${objectId}' not found`);
      }
      return obj.worker.request("object.invoke", { objectId, operation, args });
    },
  };
}

/**
 * Imports and runs every control entry in order, adding its hooks to `k.hooks`.
 * @throws ModuleError naming the module whose entry cannot be imported, exports no function, or throws.
 */
export async function loadControlEntries(
  modules: readonly ModuleDefinition[],
  k: KurentoServer,
  logger: Logger,
): Promise<void> {
  for (const m of modules) {
    if (m.control === undefined) {
      continue;
    }
    let entry: unknown;
    try {
      entry = ((await import(m.control)) as { default?: unknown }).default;
    } catch (err) {
      throw new ModuleError(m.name, `control entry ${m.control} failed to load: ${String(err)}`, { cause: err });
    }
    if (typeof entry !== "function") {
      throw new ModuleError(m.name, `control entry ${m.control} has no default export function`);
    }
    let hooks: unknown;
    try {
      hooks = await (entry as ControlEntry)(api(m.name, k, logger));
    } catch (err) {
      throw new ModuleError(m.name, `control entry failed: ${String(err)}`, { cause: err });
    }
    if (typeof hooks !== "object" || hooks === null) {
      throw new ModuleError(m.name, "control entry did not return an object of hooks");
    }
    k.hooks.add(m.name, hooks);
  }
}
