/**
 * Named errors of the media plane. They cross the worker channel as `{ name, message, code? }` and are rebuilt on
 * the main thread, where src/kurento/errors.ts maps each name to exactly one Kurento error code.
 */

/** An operation on an object that is released, or not in a state that allows it. */
export class InvalidStateError extends Error {
  override readonly name = "InvalidStateError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** A feature Korus does not provide (e.g. an unsupported GStreamerFilter command). */
export class UnsupportedError extends Error {
  override readonly name = "UnsupportedError";
  constructor(message: string) {
    super(message);
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * A Kurento-level failure whose code the element knows best (SDP negotiation state, ICE candidate syntax…).
 * `kurentoType` is the `data.type` name from kurento-protocol.md §5, e.g. `SDP_END_POINT_ALREADY_NEGOTIATED`.
 */
export class MediaOperationError extends Error {
  override readonly name = "MediaOperationError";
  readonly kurentoType: KurentoErrorType;
  constructor(kurentoType: KurentoErrorType, message: string) {
    super(message);
    this.kurentoType = kurentoType;
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/** The `data.type` names an element may raise through {@link MediaOperationError}. */
export type KurentoErrorType =
  | "CONNECT_ERROR"
  | "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR"
  | "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED"
  | "MEDIA_OBJECT_TAG_KEY_NOT_FOUND"
  | "SDP_CREATE_ERROR"
  | "SDP_PARSE_ERROR"
  | "SDP_END_POINT_NO_LOCAL_SDP_ERROR"
  | "SDP_END_POINT_NO_REMOTE_SDP_ERROR"
  | "SDP_END_POINT_GENERATE_OFFER_ERROR"
  | "SDP_END_POINT_PROCESS_OFFER_ERROR"
  | "SDP_END_POINT_PROCESS_ANSWER_ERROR"
  | "SDP_END_POINT_ALREADY_NEGOTIATED"
  | "SDP_END_POINT_NOT_OFFER_GENERATED"
  | "SDP_END_POINT_ANSWER_ALREADY_PROCCESED"
  | "ICE_GATHER_CANDIDATES_ERROR"
  | "ICE_ADD_CANDIDATE_ERROR"
  | "NOT_ENOUGH_RESOURCES"
  | "UNEXPECTED_ERROR";

/** Plain-data form of an error for the worker channel (architecture.md §2). */
export interface SerializedError {
  name: string;
  message: string;
  kurentoType?: string;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof MediaOperationError) {
    return { name: err.name, message: err.message, kurentoType: err.kurentoType };
  }
  if (err instanceof Error) {
    return { name: err.name, message: err.message };
  }
  return { name: "Error", message: String(err) };
}
