// AgentService: what every nk-agent calls; each call is authenticated and scoped to the caller's node.
import type { ServerUnaryCall, ServerWritableStream, sendUnaryData } from "@grpc/grpc-js";
import { NkError } from "../../../shared/src/errors/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { WatchCheckRequestsResponse, WatchDesiredRequest } from "../../../shared/src/proto/gen/nk/v1/agent.js";
import { NK_VERSION } from "../../../shared/src/version/index.js";
import { isPreviewName } from "../../../shared/src/names/index.js";
import { leaseKindFromWire, leaseStateFromWire, leaseToWire, type PreviewResult } from "../../../shared/src/wire/index.js";
import type { AuditEntry } from "../auth/index.js";
import { DesiredStream, type DesiredFeed, type NodeRegistry } from "../fleet/index.js";
import type { CheckDispatcher } from "../health/check-dispatcher.js";
import type { DesiredCatalog } from "../inventory/index.js";
import type { HolderPhase, LeaseService } from "../lease/lease-service.js";
import type { NodeReport } from "../store/index.js";
import type { BuildFarm } from "../build/build-farm.js";
import type { PreviewMessage } from "../preview/index.js";
import { buildJobMessage, buildOutcomeOf, helloOf, leaseInfoOf, previewResponse, previewResultOf, reportOf, watchDesiredResponse } from "./agent-codec.js";
import type { AgentServiceImplementation, WatchDesiredWire } from "./agent-definition.js";
import { authenticateNode, requireSameNode, type NodeTokenVerifier } from "./call-auth.js";
import { endWhenDeposed } from "./end-when-deposed.js";
import { toServiceError } from "./error-status.js";

export interface AgentServiceDeps {
  readonly verifier: NodeTokenVerifier;
  readonly registry: NodeRegistry;
  readonly catalog: DesiredCatalog;
  readonly feed: DesiredFeed;
  readonly secrets: { getSecret(name: string): Promise<Buffer | undefined> };
  readonly leases: LeaseService;
  /** Records agent actions that must be accounted for (a lease re-attached without its token). */
  readonly audit: (entry: AuditEntry) => Promise<unknown>;
  readonly checks: CheckDispatcher;
  /** Build-only preview requests ride on the desired stream; results come back with ReportPreview. */
  readonly previews?: {
    readonly feed: { watch(node: string, listener: (m: PreviewMessage) => void): () => void };
    pendingFor(node: string): PreviewMessage | null;
    report(node: string, result: PreviewResult): Promise<void>;
  };
  /** Whether agents should hold back disruptive steps now, and why. */
  readonly disruptionHalt: () => { halt: boolean; reason: string };
  /** `before`: the node's previous report, if any (to tell a step into a phase from a heartbeat in it). */
  readonly onReport?: (node: string, report: NodeReport, before: NodeReport | undefined) => void;
  /** A new desired bundle was written to an agent's stream this long after it was adopted. */
  readonly onDelivered?: (latencyMs: number) => void;
  /** A desired stream began (true) or stopped (false) holding its node's bundle back (DesiredStream). */
  readonly onHeldBack?: (held: boolean) => void;
  /** Counts an open WatchDesired stream; returns the function that ends the count. */
  readonly openStream?: () => () => void;
  readonly clusterName: () => string;
  /** Cluster checks are dispatched by the leader only: followers send agents there. */
  readonly isLeader: () => boolean;
  /** Fires when this coordinator gains or loses leadership (check streams must follow the leader). */
  readonly onLeadershipChange?: (listener: (leader: boolean) => void) => () => void;
  readonly heartbeatMs: number;
  /** Builders mode: the build jobs and their outcomes; absent, every node builds its own system. */
  readonly farm?: BuildFarm;
  readonly log: Logger;
  readonly now: () => number;
}

const HOLDER_PHASES: readonly HolderPhase[] = ["granted", "draining", "drained", "rebooting", "verifying"];
/** What k3s accepts as a snapshot name (nk sends nk-<revision>-<node>). */
const ETCD_SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,199}$/;

