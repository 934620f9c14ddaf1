/**
 * Named errors of the trunk layer (architecture.md §5.6).
 *
 * - {@link TrunkConfigError}: a trunk definition is invalid; `path` names the field (`sip.trunks[2].peers[0]`) so the
 *   config loader can report it and exit with status 2, like every other config error.
 * - {@link AddressParseError}: an IP address or CIDR range is malformed.
 */

/** A trunk definition failed validation. */
export class TrunkConfigError extends Error {
  /** Dotted path of the offending field. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(`${path}: ${message}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "TrunkConfigError";
    this.path = path;
  }
}

/** An IP address or CIDR range could not be parsed. */
export class AddressParseError extends Error {
  /** The text as given. */
  readonly input: string;

  constructor(input: string, reason: string) {
    super(`invalid address "${input}": ${reason}`);
    Object.setPrototypeOf(this, new.target.prototype);
    this.name = "AddressParseError";
    this.input = input;
  }
}
