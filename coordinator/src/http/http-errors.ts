// Maps anything thrown in a route to an HTTP status and a JSON body `{ code, message }`; never a stack trace.
import type { FastifyError, FastifyReply } from "fastify";
import { isNkError, type NkErrorCode } from "../../../shared/src/errors/index.js";

export interface HttpError {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  /** Unexpected failures are logged with their cause; the client only sees "internal error". */
  readonly unexpected: boolean;
}

const STATUS_BY_CODE: Partial<Record<NkErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  INVENTORY_INVALID: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NODE_UNKNOWN: 404,
  LEASE_UNKNOWN: 404,
  REVISION_UNKNOWN: 404,
  SECRET_UNKNOWN: 404,
  NODE_NOT_ENROLLED: 409,
  LEASE_HELD: 409,
  LEASE_FENCED: 409,
  TOO_LARGE: 413,
  UNAVAILABLE: 503,
  NOT_LEADER: 503,
  ROLLOUT_MOVED: 409,
};

const CODE_BY_STATUS: Record<number, string> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  406: "NOT_ACCEPTABLE",
  413: "TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  429: "TOO_MANY_REQUESTS",
  503: "UNAVAILABLE",
};

const INTERNAL: HttpError = { status: 500, code: "INTERNAL", message: "internal error", unexpected: true };

function isFastifyError(err: unknown): err is FastifyError {
  return err instanceof Error && typeof (err as Partial<FastifyError>).statusCode === "number";
}

/** The one mapping from errors to responses for the whole HTTP surface. */
export function httpErrorFor(err: unknown): HttpError {
  if (isNkError(err)) {
    const status = STATUS_BY_CODE[err.code];
    return status === undefined ? INTERNAL : { status, code: err.code, message: err.message, unexpected: false };
  }
  // Fastify's own 4xx errors (schema validation, body too large, bad JSON) carry messages written for clients.
  if (isFastifyError(err) && err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500) {
    return { status: err.statusCode, code: CODE_BY_STATUS[err.statusCode] ?? "BAD_REQUEST", message: err.message, unexpected: false };
  }
  return INTERNAL;
}

export function sendError(reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  return reply.code(status).header("cache-control", "no-store").type("application/json; charset=utf-8").send({ code, message });
}
