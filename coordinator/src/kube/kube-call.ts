// Per-call options for client-node (abort signal, patch content type) and concise error text from its exceptions.
import { ApiException, Observable, setHeaderOptions, type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext } from "@kubernetes/client-node";
import { errorMessage } from "../../../shared/src/errors/index.js";

/** Options that make one call honour `signal` and, for patches, send `contentType`. */
export function callOptions(signal?: AbortSignal, contentType?: string): ConfigurationOptions<ObservableMiddleware> | undefined {
  let options: ConfigurationOptions<ObservableMiddleware> | undefined;
  if (signal !== undefined) {
    const withSignal: ObservableMiddleware = {
      pre: (ctx: RequestContext) => {
        ctx.setSignal(signal);
        return new Observable(Promise.resolve(ctx));
      },
      post: (rsp: ResponseContext) => new Observable(Promise.resolve(rsp)),
    };
    options = { middleware: [withSignal], middlewareMergeStrategy: "append" };
  }
  return contentType === undefined ? options : setHeaderOptions("Content-Type", contentType, options);
}

/** HTTP status of a failed API call; undefined for network errors. */
export function statusCode(err: unknown): number | undefined {
  return err instanceof ApiException ? err.code : undefined;
}

interface StatusBody {
  message?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

function statusBody(err: ApiException<unknown>): StatusBody | undefined {
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
  if (!(err instanceof ApiException)) return [];
  const causes = statusBody(err)?.details?.causes ?? [];
  return causes.map((c) => c.message).filter((m): m is string => m !== undefined && m !== "");
}

/** One line for logs and reasons: the apiserver's Status message (and causes) or the network error. */
export function kubeErrorMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = statusBody(err);
    const causes = statusCauses(err);
    const text = [body?.message, ...causes].filter((m) => m !== undefined && m !== "").join("; ");
    return `HTTP ${err.code}${text === "" ? "" : `: ${text}`}`;
  }
  if (err instanceof Error && err.cause !== undefined) return `${err.message}: ${errorMessage(err.cause)}`;
  return errorMessage(err);
}
