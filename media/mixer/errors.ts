/** Named errors of the mixer layer (Composite/HubPort and PlayerEndpoint). */

/** A PlayerEndpoint URI Korus cannot read (scheme other than file://, empty, or not a path). */
export class PlayerUriError extends Error {
  override readonly name = "PlayerUriError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
