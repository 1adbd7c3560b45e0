import type { Metadata } from "@grpc/grpc-js";

/** Calls a unary admin RPC as a promise. */
export function adminCall<Req, Res>(
  fn: (req: Req, md: Metadata, cb: (err: Error | null, res: Res) => void) => unknown,
  req: Req,
  md: Metadata,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, md, (err, res) => (err ? reject(err) : resolve(res))));
}
