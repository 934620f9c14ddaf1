/**
 * The one table from Korus's error classes to Kurento error codes (kurento-protocol.md §5, architecture.md §5.6).
 *
 * Control-plane code throws {@link KurentoError} with a code name; errors coming back from media workers arrive
 * as `{ name, message, kurentoType? }` and are mapped by {@link toKurentoError}.
 */
import type { SerializedError } from "../../media/index.js";

/** Kurento error codes and their `data.type` (null: plain JSON-RPC error without data). */
export const KURENTO_ERRORS = {
  PARSE_ERROR: [-32700, null],
  INVALID_REQUEST: [-32600, null],
  METHOD_NOT_FOUND: [-32601, null],
  INVALID_PARAMS: [-32602, "INVALID_PARAMS"],
  INTERNAL_ERROR: [-32603, null],
  SERVER_ERROR: [-32000, null],
  MARSHALL_ERROR: [40001, "MARSHALL_ERROR"],
  UNEXPECTED_ERROR: [40003, "UNEXPECTED_ERROR"],
  CONNECT_ERROR: [40004, "CONNECT_ERROR"],
  UNSUPPORTED_MEDIA_TYPE: [40005, "UNSUPPORTED_MEDIA_TYPE"],
  NOT_IMPLEMENTED: [40006, "NOT_IMPLEMENTED"],
  INVALID_SESSION: [40007, "INVALID_SESSION"],
  MALFORMED_TRANSACTION: [40008, "MALFORMED_TRANSACTION"],
  NOT_ENOUGH_RESOURCES: [40009, "NOT_ENOUGH_RESOURCES"],
  MEDIA_OBJECT_TYPE_NOT_FOUND: [40100, "MEDIA_OBJECT_TYPE_NOT_FOUND"],
  MEDIA_OBJECT_NOT_FOUND: [40101, "MEDIA_OBJECT_NOT_FOUND"],
  MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND: [40104, "MEDIA_OBJECT_CONSTRUCTOR_NOT_FOUND"],
  MEDIA_OBJECT_METHOD_NOT_FOUND: [40105, "MEDIA_OBJECT_METHOD_NOT_FOUND"],
  MEDIA_OBJECT_EVENT_NOT_SUPPORTED: [40106, "MEDIA_OBJECT_EVENT_NOT_SUPPORTED"],
  MEDIA_OBJECT_ILLEGAL_PARAM_ERROR: [40107, "MEDIA_OBJECT_ILLEGAL_PARAM_ERROR"],
  MEDIA_OBJECT_NOT_AVAILABLE: [40108, "MEDIA_OBJECT_NOT_AVAILABLE"],
  MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT: [40109, "MEDIA_OBJECT_NOT_FOUND_TRANSACTION_NO_COMMIT"],
  MEDIA_OBJECT_TAG_KEY_NOT_FOUND: [40110, "MEDIA_OBJECT_TAG_KEY_NOT_FOUND"],
  MEDIA_OBJECT_OPERATION_NOT_SUPPORTED: [40111, "MEDIA_OBJECT_OPERATION_NOT_SUPPORTED"],
  SDP_CREATE_ERROR: [40200, "SDP_CREATE_ERROR"],
  SDP_PARSE_ERROR: [40201, "SDP_PARSE_ERROR"],
  SDP_END_POINT_NO_LOCAL_SDP_ERROR: [40202, "SDP_END_POINT_NO_LOCAL_SDP_ERROR"],
  SDP_END_POINT_NO_REMOTE_SDP_ERROR: [40203, "SDP_END_POINT_NO_REMOTE_SDP_ERROR"],
  SDP_END_POINT_GENERATE_OFFER_ERROR: [40204, "SDP_END_POINT_GENERATE_OFFER_ERROR"],
  SDP_END_POINT_PROCESS_OFFER_ERROR: [40205, "SDP_END_POINT_PROCESS_OFFER_ERROR"],
  SDP_END_POINT_PROCESS_ANSWER_ERROR: [40206, "SDP_END_POINT_PROCESS_ANSWER_ERROR"],
  SDP_CONFIGURATION_ERROR: [40207, "SDP_CONFIGURATION_ERROR"],
  SDP_END_POINT_ALREADY_NEGOTIATED: [40208, "SDP_END_POINT_ALREADY_NEGOTIATED"],
  SDP_END_POINT_NOT_OFFER_GENERATED: [40209, "SDP_END_POINT_NOT_OFFER_GENERATED"],
  SDP_END_POINT_ANSWER_ALREADY_PROCCESED: [40210, "SDP_END_POINT_ANSWER_ALREADY_PROCCESED"],
  SDP_END_POINT_CANNOT_CREATE_SESSON: [40211, "SDP_END_POINT_CANNOT_CREATE_SESSON"],
  ICE_GATHER_CANDIDATES_ERROR: [40400, "ICE_GATHER_CANDIDATES_ERROR"],
  ICE_ADD_CANDIDATE_ERROR: [40401, "ICE_ADD_CANDIDATE_ERROR"],
  SERVER_MANAGER_ERROR_KMD_NOT_FOUND: [40500, "SERVER_MANAGER_ERROR_KMD_NOT_FOUND"],
} as const satisfies Record<string, readonly [number, string | null]>;

