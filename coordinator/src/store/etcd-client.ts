// Builds the etcd3 client from the coordinator's etcd config: endpoints, TLS/mTLS, user auth, call deadlines.
import { readFile } from "node:fs/promises";
import { Etcd3 } from "etcd3";
import { NkError } from "../../../shared/src/errors/index.js";

/**
 * Node tokens hashes, leases and the cluster's secrets (e.g. the k3s join token) live in etcd, so
 * a production etcd must be secured: https endpoints with a CA (`tls.caFile`), client
 * certificates (mTLS) or user auth, and a role limited to the coordinator's key prefix.
 */
export interface EtcdConnectionOptions {
  /** e.g. ["https://10.0.0.1:2379", "https://10.0.0.2:2379"]. */
  endpoints: string[];
  tls?: { caFile: string; certFile?: string; keyFile?: string };
  /** etcd user auth; the password is read from a file, never given inline. */
  auth?: { username: string; passwordFile: string };
  /** Deadline of each unary call, so an outage fails calls with UNAVAILABLE instead of hanging (default 5 s). */
  callTimeoutMs?: number;
  dialTimeoutMs?: number;
}

async function readConfigFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new NkError("CONFIG_INVALID", `etcd ${what} ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function createEtcdClient(options: EtcdConnectionOptions): Promise<Etcd3> {
  if (options.endpoints.length === 0) throw new NkError("CONFIG_INVALID", "etcd.endpoints: at least one endpoint is needed");
  const plain = options.endpoints.filter((e) => !e.startsWith("https://"));
  if (options.tls && plain.length > 0) throw new NkError("CONFIG_INVALID", `etcd.endpoints: with tls every endpoint must be https://, not ${plain.join(", ")}`);
  if (options.tls && Boolean(options.tls.certFile) !== Boolean(options.tls.keyFile)) throw new NkError("CONFIG_INVALID", "etcd.tls: certFile and keyFile go together");
  const timeout = options.callTimeoutMs ?? 5_000;
  const credentials = options.tls && {
    rootCertificate: await readConfigFile(options.tls.caFile, "tls.caFile"),
    ...(options.tls.certFile && { certChain: await readConfigFile(options.tls.certFile, "tls.certFile") }),
    ...(options.tls.keyFile && { privateKey: await readConfigFile(options.tls.keyFile, "tls.keyFile") }),
  };
  const auth = options.auth && {
    username: options.auth.username,
    password: (await readConfigFile(options.auth.passwordFile, "auth.passwordFile")).toString("utf8").trim(),
  };
  return new Etcd3({
    hosts: options.endpoints,
    ...(credentials && { credentials }),
    ...(auth && { auth }),
    ...(options.dialTimeoutMs !== undefined && { dialTimeout: options.dialTimeoutMs }),
    // Streams (watches, lease keep-alives) live long; only unary calls get a deadline.
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
  });
}
