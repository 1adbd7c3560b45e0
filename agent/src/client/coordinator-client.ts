// The agent's connection to the coordinator(s): authenticated calls, failover across addresses, typed results.
import { connectivityState, credentials, Metadata, status, type CallOptions, type ChannelCredentials, type ServiceError } from "@grpc/grpc-js";
import { NkError } from "../../../shared/src/errors/index.js";
import type { BuildJob, BuildJobResult } from "../build/builder.js";
import {
  AgentServiceClient,
  type AcquireLeaseRequest,
  type HelloRequest,
  type HelloResponse,
  type FetchSecretsRequest,
  type FetchSecretsResponse,
  type ReleaseLeaseRequest,
  type ReleaseLeaseResponse,
  type ReattachLeaseRequest,
  type ReattachLeaseResponse,
  type RenewLeaseRequest,
  type RenewLeaseResponse,
  type ReportCheckResultRequest,
  type ReportCheckResultResponse,
  type ReportPreviewRequest,
  type ReportPreviewResponse,
  type ReportRequest,
  type ReportResponse,
  type AcquireLeaseResponse,
  type WatchCheckRequestsResponse,
  type WatchDesiredResponse,
  type WatchBuildJobsResponse,
  type ReportBuildRequest,
  type ReportBuildResponse,
} from "../../../shared/src/proto/gen/nk/v1/agent.js";
import {
  AUTH_HEADER,
  NODE_HEADER,
  bearer,
  desiredFromWire,
  leaseFromWire,
  leaseStateToWire,
  previewOutcomeToWire,
  type DesiredBundle,
  type LeaseInfo,
  type LeaseStateName,
  type PreviewResult,
} from "../../../shared/src/wire/index.js";

/** What the desired stream carries: the node's desired bundle, or a build-only preview request. */
export type DesiredOrPreview =
  | { readonly kind: "desired"; readonly desired: DesiredBundle }
  | { readonly kind: "preview"; readonly name: string; readonly cancel: boolean; readonly desired: DesiredBundle | null };

export interface CoordinatorClientOptions {
  /** host:port of every coordinator; calls fail over to the next on UNAVAILABLE. */
  readonly addresses: readonly string[];
  readonly node: string;
  readonly token: string;
  /** PEM of the coordinator CA the agent pins; "insecure" only for plaintext test setups. */
  readonly ca: string | "insecure";
  readonly callTimeoutMs?: number;
  /** How long a stream may wait for its connection before that channel is replaced (default 10 s; see openStream). */
  readonly streamStartMs?: number;
}

export interface ServerStream<T> {
  on(event: "data", listener: (value: T) => void): this;
  on(event: "error", listener: (err: ServiceError) => void): this;
  on(event: "end", listener: () => void): this;
  cancel(): void;
}

/** Errors the caller can act on: the coordinator is away, or it refused the request. */
export function isUnavailable(err: unknown): boolean {
  const code = (err as ServiceError | undefined)?.code;
  return code === status.UNAVAILABLE || code === status.DEADLINE_EXCEEDED || code === status.CANCELLED;
}

export function nkCodeOf(err: unknown): string | undefined {
  const value = (err as ServiceError | undefined)?.metadata?.get("nk-error-code")[0];
  return typeof value === "string" ? value : undefined;
}

export class CoordinatorClient {
  private readonly clients: AgentServiceClient[];
  private current = 0;

  constructor(private readonly options: CoordinatorClientOptions) {
    if (options.addresses.length === 0) throw new NkError("CONFIG_INVALID", "at least one coordinator address is required");
    this.clients = options.addresses.map((address) => this.connect(address));
  }

  private connect(address: string): AgentServiceClient {
    const creds: ChannelCredentials = this.options.ca === "insecure" ? credentials.createInsecure() : credentials.createSsl(Buffer.from(this.options.ca));
    return new AgentServiceClient(address, creds, {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
      "grpc.keepalive_time_ms": 20_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      // Reconnects are driven by the agent's own jittered backoff.
      "grpc.initial_reconnect_backoff_ms": 500,
      "grpc.max_reconnect_backoff_ms": 5_000,
    });
  }

  get address(): string {
    return this.options.addresses[this.current]!;
  }

  private metadata(): Metadata {
    const md = new Metadata();
    md.set(AUTH_HEADER, bearer(this.options.token));
    md.set(NODE_HEADER, this.options.node);
    return md;
  }

  private callOptions(): CallOptions {
    return { deadline: Date.now() + (this.options.callTimeoutMs ?? 10_000) };
  }

  /** Moves to the next coordinator address (after the current one proved unavailable). */
  failover(): void {
    this.renewUnlessReady(this.current);
    this.current = (this.current + 1) % this.clients.length;
  }

