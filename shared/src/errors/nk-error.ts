// The one error type of nk: a stable code for callers and mapping, a message for humans.

export type NkErrorCode =
  | "INVENTORY_INVALID"
  | "NODE_UNKNOWN"
  | "NODE_NOT_ENROLLED"
  | "PERMISSION_DENIED"
  | "UNAUTHENTICATED"
  | "LEASE_HELD"
  | "LEASE_UNKNOWN"
  | "LEASE_FENCED"
  | "SECRET_UNKNOWN"
  | "REVISION_UNKNOWN"
  | "CONFIG_INVALID"
  | "STATE_CORRUPT"
  | "INVALID_ARGUMENT"
  | "TOO_LARGE"
  | "UNAVAILABLE"
  | "NOT_LEADER"
  | "ROLLOUT_MOVED"
  | "IO"
  | "INTERNAL";

export class NkError extends Error {
  readonly code: NkErrorCode;

  constructor(code: NkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "NkError";
    this.code = code;
  }
}

export function isNkError(err: unknown, code?: NkErrorCode): err is NkError {
  return err instanceof NkError && (code === undefined || err.code === code);
}

/** A message for any thrown value, for logs and reports. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
