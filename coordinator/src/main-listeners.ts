// The composition root's second half: the gRPC and HTTP listeners, built from the parts main.ts made. Kept apart
// so main.ts stays readable; like main.ts it only wires.
import type { Logger } from "../../shared/src/log/index.js";
import { AdminServiceService } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { readSecretFile } from "../../shared/src/config/index.js";
import type { StopList } from "../../shared/src/process/index.js";
import type { CoordinatorConfig } from "./config/index.js";
import type { DesiredFeed, NodeEnrollment, NodeRegistry } from "./fleet/index.js";
import type { PreviewService } from "./preview/index.js";
import { gitHttpBackendPath, gitHttpPlugin, upstreamWebhookPlugin, type GitRepo, type UpstreamFollower } from "./git/index.js";
import { adminAuthorizer } from "./grpc/call-auth.js";
import { httpAccess, type AuditEntry, type TokenBook } from "./auth/index.js";
import { createAdminService } from "./grpc/admin-service.js";
import type { BuildFarm } from "./build/build-farm.js";
import { AgentServiceDefinition } from "./grpc/agent-definition.js";
import { createAgentService } from "./grpc/agent-service.js";
import { startGrpcServer } from "./grpc/grpc-server.js";
import { reflectionServices } from "./grpc/reflection-services.js";
import type { AgentCheckDispatcher, NodeHealth } from "./health/index.js";
import { buildHttpApp, localHttpUrl, splitHostPort, type CoordinatorMetrics } from "./http/index.js";
import { RevisionRenderer, type DesiredCatalog } from "./inventory/index.js";
import { createManifestsAdmin, type ManifestSyncer } from "./manifests/index.js";
import { loadServedSource, memoized, nkSourcePlugin, publicHttpUrl } from "./nk-source/index.js";
import type { LeaderGatedLeases } from "./lease/index.js";
import { agentReportHandler, disruptionHalt } from "./rollout/index.js";
import { eventView, type AdminActions, type StatusBoard } from "./status/index.js";
import type { openConfiguredStore } from "./store/index.js";
import type { ensureTls } from "./tls/index.js";

type Opened = Awaited<ReturnType<typeof openConfiguredStore>>;

/** What the listeners serve: the parts main.ts built. */
export interface ListenerParts {
  readonly tls: Awaited<ReturnType<typeof ensureTls>>;
  readonly store: Opened["store"];
  readonly leadership: Opened["leadership"];
  readonly audit: (entry: AuditEntry) => Promise<unknown>;
  readonly registry: NodeRegistry;
  readonly catalog: DesiredCatalog;
  readonly feed: DesiredFeed;
  readonly leases: LeaderGatedLeases;
  readonly dispatcher: AgentCheckDispatcher;
  readonly previews: PreviewService;
  readonly nodeHealth: NodeHealth;
  readonly metrics: CoordinatorMetrics;
  readonly farm: BuildFarm;
  readonly tokens: TokenBook;
  readonly enrollment: NodeEnrollment;
  readonly board: StatusBoard;
  readonly actions: AdminActions;
  readonly repo: GitRepo;
  readonly manifests: ManifestSyncer;
  readonly manifestDriver: Parameters<typeof createManifestsAdmin>[0]["driver"];
  readonly follower: UpstreamFollower | undefined;
  readonly stops: StopList;
  readonly log: Logger;
  readonly now: () => number;
}

export interface Listeners {
  readonly grpc: { readonly port: number };
  readonly httpPort: number;
  readonly httpUrl: string;
}