  /**
   * A channel that is not connected is replaced by a fresh one. grpc-js can leave a channel in CONNECTING for
   * good when the server went away during the handshake (grpc/grpc-node#2785); every call then waits for a pick
   * until its deadline, and the node never reconnects (found by the long chaos run: an agent killed while its
   * coordinator restarted stayed cut off for minutes while every other node reconnected).
   */
  private renewUnlessReady(i: number): void {
    const client = this.clients[i]!;
    if (client.getChannel().getConnectivityState(false) === connectivityState.READY) return;
    client.close();
    this.clients[i] = this.connect(this.options.addresses[i]!);
  }

  /**
   * Opens a server stream on the current address. A stream has no deadline, so one queued on a channel that never
   * connects would wait for good (grpc/grpc-node#2785; HA chaos seed 26200265: an agent restarted while cut off
   * opened its lease stream on such a channel, and its granted lease sat unheard for 100 s). If it is still waiting
   * after streamStartMs on a channel that is not ready, the channel is replaced: the stream ends with UNAVAILABLE
   * ("Channel closed before call started") and its owner retries, on the next address. A stream on a ready channel
   * that the coordinator has not answered yet is left alone: keepalive covers the connection.
   */
  private openStream<W>(open: (client: AgentServiceClient) => RawStream<W>): RawStream<W> {
    const i = this.current;
    const client = this.clients[i]!;
    const call = open(client);
    const timer = setTimeout(() => {
      if (this.clients[i] === client) this.renewUnlessReady(i);
    }, this.options.streamStartMs ?? 10_000);
    timer.unref();
    const answered = (): void => clearTimeout(timer);
    call.on("metadata", answered);
    call.on("status", answered);
    return call;
  }

