// The one mapping from errors to gRPC status codes; unknown errors become INTERNAL and are logged.
import { Metadata, status, type ServiceError } from "@grpc/grpc-js";
import { isNkError, type NkErrorCode } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";

const CODES: Record<NkErrorCode, status> = {
  INVENTORY_INVALID: status.FAILED_PRECONDITION,
  NODE_UNKNOWN: status.NOT_FOUND,
  NODE_NOT_ENROLLED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  LEASE_HELD: status.FAILED_PRECONDITION,
  LEASE_UNKNOWN: status.NOT_FOUND,
  LEASE_FENCED: status.FAILED_PRECONDITION,
  SECRET_UNKNOWN: status.NOT_FOUND,
  REVISION_UNKNOWN: status.NOT_FOUND,
  CONFIG_INVALID: status.INVALID_ARGUMENT,
  STATE_CORRUPT: status.INTERNAL,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  TOO_LARGE: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
  NOT_LEADER: status.UNAVAILABLE,
  ROLLOUT_MOVED: status.ABORTED,
  IO: status.INTERNAL,
  INTERNAL: status.INTERNAL,
};

/** A ServiceError for the client: NkErrors keep their message and code (in metadata), others say only "internal error". */
export function toServiceError(err: unknown, log: Logger, context: Record<string, unknown> = {}): Partial<ServiceError> {
  const metadata = new Metadata();
  if (isNkError(err)) {
    metadata.set("nk-error-code", err.code);
    const code = CODES[err.code];
    if (code === status.INTERNAL) log.error({ ...context, err }, "internal error");
    return { code, details: err.message, metadata };
  }
  log.error({ ...context, err }, "unexpected error");
  metadata.set("nk-error-code", "INTERNAL");
  return { code: status.INTERNAL, details: "internal error (see coordinator log)", metadata };
}
