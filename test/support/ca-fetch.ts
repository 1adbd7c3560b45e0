// fetch() for the coordinator's HTTPS listener: trusts only the given CA (node's global fetch takes no CA option).
import { request } from "node:https";

export interface CaFetchInit {
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
}

/** A fetch that verifies the server against `caPem` alone and returns a standard Response (body buffered). */
export function caFetch(caPem: string): (url: string, init?: CaFetchInit) => Promise<Response> {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const req = request(url, { method: init.method ?? "GET", headers: init.headers ?? {}, ca: caPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(", ") : v);
          const status = res.statusCode ?? 0;
          resolve(new Response([204, 304].includes(status) ? null : Buffer.concat(chunks), { status, headers }));
        });
      });
      req.on("error", reject);
      req.end(init.body);
    });
}
