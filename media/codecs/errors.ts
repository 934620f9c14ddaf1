/**
 * Named errors of the codec layer. Every bad input to a codec, packer or parser in media/codecs/ throws one of
 * these (never a crash, never a silent wrong answer).
 */

/** A codec was misused: wrong frame size, unsupported parameter, or the native library refused the input. */
export class CodecError extends Error {
  override readonly name: string = "CodecError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** An operation on a codec after `close()`. */
export class CodecClosedError extends CodecError {
  override readonly name: string = "CodecClosedError";
}

/** An RFC 4867 AMR RTP payload that is truncated or inconsistent (or a frame that cannot be packed). */
export class AmrPayloadError extends Error {
  override readonly name: string = "AmrPayloadError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** An RFC 3389 comfort-noise payload that is malformed. */
export class ComfortNoiseError extends Error {
  override readonly name: string = "ComfortNoiseError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}
