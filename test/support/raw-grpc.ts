// gRPC calls made by hand over HTTP/2, for sending what no client library would: malformed frames and bytes.
import { constants as h2, type ClientHttp2Session } from "node:http2";

/** A length-prefixed gRPC message; `declaredLength` may lie about the payload's size. */
export function grpcFrame(payload: Buffer, declaredLength = payload.length): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(declaredLength, 1);
  return Buffer.concat([head, payload]);
}

/** One call: resolves with grpc-status from the trailers (or the headers of a trailers-only answer). */
export function rawGrpcCall(session: ClientHttp2Session, path: string, headers: Record<string, string>, body: Buffer): Promise<{ grpcStatus: number; message: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ [h2.HTTP2_HEADER_METHOD]: "POST", [h2.HTTP2_HEADER_PATH]: path, "content-type": "application/grpc", te: "trailers", ...headers });
    let grpcStatus: number | undefined;
    let message = "";
    const take = (h: Record<string, unknown>): void => {
      if (h["grpc-status"] !== undefined) grpcStatus = Number(h["grpc-status"]);
      if (typeof h["grpc-message"] === "string") message = decodeURIComponent(h["grpc-message"]);
    };
    req.on("response", take);
    req.on("trailers", take);
    req.on("data", () => undefined);
    req.on("error", reject);
    req.on("close", () => (grpcStatus === undefined ? reject(new Error(`no grpc-status for ${path}`)) : resolve({ grpcStatus, message })));
    req.end(body);
  });
}
