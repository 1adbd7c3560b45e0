// Concise error text from client-node's exceptions (the apiserver's Status message and causes), without loading it.
import { errorMessage } from "../../../shared/src/errors/index.js";

/** client-node's ApiException, recognised by its shape (importing the class would load all of client-node). */
interface ApiException {
  readonly code: number;
  readonly body: unknown;
  readonly headers: unknown;
}

function isApiException(err: unknown): err is Error & ApiException {
  return err instanceof Error && typeof (err as Partial<ApiException>).code === "number" && "body" in err && "headers" in err;
}

/** HTTP status of a failed API call; undefined for network errors. */
export function statusCode(err: unknown): number | undefined {
  return isApiException(err) ? err.code : undefined;
}

interface StatusBody {
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

function statusBody(err: ApiException): StatusBody | undefined {
  let body: unknown = err.body;
  if (typeof body === "string") {
    const text = body;
    try {
      body = JSON.parse(text) as unknown;
    } catch {
      return text === "" ? undefined : { message: text };
    }
  }
  return typeof body === "object" && body !== null ? (body as StatusBody) : undefined;
}

/** The messages in a failed call's Status details.causes (a PDB 429 names the budget there). */
export function statusCauses(err: unknown): string[] {
  if (!isApiException(err)) return [];
  const causes = statusBody(err)?.details?.causes ?? [];
  return causes.map((c) => c.message).filter((m): m is string => m !== undefined && m !== "");
}

/** One line for logs and reasons: the apiserver's Status message (and causes) or the network error. */
export function kubeErrorMessage(err: unknown): string {
  if (isApiException(err)) {
    const body = statusBody(err);
    const causes = statusCauses(err);
    const text = [body?.message, ...causes].filter((m) => m !== undefined && m !== "").join("; ");
    return `HTTP ${err.code}${text === "" ? "" : `: ${text}`}`;
  }
  if (err instanceof Error && err.cause !== undefined) return `${err.message}: ${errorMessage(err.cause)}`;
  return errorMessage(err);
}
