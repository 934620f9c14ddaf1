/**
 * MINIMAL LOCAL STAND-IN (rec-core branch) for the durable side's media/record/target.ts: same exports and
 * signatures; the lead keeps the durable side's file at merge. Files only: http(s) URIs are refused here.
 */
import { MediaOperationError } from "../errors.js";
import { confinedWritePath } from "../files/confine.js";

export type RecordingTarget = { kind: "file"; path: string } | { kind: "upload"; path: string; uri: string };

export interface RecordingAccess {
  recordingsRoot: string;
}

/** A recording URI Korus refuses (MEDIA_OBJECT_ILLEGAL_PARAM_ERROR). */
export class RecordingUriError extends MediaOperationError {
  constructor(message: string) {
    super("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

export async function resolveRecordingTarget(
  uri: string,
  access: RecordingAccess,
  _profileExt: string,
): Promise<RecordingTarget> {
  if (typeof uri !== "string" || uri === "" || access.recordingsRoot === "") {
    throw new RecordingUriError("RecorderEndpoint needs a 'uri' and a recordings root");
  }
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(uri)?.[1]?.toLowerCase();
  if (scheme !== undefined && scheme !== "file") {
    throw new RecordingUriError(`unsupported recording URI scheme '${scheme}'`);
  }
  try {
    return { kind: "file", path: await confinedWritePath(uri, access.recordingsRoot) };
  } catch (err) {
    throw new RecordingUriError(`cannot record to '${uri.slice(0, 128)}': ${(err as Error).message}`);
  }
}
