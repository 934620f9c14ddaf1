/** Named errors of the transcoding layer. */

/** A format the transcoder cannot build a chain for (unknown codec, impossible ptime). */
export class TranscodeError extends Error {
  override readonly name = "TranscodeError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