export type KurentoErrorName = keyof typeof KURENTO_ERRORS;

export interface JsonRpcErrorBody {
  code: number;
  message: string;
  data?: { type: string };
}

/** Longest client-supplied text (an id, a type or method name) echoed in an error message. */
export const MAX_ECHO_CHARS = 128;
/** Longest error message answered to a client (worker messages included). */
export const MAX_MESSAGE_CHARS = 512;

/**
 * Client-supplied text as it may appear in an error message or a log line: at most {@link MAX_ECHO_CHARS}
 * characters, with an ellipsis and the full length when cut (a 900 KiB id must not come back 900 KiB long).
 */
export function clip(text: string, max = MAX_ECHO_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max)}…(${text.length} chars)`;
}

/** An error answered to the client with a Kurento code. Its message is cut at {@link MAX_MESSAGE_CHARS}. */
export class KurentoError extends Error {
  override readonly name = "KurentoError";
  readonly kind: KurentoErrorName;
  constructor(kind: KurentoErrorName, message: string) {
    super(clip(message, MAX_MESSAGE_CHARS));
    this.kind = kind;
    Object.setPrototypeOf(this, new.target.prototype);
  }

  get code(): number {
    return KURENTO_ERRORS[this.kind][0];
  }

  toJson(): JsonRpcErrorBody {
    const [code, type] = KURENTO_ERRORS[this.kind];
    return type === null ? { code, message: this.message } : { code, message: this.message, data: { type } };
  }
}

const isKurentoName = (s: string): s is KurentoErrorName => Object.hasOwn(KURENTO_ERRORS, s);

/**
 * Maps any error (a KurentoError, a worker's SerializedError, a TypeError from validation) to the Kurento error
 * the client gets.
 */
export function toKurentoError(err: unknown): KurentoError {
  if (err instanceof KurentoError) {
    return err;
  }
  const e = err as Partial<SerializedError> | undefined;
  const message = typeof e?.message === "string" && e.message !== "" ? e.message : String(err);
  if (typeof e?.kurentoType === "string" && isKurentoName(e.kurentoType)) {
    return new KurentoError(e.kurentoType, message);
  }
  switch (e?.name) {
    case "InvalidStateError": {
      return new KurentoError("MEDIA_OBJECT_NOT_FOUND", message);
    }
    case "UnsupportedError": {
      return new KurentoError("MEDIA_OBJECT_OPERATION_NOT_SUPPORTED", message);
    }
    case "TypeError":
    case "RangeError": {
      return new KurentoError("MARSHALL_ERROR", message);
    }
    case "SdpParseError": {
      return new KurentoError("SDP_PARSE_ERROR", message);
    }
    case "RecordingUriError": {
      return new KurentoError("MEDIA_OBJECT_ILLEGAL_PARAM_ERROR", message);
    }
    default: {
      return new KurentoError("UNEXPECTED_ERROR", message);
    }
  }
}
