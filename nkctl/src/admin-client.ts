// AdminService over gRPC+TLS: the admin token on every call, a deadline on every unary call, errors in words.
import { credentials, Metadata, status, type CallOptions, type ClientUnaryCall, type ServiceError } from "@grpc/grpc-js";
import { NkError, type NkErrorCode } from "../../shared/src/errors/index.js";
import {
  AdminServiceClient,
  type AdminServiceReleaseLeaseRequest,
  type CreateTokenResponse,
  type ListTokensResponse,
  type AdminServiceReleaseLeaseResponse,
  type DiffManifestsResponse,
  type DiffResponse,
  type DeletePlanResponse,
  type GetPlanResponse,
  type ListPlansResponse,
  type EnrollNodeResponse,
  type EnrollNodesResponse,
  type GetBuildLogResponse,
  type GetManifestsResponse,
  type GetStatusResponse,
  type ListLeasesResponse,
  type ListNodesResponse,
  type ListSecretsResponse,
  type PauseRolloutResponse,
  type RenderResponse,
  type ResumeRolloutResponse,
  type ApproveRolloutResponse,
  type WatchEventsRequest,
} from "../../shared/src/proto/gen/nk/v1/admin.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { AUTH_HEADER, bearer } from "../../shared/src/wire/index.js";
import type { CliContext, GlobalOptions } from "./cli-context.js";
import { loadConnection, type Connection } from "./config.js";

export const UNARY_DEADLINE_MS = 10_000;
/** Calls that talk to Kubernetes object by object (an apply may wait a minute for a CRD). */
const KUBE_DEADLINE_MS = 120_000;

export interface AdminApi {
  readonly address: string;
  getStatus(): Promise<GetStatusResponse>;
  listNodes(): Promise<ListNodesResponse>;
  listLeases(): Promise<ListLeasesResponse>;
  releaseLease(req: AdminServiceReleaseLeaseRequest): Promise<AdminServiceReleaseLeaseResponse>;
  pauseRollout(reason: string): Promise<PauseRolloutResponse>;
  resumeRollout(): Promise<ResumeRolloutResponse>;
  approveRollout(): Promise<ApproveRolloutResponse>;
  enrollNode(node: string): Promise<EnrollNodeResponse>;
  enrollNodes(nodes: readonly string[]): Promise<EnrollNodesResponse>;
  setSecret(name: string, value: Buffer): Promise<void>;
  listSecrets(): Promise<ListSecretsResponse>;
  render(revision: string, node: string): Promise<RenderResponse>;
  diff(fromRevision: string, toRevision: string, node: string): Promise<DiffResponse>;
  /** live: the coordinator also reads every object from the cluster (exists, in sync, health). */
  getManifests(live: boolean): Promise<GetManifestsResponse>;
  diffManifests(revision: string): Promise<DiffManifestsResponse>;
  applyManifests(): Promise<GetManifestsResponse>;
  createToken(name: string, role: string): Promise<CreateTokenResponse>;
  listTokens(): Promise<ListTokensResponse>;
  revokeToken(name: string): Promise<void>;
  rotateNodeToken(node: string): Promise<EnrollNodeResponse>;
  listPlans(): Promise<ListPlansResponse>;
  getPlan(name: string): Promise<GetPlanResponse>;
  deletePlan(name: string): Promise<DeletePlanResponse>;
  /** revision: a commit id prefix, or "" for the node's newest build. */
  getBuildLog(node: string, revision: string): Promise<GetBuildLogResponse>;
  /**
   * Streams events until the server ends the stream (resolves), `signal` aborts (resolves) or the
   * call fails (rejects). `onOpen` fires once the coordinator has answered.
   */
  watchEvents(req: WatchEventsRequest, handlers: { onEvent: (e: Event) => void; onOpen?: () => void }, signal: AbortSignal): Promise<void>;
  close(): void;
}

const KNOWN_CODES: ReadonlySet<string> = new Set<NkErrorCode>([
  "INVENTORY_INVALID", "NODE_UNKNOWN", "NODE_NOT_ENROLLED", "PERMISSION_DENIED", "UNAUTHENTICATED", "LEASE_HELD", "LEASE_UNKNOWN",
  "LEASE_FENCED", "SECRET_UNKNOWN", "REVISION_UNKNOWN", "CONFIG_INVALID", "STATE_CORRUPT", "INVALID_ARGUMENT", "TOO_LARGE",
  "UNAVAILABLE", "NOT_LEADER", "IO", "INTERNAL",
]);