/** Starts the gRPC server (agent, admin, reflection) and the HTTP app (status, API, git, nk source, webhook). */
export async function startListeners(config: CoordinatorConfig, parts: ListenerParts): Promise<Listeners> {
  const { tls, store, leadership, audit, registry, catalog, feed, leases, dispatcher, previews, nodeHealth, metrics, farm, tokens, enrollment, board, actions, repo, manifests, manifestDriver, follower, stops, log, now } = parts;
  const grpc = await startGrpcServer({
    address: config.grpc.listen,
    tls: { caPem: tls.caCertPem, certPem: tls.serverCertPem, keyPem: tls.serverKeyPem },
    services: [
      {
        definition: AgentServiceDefinition,
        implementation: createAgentService({
          verifier: store,
          registry,
          catalog,
          feed,
          secrets: store,
          leases,
          audit,
          checks: dispatcher,
          previews: { feed: previews.feed, pendingFor: (node) => previews.pendingFor(node), report: (node, result) => previews.report(node, result) },
          disruptionHalt: () => disruptionHalt(leases.rollout()),
          onReport: agentReportHandler({ health: nodeHealth, noteFailure: (node, revision, error) => leases.noteFailure(node, revision, error), onReport: () => metrics.reportReceived(), log }),
          openStream: () => metrics.grpcStreamOpened("watch_desired"),
          onDelivered: (ms) => metrics.desiredDelivered(ms / 1000),
          onHeldBack: (held) => metrics.desiredHeldBack(held),
          clusterName: () => catalog.inventory?.cluster.name ?? "",
          isLeader: () => leadership.isLeader(),
          onLeadershipChange: (listener) => leadership.onChange(listener),
          heartbeatMs: config.heartbeatSeconds * 1000,
          farm,
          log: log.child({ component: "agent-api" }),
          now,
        }),
      },
      {
        definition: AdminServiceService,
        implementation: createAdminService({
          authorize: adminAuthorizer(tokens),
          tokens,
          rotateNodeToken: (node) => enrollment.rotateToken(node),
          enrollNodes: (nodes) => enrollment.enrollMany(nodes),
          audit,
          status: board,
          actions,
          secrets: store,
          events: { readEvents: async (o) => (await store.readEvents(o)).map(eventView) },
          renderer: new RevisionRenderer(repo),
          manifests: createManifestsAdmin({ syncer: manifests, driver: manifestDriver, repo }),
          plans: previews,
          builds: farm,
          log: log.child({ component: "admin-api" }),
        }),
      },
      // Server reflection (grpcurl list/describe) for the two services above.
      ...reflectionServices(),
    ],
  });
  stops.push(() => grpc.stop());

  const checkAdmin = httpAccess(tokens);
  // The nk source nodes import by default: read and hashed on its first request, not at every start.
  const nkSource = memoized(() => loadServedSource());
  const httpPortOf = (): number => (http.server.address() as { port: number }).port;
  const http = buildHttpApp({
    status: board,
    admin: actions,
    authenticateAdmin: checkAdmin,
    audit,
    metrics,
    fleetlock: { preReboot: (r) => leases.fleetLockPreReboot(r), steadyState: (r) => leases.fleetLockSteadyState(r) },
    log,
    publicStatus: config.http.publicStatus,
    ...(config.http.plaintext ? {} : { https: { key: tls.serverKeyPem, cert: tls.serverCertPem } }),
    extraPlugins: [
      async (app) => {
        await app.register(gitHttpPlugin, { prefix: "/git", repo, authenticate: checkAdmin, audit, backendPath: await gitHttpBackendPath(), maxPushBytes: config.http.maxPushBytes, allowPush: config.source.kind === "origin", log: log.child({ component: "git-http" }) });
        await app.register(nkSourcePlugin({ source: nkSource, publicUrl: () => publicHttpUrl({ ...(config.http.publicUrl ? { publicUrl: config.http.publicUrl } : {}), listen: config.http.listen, tlsHosts: config.tls.hosts, plaintext: config.http.plaintext }, httpPortOf()) }));
        if (follower) await app.register(upstreamWebhookPlugin, { follower, authenticate: checkAdmin, ...(config.source.kind === "upstream" && config.source.webhookSecretFile ? { secret: await readSecretFile(config.source.webhookSecretFile, "webhook secret") } : {}) });
      },
    ],
  });
  const { host, port } = splitHostPort(config.http.listen);
  await http.listen({ host, port });
  stops.push(() => http.close());
  const httpPort = httpPortOf();
  const httpUrl = localHttpUrl(host, httpPort, config.http.plaintext);
  if (config.http.plaintext) log.warn({ listen: config.http.listen }, "http.plaintext: serving plain HTTP (no TLS) on loopback; tokens cross this listener unencrypted, so only a local TLS-terminating proxy should use it");

  return { grpc, httpPort, httpUrl };
}
