/**
 * The element registry of a media worker: Kurento type string → element class, filled at worker start-up by Korus's
 * built-in types and then by each module's worker entry, in module order. It replaces the literal table that
 * `media/elements/index.ts` used to be: Korus's own types register through the same {@link ElementRegistry.register}
 * as a third party's.
 */
import type { ElementClass } from "../core/MediaPipeline.js";

/** A type registered twice, or a registration that is not a class. */
export class ElementRegistryError extends Error {
  override readonly name = "ElementRegistryError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

interface Entry {
  readonly cls: ElementClass;
  /** The module that registered the type ("korus" for the built-in ones). */
  readonly module: string;
}

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

export class ElementRegistry {
  readonly #types = new Map<string, Entry>();

  /**
   * Registers `cls` as the implementation of Kurento type `type`.
   * @throws ElementRegistryError when `type` is not a plain identifier, `cls` is not a constructor, or another
   *   module (or the same one) already registered `type`.
   */
  register(type: string, cls: ElementClass, module: string): void {
    if (typeof type !== "string" || !TYPE_NAME.test(type)) {
      throw new ElementRegistryError(`module '${module}': element type ${JSON.stringify(type)} is not an identifier`);
    }
    if (typeof cls !== "function") {
      throw new ElementRegistryError(`module '${module}': element type '${type}' is not registered with a class`);
    }
    const had = this.#types.get(type);
    if (had !== undefined) {
      throw new ElementRegistryError(
        `module '${module}': element type '${type}' is already registered by module '${had.module}'`,
      );
    }
    this.#types.set(type, { cls, module });
  }

  /** The class of `type`, or undefined when no module registered it. */
  get(type: string): ElementClass | undefined {
    return this.#types.get(type)?.cls;
  }

  /** The module that registered `type`. */
  moduleOf(type: string): string | undefined {
    return this.#types.get(type)?.module;
  }

  /** Every registered type name, in registration order. */
  types(): string[] {
    return [...this.#types.keys()];
  }
}
