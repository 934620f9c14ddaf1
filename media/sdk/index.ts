/**
 * The element SDK (docs/modules.md): what a Korus module's worker entry receives and may use. A module never imports
 * Korus at run time: its entry's default export is called with a {@link WorkerSdk} that carries the base classes
 * and the registration function; `import type` from here gives it the types.
 *
 *     export default function register(sdk) {
 *       class MyFilter extends sdk.AudioFilter { processAudio(frame) { … } }
 *       sdk.registerElement("MyFilter", MyFilter);
 *     }
 */
import type { ElementClass } from "../core/MediaPipeline.js";
import type { JsonObject } from "../channel/protocol.js";
import type { Logger } from "../logger.js";
import { AudioFilter } from "./AudioFilter.js";
import { Element } from "./Element.js";
import { ElementRegistry, ElementRegistryError } from "./ElementRegistry.js";

export { AudioFilter, type AudioFormat, type AudioFrameInfo } from "./AudioFilter.js";
export { Element, type EventMap, type SdkContext } from "./Element.js";
export { ElementRegistry, ElementRegistryError } from "./ElementRegistry.js";
export { ElementTimers, type TimerHandle } from "./ElementTimers.js";
export type { ElementClass } from "../core/MediaPipeline.js";
export type { Connection, ElementContext } from "../core/MediaElement.js";
export type { MediaObject } from "../core/MediaObject.js";
export type { DataMessage, MediaPacket } from "../core/types.js";
export type { JsonObject, JsonValue, MediaKind } from "../channel/protocol.js";
export type { Logger } from "../logger.js";

/** The version of this API; a module may check it. It grows when members are added, never breaks them. */
export const SDK_VERSION = 1;

/** What a worker entry's default export is called with, once per media worker. */
export interface WorkerSdk {
  readonly version: number;
  /** The module's name (its kmd `name`). */
  readonly module: string;
  /**
   * The module's configuration section, validated by Korus against the schema its manifest's `korus.config` names,
   * defaults applied; `{}` when it declares none. The same value in every worker and in the control entry.
   */
  readonly config: JsonObject;
  /** Plain element base: forwards media unless `onMedia` is overridden. */
  readonly Element: typeof Element;
  /** Filter base that receives decoded audio frames. */
  readonly AudioFilter: typeof AudioFilter;
  /** A logger for the module's own start-up lines. */
  readonly logger: Logger;
  /**
   * Registers the class of one of the module's element types.
   * @throws ElementRegistryError when the module's kmd does not describe `type` as a concrete class, or it is
   *   registered already.
   */
  registerElement(type: string, cls: ElementClass): void;
}

/** The signature of a worker entry's default export. */
export type WorkerEntry = (sdk: WorkerSdk) => void | Promise<void>;

/**
 * The SDK handed to module `module`'s entry. `types` are the concrete classes its kmd describes (undefined: no
 * restriction, for Korus's built-in registrations).
 */
export function createWorkerSdk(
  registry: ElementRegistry,
  module: string,
  types: readonly string[] | undefined,
  logger: Logger,
  config: JsonObject = {},
): WorkerSdk {
  return {
    version: SDK_VERSION,
    module,
    config,
    Element,
    AudioFilter,
    logger,
    registerElement: (type, cls) => {
      if (types !== undefined && !types.includes(type)) {
        throw new ElementRegistryError(
          `module '${module}' registers element type '${String(type)}', which its kmd does not describe as a concrete class`,
        );
      }
      registry.register(type, cls, module);
    },
  };
}

/**
 * Imports module entries in order and calls each with its SDK.
 * @throws Error naming the module when an entry cannot be imported, has no default export function, or throws.
 */
export async function loadWorkerModules(
  registry: ElementRegistry,
  modules: readonly { name: string; worker: string; types: string[]; settings?: JsonObject }[],
  logger: Logger,
): Promise<void> {
  for (const m of modules) {
    let entry: unknown;
    try {
      const ns = (await import(m.worker)) as { default?: unknown };
      entry = ns.default;
    } catch (err) {
      throw new Error(`module '${m.name}': its worker entry ${m.worker} failed to load: ${String(err)}`, {
        cause: err,
      });
    }
    if (typeof entry !== "function") {
      throw new Error(`module '${m.name}': its worker entry ${m.worker} has no default export function`);
    }
    try {
      await (entry as WorkerEntry)(
        createWorkerSdk(registry, m.name, m.types, logger.child({ module: m.name }), m.settings),
      );
    } catch (err) {
      throw new Error(`module '${m.name}': its worker entry failed: ${String(err)}`, { cause: err });
    }
  }
}
