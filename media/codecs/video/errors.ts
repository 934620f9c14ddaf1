/**
 * Named errors of the video codecs. Every failure of media/codecs/video raises one of these, never a crash.
 */
import { CodecClosedError, CodecError } from "../errors.js";

/** A video codec could not be opened (codec missing from the libraries, options the library refused). */
export class VideoCodecOpenError extends CodecError {
  override readonly name: string = "VideoCodecOpenError";
}

/** The decoder refused an access unit (corrupt or truncated bitstream). The decoder stays usable. */
export class VideoDecodeError extends CodecError {
  override readonly name: string = "VideoDecodeError";
}

/** The encoder failed on a frame (or could not reopen at the frame's new size). */
export class VideoEncodeError extends CodecError {
  override readonly name: string = "VideoEncodeError";
}

/** A video codec was used after `close()`, or closed while a job was queued. */
export class VideoCodecClosedError extends CodecClosedError {
  override readonly name: string = "VideoCodecClosedError";
}

/** Maps an error thrown synchronously by the addon to a named error (bad arguments stay TypeError/RangeError). */
export function videoError(e: unknown, what: string): Error {
  const code = typeof e === "object" && e !== null && "code" in e ? String(e.code) : "";
  const msg = e instanceof Error ? e.message : String(e);
  if (code === "KORUS_VIDEO_CLOSED") {
    return new VideoCodecClosedError(`${what} is closed`);
  }
  if (code === "KORUS_VIDEO_OPEN") {
    return new VideoCodecOpenError(`${what}: ${msg}`);
  }
  if (e instanceof TypeError || e instanceof RangeError) {
    return e;
  }
  if (code === "KORUS_VIDEO_RANGE") {
    return new RangeError(`${what}: ${msg}`);
  }
  if (code === "KORUS_VIDEO_TYPE") {
    return new TypeError(`${what}: ${msg}`);
  }
  return new CodecError(`${what}: ${msg}`);
}