/** Turns a gRPC failure into an NkError; the coordinator sends its own code in `nk-error-code`. */
export function toNkError(err: ServiceError, address: string, deadlineMs = UNARY_DEADLINE_MS): NkError {
  const details = (err.details || err.message).replace(/\.?\s*Resolution note:\s*$/, "");
  const sent = err.metadata?.get("nk-error-code")[0];
  const nkCode = typeof sent === "string" && KNOWN_CODES.has(sent) ? (sent as NkErrorCode) : undefined;
  switch (err.code) {
    case status.UNAVAILABLE:
      if (nkCode === "NOT_LEADER") return new NkError("NOT_LEADER", `the coordinator at ${address} is not the leader: ${details}`, { cause: err });
      // A CA mismatch surfaces as UNAVAILABLE too; say where to look.
      const hint = /certificate|SSL|TLS|handshake/i.test(details)
        ? " (is the CA file the coordinator's tls/ca.crt, and does its certificate name this host?)"
        : /ECONNREFUSED/.test(details)
          ? " (connection refused: is the coordinator running, and is this its gRPC port, 7443 by default?)"
          : "";
      return new NkError("UNAVAILABLE", `cannot reach coordinator at ${address}: ${details}${hint}`, { cause: err });
    case status.DEADLINE_EXCEEDED:
      return new NkError("UNAVAILABLE", `the coordinator at ${address} did not answer within ${deadlineMs / 1000} s`, { cause: err });
    case status.UNAUTHENTICATED:
      return new NkError("UNAUTHENTICATED", `the admin token was refused by the coordinator at ${address} (${details})`, { cause: err });
    case status.PERMISSION_DENIED:
      return new NkError("PERMISSION_DENIED", `permission denied by the coordinator at ${address}: ${details}`, { cause: err });
    case status.NOT_FOUND:
      return new NkError(nkCode ?? "NODE_UNKNOWN", details, { cause: err });
    case status.INVALID_ARGUMENT:
      return new NkError(nkCode ?? "INVALID_ARGUMENT", details, { cause: err });
    default:
      return new NkError(nkCode ?? "INTERNAL", `coordinator: ${details}`, { cause: err });
  }
}

type UnaryMethod<Req, Res> = (req: Req, md: Metadata, opts: Partial<CallOptions>, cb: (err: ServiceError | null, res: Res) => void) => ClientUnaryCall;

