/** Thrown for an invalid configuration; the message starts with the field path. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly field: string;
  constructor(field: string, reason: string) {
    super(`config: ${field}: ${reason}`);
    this.field = field;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