  private unary<Req, Res>(call: (client: AgentServiceClient, req: Req, md: Metadata, opts: CallOptions, cb: (err: ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    const attempt = (left: number): Promise<Res> =>
      new Promise<Res>((resolve, reject) => {
        call(this.clients[this.current]!, req, this.metadata(), this.callOptions(), (err, res) => (err ? reject(err) : resolve(res)));
      }).catch((err: unknown) => {
        if (left > 0 && isUnavailable(err)) {
          this.failover();
          return attempt(left - 1);
        }
        throw err;
      });
    return attempt(this.clients.length - 1);
  }

  hello(req: Omit<HelloRequest, "node">): Promise<HelloResponse> {
    return this.unary((c, r: HelloRequest, md, o, cb) => c.hello(r, md, o, cb), { ...req, node: this.options.node });
  }

  report(req: Omit<ReportRequest, "node">): Promise<ReportResponse> {
    return this.unary((c, r: ReportRequest, md, o, cb) => c.report(r, md, o, cb), { ...req, node: this.options.node });
  }

  /** `etcdSnapshot`: the snapshot just saved before this phase, recorded on the lease; empty when none. */
  async renewLease(fencingToken: number, state: LeaseStateName, bootId: string, etcdSnapshot = ""): Promise<LeaseInfo> {
    const request = { node: this.options.node, fencingToken, state: leaseStateToWire(state), bootId, etcdSnapshot };
    const res = await this.unary<RenewLeaseRequest, RenewLeaseResponse>((c, r, md, o, cb) => c.renewLease(r, md, o, cb), request);
    if (!res.lease) throw new NkError("INTERNAL", "RenewLease answered without a lease");
    return leaseFromWire(res.lease);
  }

  async releaseLease(fencingToken: number, success: boolean, reason: string): Promise<boolean> {
    const res = await this.unary<ReleaseLeaseRequest, ReleaseLeaseResponse>((c, r, md, o, cb) => c.releaseLease(r, md, o, cb), { node: this.options.node, fencingToken, success, reason });
    return res.released;
  }

  /** The explicit, audited way back to this node's lease after losing its token; null when the node holds none. */
  async reattachLease(reason: string): Promise<LeaseInfo | null> {
    const res = await this.unary<ReattachLeaseRequest, ReattachLeaseResponse>((c, r, md, o, cb) => c.reattachLease(r, md, o, cb), { node: this.options.node, reason });
    return res.lease ? leaseFromWire(res.lease) : null;
  }

  async fetchSecrets(names: readonly string[]): Promise<Map<string, Buffer>> {
    const res = await this.unary<FetchSecretsRequest, FetchSecretsResponse>((c, r, md, o, cb) => c.fetchSecrets(r, md, o, cb), { node: this.options.node, names: [...names] });
    return new Map(res.secrets.map((s) => [s.name, Buffer.from(s.value)]));
  }

  async reportCheckResult(requestId: string, result: { name: string; ok: boolean; message: string; observedAtMs: number }): Promise<void> {
    await this.unary<ReportCheckResultRequest, ReportCheckResultResponse>((c, r, md, o, cb) => c.reportCheckResult(r, md, o, cb), { node: this.options.node, requestId, result });
  }

  /** Opens a WatchDesired stream on the current address; the caller handles reconnects. */
  watchDesired(knownSha256: string): ServerStream<DesiredBundle> {
    const call = this.openStream((c) => c.watchDesired({ node: this.options.node, knownSha256 }, this.metadata()));
    return mapStream<WatchDesiredResponse, DesiredBundle>(call, (m) => (m.desired ? desiredFromWire(m.desired) : undefined));
  }

  /** The same stream with preview requests too (a coordinator of an older version sends none). */
  watchDesiredAndPreviews(knownSha256: string): ServerStream<DesiredOrPreview> {
    const call = this.openStream((c) => c.watchDesired({ node: this.options.node, knownSha256 }, this.metadata()));
    return mapStream<WatchDesiredResponse, DesiredOrPreview>(call, (m) => {
      if (m.desired) return { kind: "desired", desired: desiredFromWire(m.desired) };
      if (m.preview) return { kind: "preview", name: m.preview.name, cancel: m.preview.cancel, desired: m.preview.desired ? desiredFromWire(m.preview.desired) : null };
      return undefined;
    });
  }

  async reportPreview(r: PreviewResult): Promise<void> {
    const req: ReportPreviewRequest = {
      node: this.options.node,
      name: r.name,
      bundleSha256: r.sha256,
      outcome: previewOutcomeToWire(r.outcome),
      reason: r.reason,
      units: [...r.units],
      changes: r.changes.map((c) => ({ ...c })),
      logTail: r.logTail,
      systemPath: r.systemPath,
    };
    await this.unary<ReportPreviewRequest, ReportPreviewResponse>((c, q, md, o, cb) => c.reportPreview(q, md, o, cb), req);
  }

  acquireLease(req: Omit<AcquireLeaseRequest, "node">): ServerStream<LeaseInfo> {
    const call = this.openStream((c) => c.acquireLease({ ...req, node: this.options.node }, this.metadata()));
    return mapStream<AcquireLeaseResponse, LeaseInfo>(call, (m) => (m.lease ? leaseFromWire(m.lease) : undefined));
  }

  watchCheckRequests(): ServerStream<WatchCheckRequestsResponse> {
    return mapStream<WatchCheckRequestsResponse, WatchCheckRequestsResponse>(this.openStream((c) => c.watchCheckRequests({ node: this.options.node }, this.metadata())), (m) => m);
  }

  /** Builders mode: the jobs assigned to this node as a builder. */
  watchBuildJobs(): ServerStream<BuildJob> {
    const call = this.openStream((c) => c.watchBuildJobs({ node: this.options.node }, this.metadata()));
    return mapStream<WatchBuildJobsResponse, BuildJob>(call, (m) => ({
      node: m.targetNode,
      revision: m.revision,
      bundleSha256: m.bundleSha256,
      files: m.files.map((f) => ({ path: f.path, content: Buffer.from(f.content).toString("utf8") })),
      cacheUrl: m.cacheUrl,
    }));
  }

  async reportBuild(job: BuildJob, result: BuildJobResult): Promise<void> {
    const paths = result.ok ? { systemPath: result.built.systemPath, kernel: result.built.kernel ?? "", initrd: result.built.initrd ?? "", kernelModules: result.built.kernelModules ?? "" } : { systemPath: "", kernel: "", initrd: "", kernelModules: "" };
    const req: ReportBuildRequest = { node: this.options.node, revision: job.revision, targetNode: job.node, ok: result.ok, error: result.ok ? "" : result.error, ...paths, log: result.log };
    await this.unary<ReportBuildRequest, ReportBuildResponse>((c, r, md, o, cb) => c.reportBuild(r, md, o, cb), req);
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}

interface RawStream<W> {
  on(event: string, listener: (...args: never[]) => void): unknown;
  cancel(): void;
}

/** Adapts a generated stream to domain values; messages that do not decode are dropped. */
function mapStream<W, T>(call: RawStream<W>, map: (w: W) => T | undefined): ServerStream<T> {
  const stream: ServerStream<T> = {
    on(event: "data" | "error" | "end", listener: (arg: never) => void) {
      if (event === "data") {
        call.on("data", ((w: W) => {
          const value = map(w);
          if (value !== undefined) (listener as (v: T) => void)(value);
        }) as never);
      } else call.on(event, listener as never);
      return stream;
    },
    cancel: () => call.cancel(),
  } as ServerStream<T>;
  return stream;
}
