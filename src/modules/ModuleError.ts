/** A module that cannot be loaded: start-up stops with this error, whose message starts with the module's name. */
export class ModuleError extends Error {
  override readonly name = "ModuleError";
  /** The module's name (its kmd `name`), or the `modules:` entry when the name is not known yet. */
  readonly module: string;

  constructor(module: string, message: string, options?: { cause?: unknown }) {
    super(`module '${module}': ${message}`, options);
    this.module = module;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