type Unary<Req, Res> = (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void;

export function createAgentService(deps: AgentServiceDeps): AgentServiceImplementation {
  const { log } = deps;

  function unary<Req extends { node: string }, Res>(name: string, handler: (node: string, req: Req) => Promise<Res>): Unary<Req, Res> {
    return (call, callback) => {
      authenticateNode(call.metadata, deps.verifier)
        .then(async (node) => {
          requireSameNode(node, call.request.node);
          return handler(node, call.request);
        })
        .then((res) => callback(null, res))
        .catch((err: unknown) => callback(toServiceError(err, log, { rpc: name })));
    };
  }

  /** Authenticates a server stream and runs `open`, which returns the cleanup to run when the stream ends. */
  function stream<Req extends { node: string }, Res>(name: string, open: (node: string, call: ServerWritableStream<Req, Res>) => Promise<() => void>) {
    return (call: ServerWritableStream<Req, Res>): void => {
      let cleanup: (() => void) | undefined;
      let ended = false;
      const end = (): void => {
        if (ended) return;
        ended = true;
        cleanup?.();
      };
      call.on("cancelled", end);
      call.on("close", end);
      call.on("error", end);
      authenticateNode(call.metadata, deps.verifier)
        .then(async (node) => {
          requireSameNode(node, call.request.node);
          const done = await open(node, call);
          if (ended || call.cancelled) done();
          else cleanup = done;
        })
        .catch((err: unknown) => {
          ended = true;
          call.emit("error", toServiceError(err, log, { rpc: name }));
        });
    };
  }

  return {
    hello: unary("Hello", async (node, req) => {
      const { hello, applied } = helloOf(req, deps.now());
      await deps.registry.hello(node, hello, applied);
      log.info({ node, agentVersion: req.agentVersion, bootId: req.bootId }, "agent hello");
      return { coordinatorVersion: NK_VERSION, serverTimeMs: deps.now(), heartbeatIntervalMs: deps.heartbeatMs, cluster: deps.clusterName() };
    }),

    report: unary("Report", async (node, req) => {
      const { report, applied } = reportOf(req, deps.now());
      const before = deps.registry.get(node)?.lastReport;
      // Each report, for tracing a node's view across coordinators in a replay (debug level only: one per heartbeat).
      log.debug({ node, phase: report.phase, sha: report.sha256.slice(0, 12), atMs: report.atMs }, "report");
      await deps.registry.report(node, report, applied);
      deps.onReport?.(node, report, before);
      const halt = deps.disruptionHalt();
      return { haltDisruption: halt.halt, haltReason: halt.reason };
    }),

    watchBuildJobs: stream("WatchBuildJobs", async (node, call) => {
      if (!deps.farm) throw new NkError("PERMISSION_DENIED", `${node} is not a builder: this coordinator has no builders`);
      const farm = deps.farm;
      try {
        return farm.connect(node, (job) => call.write(buildJobMessage(job)));
      } catch (err) {
        throw new NkError("PERMISSION_DENIED", (err as Error).message);
      }
    }),

    reportBuild: unary("ReportBuild", async (node, req) => {
      deps.farm?.report(node, req.revision, req.targetNode, buildOutcomeOf(req), req.log);
      return {};
    }),

    watchDesired: stream<WatchDesiredRequest, WatchDesiredWire>("WatchDesired", async (node, call) => {
      const disconnect = deps.registry.connect(node);
      const closeCount = deps.openStream?.();
      const stream = new DesiredStream({
        node,
        catalog: deps.catalog,
        registry: deps.registry,
        feed: deps.feed,
        write: (d) => {
          const inventory = deps.catalog.inventory;
          if (!inventory) return false;
          const decision = deps.farm?.decision(d) ?? { kind: "local" };
          // Waiting for its build, or halted by a failed one: the node keeps its current system.
          if (decision.kind === "waiting" || decision.kind === "halted") {
            log.info({ node, rev: d.revision, build: decision.kind, reason: decision.kind === "halted" ? decision.reason : decision.state }, "desired state held back for its build");
            return false;
          }
          call.write(watchDesiredResponse(d, inventory, decision.kind === "prebuilt" ? decision.prebuilt : null));
          return true;
        },
        onDelivered: (d) => deps.onDelivered?.(deps.now() - d.adoptedAtMs),
        ...(deps.onHeldBack && { onHeldBack: deps.onHeldBack }),
        log,
      });
      // The current desired state first, so a reconnect resyncs whatever it missed.
      await stream.open().catch((err: unknown) => {
        // No cleanup is handed back for a stream that failed to open: undo its counts and listeners here.
        stream.close();
        disconnect();
        closeCount?.();
        throw err;
      });
      // After the desired bundle, so an agent with an apply to do starts it first (a preview then waits for it).
      const unwatchPreviews = deps.previews?.feed.watch(node, (m) => call.write(previewResponse(m)));
      const pending = deps.previews?.pendingFor(node);
      if (pending) call.write(previewResponse(pending));
      return () => {
        unwatchPreviews?.();
        stream.close();
        disconnect();
        closeCount?.();
      };
    }),

    acquireLease: stream("AcquireLease", async (node, call) => {
      const req = call.request;
      const done = await deps.leases.acquire(
        { node, kind: leaseKindFromWire(req.kind), revision: req.revision, sha256: req.bundleSha256, reason: req.reason, fencingToken: req.fencingToken, k3sNext: req.k3sNext.slice(0, 64) },
        (lease) => call.write({ lease: leaseToWire(leaseInfoOf(lease)) }),
      );
      // A deposed leader's lease streams would go silent (its lease manager stopped): they end, so the agent asks the
      // new leader. Found by HA chaos seed 24900027: an agent waited minutes for a "drained" the new leader recorded.
      return endWhenDeposed(deps.onLeadershipChange, deps.isLeader, call, "AcquireLease", "this coordinator does not lead any more: retry on another coordinator", log, done);
    }),

    renewLease: unary("RenewLease", async (node, req) => {
      const phase = leaseStateFromWire(req.state);
      if (!(HOLDER_PHASES as readonly string[]).includes(phase)) throw new NkError("INVALID_ARGUMENT", `cannot renew into state "${phase}"`);
      if (req.etcdSnapshot !== "" && !ETCD_SNAPSHOT_NAME.test(req.etcdSnapshot)) {
        throw new NkError("INVALID_ARGUMENT", `etcd snapshot name "${req.etcdSnapshot.slice(0, 80)}" must be letters, digits and dashes (at most 200)`);
      }
      const lease = await deps.leases.renew(node, req.fencingToken, phase as HolderPhase, req.bootId, req.etcdSnapshot);
      return { lease: leaseToWire(leaseInfoOf(lease)) };
    }),

    releaseLease: unary("ReleaseLease", async (node, req) => {
      const reason = req.reason.slice(0, 2000);
      // Token 0: the agent withdraws a queued request it no longer needs, so it stops blocking the FIFO queue.
      if (req.fencingToken === 0) return { released: await deps.leases.withdraw(node, reason) };
      return { released: await deps.leases.release(node, req.fencingToken, req.success, reason) };
    }),

    reattachLease: unary("ReattachLease", async (node, req) => {
      // The one way back to a lease without its token: explicit, and in the audit log under the node's name.
      const reason = req.reason.slice(0, 200) || "no reason given";
      const lease = await deps.leases.reattach(node);
      const outcome = lease ? `ok: lease #${lease.fencingToken} (${lease.state}) handed back; ${reason}` : `no lease held; ${reason}`;
      await deps.audit({ actor: `node/${node}`, action: "ReattachLease", target: node, outcome });
      return { lease: lease ? leaseToWire(leaseInfoOf(lease)) : undefined };
    }),

    fetchSecrets: unary("FetchSecrets", async (node, req) => {
      const allowed = new Set(deps.catalog.get(node)?.secretNames ?? []);
      const names = req.names.length > 0 ? req.names : [...allowed];
      const secrets = [];
      for (const name of names) {
        if (!allowed.has(name)) throw new NkError("PERMISSION_DENIED", `node "${node}" has no access to secret "${name}"`);
        const value = await deps.secrets.getSecret(name);
        if (!value) throw new NkError("SECRET_UNKNOWN", `secret "${name}" is not set (nkctl secret set ${name})`);
        secrets.push({ name, value });
      }
      log.info({ node, names }, "secrets fetched");
      return { secrets };
    }),

    watchCheckRequests: stream("WatchCheckRequests", async (node, call) => {
      const notLeader = () => new NkError("NOT_LEADER", "this coordinator does not lead: cluster checks are run for the leader");
      if (!deps.isLeader()) throw notLeader();
      const unwatch = deps.checks.watch(node, (r) => {
        const message: WatchCheckRequestsResponse = { requestId: r.requestId, checkName: r.checkName, command: [...r.command], expect: r.expect, timeoutMs: r.timeoutMs };
        call.write(message);
      });
      // A deposed leader sends its streams away, or the new leader would have no server to run checks on.
      return endWhenDeposed(deps.onLeadershipChange, deps.isLeader, call, "WatchCheckRequests", notLeader().message, log, unwatch);
    }),

    reportPreview: unary("ReportPreview", async (node, req) => {
      if (!isPreviewName(req.name)) throw new NkError("INVALID_ARGUMENT", `invalid preview name ${JSON.stringify(req.name)}`);
      await deps.previews?.report(node, previewResultOf(req));
      return {};
    }),

    reportCheckResult: unary("ReportCheckResult", async (node, req) => {
      const r = req.result;
      if (r) deps.checks.result(node, req.requestId, { name: r.name, ok: r.ok, message: r.message.slice(0, 2000), observedAtMs: r.observedAtMs || deps.now() });
      return {};
    }),
  };
}
