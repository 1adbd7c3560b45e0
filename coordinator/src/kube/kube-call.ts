// Per-call options for client-node (abort signal, patch content type). Its error text is in kube-errors.ts, which
// does not load client-node: a coordinator without Kubernetes access never loads it (1.7 s of CPU at start).
import { Observable, setHeaderOptions, type ConfigurationOptions, type ObservableMiddleware, type RequestContext, type ResponseContext } from "@kubernetes/client-node";

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