export function createAdminClient(conn: Connection): AdminApi {
  const channel = conn.caPem === null ? credentials.createInsecure() : credentials.createSsl(conn.caPem);
  const client = new AdminServiceClient(conn.address, channel, {
    // Render answers carry every bundle of a revision.
    "grpc.max_receive_message_length": 512 * 1024 * 1024,
    // Notices a dead coordinator during `events -f` without waiting for TCP timeouts.
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
  });
  const metadata = (): Metadata => {
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(conn.token));
    return md;
  };
  const unary = <Req, Res>(method: UnaryMethod<Req, Res>, req: Req, deadlineMs = UNARY_DEADLINE_MS): Promise<Res> =>
    new Promise((resolve, reject) => {
      method.call(client, req, metadata(), { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(toNkError(err, conn.address, deadlineMs)) : resolve(res),
      );
    });
  return {
    address: conn.address,
    getStatus: () => unary(client.getStatus as UnaryMethod<object, GetStatusResponse>, {}),
    listNodes: () => unary(client.listNodes as UnaryMethod<object, ListNodesResponse>, {}),
    listLeases: () => unary(client.listLeases as UnaryMethod<object, ListLeasesResponse>, {}),
    releaseLease: (req) => unary(client.releaseLease as UnaryMethod<AdminServiceReleaseLeaseRequest, AdminServiceReleaseLeaseResponse>, req),
    pauseRollout: (reason) => unary(client.pauseRollout as UnaryMethod<{ reason: string }, PauseRolloutResponse>, { reason }),
    resumeRollout: () => unary(client.resumeRollout as UnaryMethod<object, ResumeRolloutResponse>, {}),
    approveRollout: () => unary(client.approveRollout as UnaryMethod<object, ApproveRolloutResponse>, {}),
    enrollNode: (node) => unary(client.enrollNode as UnaryMethod<{ node: string }, EnrollNodeResponse>, { node }),
    enrollNodes: (nodes) => unary(client.enrollNodes as UnaryMethod<{ nodes: string[] }, EnrollNodesResponse>, { nodes: [...nodes] }),
    setSecret: async (name, value) => {
      await unary(client.setSecret as UnaryMethod<{ name: string; value: Buffer }, object>, { name, value });
    },
    listSecrets: () => unary(client.listSecrets as UnaryMethod<object, ListSecretsResponse>, {}),
    render: (revision, node) => unary(client.render as UnaryMethod<{ revision: string; node: string }, RenderResponse>, { revision, node }),
    diff: (fromRevision, toRevision, node) =>
      unary(client.diff as UnaryMethod<{ fromRevision: string; toRevision: string; node: string }, DiffResponse>, { fromRevision, toRevision, node }),
    getManifests: (live) => unary(client.getManifests as UnaryMethod<{ live: boolean }, GetManifestsResponse>, { live }, live ? KUBE_DEADLINE_MS : UNARY_DEADLINE_MS),
    diffManifests: (revision) => unary(client.diffManifests as UnaryMethod<{ revision: string }, DiffManifestsResponse>, { revision }, KUBE_DEADLINE_MS),
    applyManifests: () => unary(client.applyManifests as UnaryMethod<object, GetManifestsResponse>, {}, KUBE_DEADLINE_MS),
    createToken: (name, role) => unary(client.createToken as UnaryMethod<{ name: string; role: string }, CreateTokenResponse>, { name, role }),
    listTokens: () => unary(client.listTokens as UnaryMethod<object, ListTokensResponse>, {}),
    listPlans: () => unary(client.listPlans as UnaryMethod<object, ListPlansResponse>, {}),
    getPlan: (name) => unary(client.getPlan as UnaryMethod<{ name: string }, GetPlanResponse>, { name }),
    deletePlan: (name) => unary(client.deletePlan as UnaryMethod<{ name: string }, DeletePlanResponse>, { name }),
    revokeToken: async (name) => void (await unary(client.revokeToken as UnaryMethod<{ name: string }, object>, { name })),
    rotateNodeToken: (node) => unary(client.rotateNodeToken as UnaryMethod<{ node: string }, EnrollNodeResponse>, { node }),
    getBuildLog: (node, revision) => unary(client.getBuildLog as UnaryMethod<{ node: string; revision: string }, GetBuildLogResponse>, { node, revision }),
    watchEvents: (req, handlers, signal) =>
      new Promise<void>((resolve, reject) => {
        if (signal.aborted) return resolve();
        // Only a one-shot tail gets a deadline; a follow stream lives until Ctrl-C.
        const call = client.watchEvents(req, metadata(), req.follow ? {} : { deadline: Date.now() + UNARY_DEADLINE_MS });
        let cancelled = false;
        const onAbort = (): void => {
          cancelled = true;
          call.cancel();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        const done = (err?: ServiceError): void => {
          signal.removeEventListener("abort", onAbort);
          if (err && !(cancelled && err.code === status.CANCELLED)) reject(toNkError(err, conn.address));
          else resolve();
        };
        call.on("metadata", () => handlers.onOpen?.());
        call.on("data", (msg: { event?: Event }) => {
          if (msg.event) handlers.onEvent(msg.event);
        });
        call.on("error", (err: ServiceError) => done(err));
        call.on("end", () => done());
      }),
    close: () => client.close(),
  };
}

/** Connects with the configured settings, runs `fn` and closes the channel whatever happens. */
export async function withAdmin<T>(ctx: CliContext, opts: GlobalOptions, fn: (api: AdminApi) => Promise<T>): Promise<T> {
  const api = createAdminClient(await loadConnection(opts, ctx));
  try {
    return await fn(api);
  } finally {
    api.close();
  }
}
