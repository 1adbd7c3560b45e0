// Builds the coordinator's object graph from its config and runs it; the only place that wires parts together (its listeners,
// gRPC and HTTP, are wired in main-listeners.ts).
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { createLogger, type Logger } from "../../shared/src/log/index.js";
import { errorMessage } from "../../shared/src/errors/index.js";
import { NK_VERSION } from "../../shared/src/version/index.js";
import type { CoordinatorConfig } from "./config/index.js";
import { configWarnings } from "./config/config-warnings.js";
import { ChangeSignal, DesiredFeed, NodeFeed, NodeEnrollment, NodeRegistry, RevisionAdopter, RevisionHandOff, TelemetrySync } from "./fleet/index.js";
import { PlanBook, PreviewService, type PreviewMessage } from "./preview/index.js";
import { GitRepo, HookServer, STALE_LOCKS_REMOVED, UpstreamFollower, storeRevisionAhead, upstreamAuthEnv } from "./git/index.js";
import { TokenBook, auditEvent, type AuditEntry } from "./auth/index.js";
import { BuildArchive } from "./build/build-archive.js";
import { BuildFarm } from "./build/build-farm.js";
import { nodeRunning } from "./build/expected-disruption.js";
import { AgentCheckDispatcher, CheckRunner, ClusterHealth, NodeHealth, systemHealthTimers } from "./health/index.js";
import { CoordinatorMetrics } from "./http/index.js";
import { DesiredCatalog } from "./inventory/index.js";
import { Notifier } from "./notify/index.js";
import { KUBE_CALL_TIMEOUT_MS, NoKube, type KubeDriver } from "./kube/index.js";
import { ManifestSyncer, NoManifests } from "./manifests/index.js";
import { LeaderGatedLeases, LeaseManager, realTimers } from "./lease/index.js";
import { KubeDisruptionHooks, catalogSettings, clusterCheckSource, k3sVersionSource, nodeHealthSource, remoteReportHandler } from "./rollout/index.js";
import { StatusBoard, type AdminActions, type RolloutView } from "./status/index.js";
import { ensureAdminToken, openConfiguredStore } from "./store/index.js";
import { preflightFiles } from "./config/preflight-files.js";
import { ensureTls } from "./tls/index.js";
import { StopList } from "../../shared/src/process/index.js";
import { startListeners } from "./main-listeners.js";

export interface RunningCoordinator {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Where this process serves HTTP(S), e.g. https://127.0.0.1:7080 (loopback when listening on every address). */
  readonly httpUrl: string;
  readonly adminToken: string;
  readonly caPem: string;
  readonly stateDir: string;
  readonly log: Logger;
  stop(): Promise<void>;
}

export interface StartOptions {
  readonly log?: Logger;
}

export async function startCoordinator(config: CoordinatorConfig, options: StartOptions = {}): Promise<RunningCoordinator> {
  const log = options.log ?? createLogger({ name: "nk-coordinator", level: config.logLevel });
  const now = Date.now;
  const stops = new StopList(log);
  const stop = (): Promise<void> => stops.stop();
  try {
    const preflight = await preflightFiles(config);
    for (const warning of preflight.warnings) log.warn(warning);
    // With the etcd store nothing else creates it: the admin token, TLS material and the repo live here.
    await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
    const opened = await openConfiguredStore(config, log, now);
    const { store, leadership } = opened;
    const audit = (entry: AuditEntry) => store.appendEvent(auditEvent(entry));
    stops.push(() => opened.close());
    const adminToken = await ensureAdminToken(config.stateDir, preflight.adminToken !== undefined ? { configured: preflight.adminToken } : {});
    const tls = await ensureTls(config.stateDir, { hosts: config.tls.hosts, clock: now });
    const repo = await GitRepo.open(config.stateDir);
    stops.push(() => repo.close());
    if (repo.staleLocksRemoved.length > 0) log.warn({ removed: repo.staleLocksRemoved }, STALE_LOCKS_REMOVED);

    const catalog = new DesiredCatalog();
    const registry = new NodeRegistry(store, opened.shared ? { connectedByReportWithinMs: 3 * config.heartbeatSeconds * 1000, shared: true, now } : {});
    await registry.load();
    const feed = new DesiredFeed();
    const adopted = new ChangeSignal<unknown>();
    const metrics = new CoordinatorMetrics();

    // client-node is loaded only with Kubernetes access (its import alone costs 1.7 s of CPU).
    const kubeModule = config.kubeconfigFile ? await import("./kube/kube-client.js") : null;
    const kubeConfig = kubeModule && config.kubeconfigFile ? kubeModule.loadKubeConfig(config.kubeconfigFile) : null;
    const kube: KubeDriver = kubeModule && kubeConfig ? new kubeModule.KubeClient(kubeConfig, { log: log.child({ component: "kube" }) }) : new NoKube();
    // Shown at start, on the status page, in the JSON status and by nkctl status: nothing unsafe is silent.
    const warnings = configWarnings(config);
    for (const warning of warnings) log.warn(warning);
    const timers = systemHealthTimers;
    const nodeHealth = new NodeHealth({ kube, timers, heartbeatMs: config.heartbeatSeconds * 1000, log: log.child({ component: "node-health" }) });
    const checksOf = () => catalog.inventory?.cluster.rollout.checks ?? [];
    const nodesOf = () => catalog.inventory?.nodes.map((n) => ({ name: n.name, role: n.role })) ?? [];
    const dispatcher = new AgentCheckDispatcher({ checks: checksOf, nodes: nodesOf, timers, isHealthy: (node) => nodeHealth.isHealthy(node), log: log.child({ component: "checks" }) });
    const clusterHealth = new ClusterHealth({ checks: checksOf, runner: new CheckRunner(now), dispatcher, timers, intervalMs: config.healthCheckIntervalSeconds * 1000, log: log.child({ component: "cluster-health" }) });
    registry.changed.subscribe((name) => nodeHealth.noteConnected(name, registry.isConnected(name)));
    // Rollout notifications from the journal: sent by the leader only (followers see the same events), off the lease engine's path.
    const notifier = new Notifier({ targets: () => catalog.inventory?.notify ?? [], cluster: () => catalog.inventory?.cluster.name ?? "", secret: (name) => store.getSecret(name), timers: realTimers, log: log.child({ component: "notify" }), onDelivery: (target, outcome) => metrics.notification(target, outcome) });
    store.onEvent((event) => void (leadership.isLeader() && notifier.notice(event)));

    const leases = new LeaderGatedLeases({
      leadership,
      store,
      log: log.child({ component: "leadership" }),
      createManager: () =>
        new LeaseManager({
          store,
          now,
          timers: realTimers,
          log: log.child({ component: "leases" }),
          settings: catalogSettings(catalog, adopted),
          health: nodeHealthSource(nodeHealth),
          checks: clusterCheckSource(clusterHealth),
          k3s: k3sVersionSource(registry),
          // Bounded: the grant decision waits for this listing.
          pods: { list: (selector) => kube.listPods(selector, AbortSignal.timeout(KUBE_CALL_TIMEOUT_MS)) },
          hooks: new KubeDisruptionHooks({ kube, registry, clusterChecks: () => clusterHealth.refresh(), drainTimeoutMs: () => (catalog.inventory?.cluster.rollout.drainTimeoutSeconds ?? 600) * 1000, leadership, log: log.child({ component: "drain" }) }),
          onGrant: (g) => metrics.leaseGranted(g.lease.kind, g.latencyMs / 1000),
          options: { deadlineGraceMs: config.leaseDeadlineGraceSeconds * 1000 },
        }),
    });

    // manifests/ is applied by the leader, after the push or once the revision's servers converged; only the store's
    // revision, fully adopted: a leader whose repo is behind (upstream not fetched yet) waits instead of pruning.
    const manifestDriver = kubeConfig ? new (await import("./manifests/manifest-client.js")).ManifestClient(kubeConfig) : new NoManifests();
    const manifests = new ManifestSyncer({
      driver: manifestDriver,
      current: () => (catalog.inventory && catalog.files ? { revision: catalog.revision, inventory: catalog.inventory, files: catalog.files } : null),
      rollout: () => store.getRollout(),
      // Read only once the catalog holds a revision, which the adopter (built below) puts there.
      deferred: () => adopter.deferred,
      serversConverged: () => catalog.nodes().filter((d) => d.node.role === "server").every((d) => registry.get(d.node.name)?.applied?.sha256 === d.bundle.sha256),
      isLeader: () => leadership.isLeader(), events: store, metrics, log: log.child({ component: "manifests" }), now,
    });
    stops.push(() => manifests.stop());
    adopted.subscribe(() => manifests.noteAdopted());
    registry.changed.subscribe(() => manifests.evaluate());
    leadership.onChange(() => manifests.evaluate());

    // Builders mode: a settled build lets the node's desired state (with its store path) go out; mid-adoption the
    // catalog's bundle is not planned yet, and the adoption's own publish follows.
    const publishDesired = (node: string): void => {
      const desired = catalog.get(node);
      if (desired && !feed.isUnpublished(node)) feed.publish(desired);
    };
    // Finished builds and their logs go to the state dir whatever the store: the farm is this coordinator's own (its
    // builders stream here), and logs are bulky diagnostics that have no place in etcd's small, replicated values.
    const farm = new BuildFarm({ jobsPerBuilder: 4, keepPerNode: 10, logBytes: 64 * 1024, archive: new BuildArchive(join(config.stateDir, "builds")), log: log.child({ component: "builds" }), onSettled: publishDesired, running: (node) => nodeRunning(registry.get(node)?.lastReport),
      // Builds finish only once the gRPC listener is up, long after `previews` exists.
      onPreviewBuilt: (name, node, sha256, outcome) => void previews.builtOnBuilders(name, node, sha256, outcome).catch((err: unknown) => log.warn({ preview: name, node, err: String(err) }, "cannot record a preview build")),
    });
    await farm.load();
    metrics.setBuildSource(() => farm.currentCounts());
    // Built before the start-up adoption, which may fetch upstream's tip (storeRevisionAhead); started once all is wired.
    const follower =
      config.source.kind === "upstream"
        ? new UpstreamFollower({
            repo,
            url: config.source.url,
            branch: config.source.branch,
            intervalMs: config.source.intervalSeconds * 1000,
            authEnv: await upstreamAuthEnv(config.source, join(config.stateDir, "run")),
            validate: (tree) => handOff.validateUpstream(tree),
            onAccepted: (revision) => handOff.upstreamAccepted(revision),
            onRejected: (revision, lines) => void handOff.upstreamRejected(revision, lines),
            owesAdoption: (revision) => adopter.deferred === revision,
            log: log.child({ component: "upstream" }),
          })
        : undefined;
    const upstreamTip = (): Promise<string | null> =>
      follower === undefined
        ? Promise.resolve(null)
        : follower.fetchTip().catch((err: unknown) => (log.warn({ err: errorMessage(err) }, "cannot fetch upstream's tip to compare with the store's revision; deciding on what this repo knows"), null));
    const adopter = new RevisionAdopter({
      store, catalog, registry, feed,
      ...(opened.shared ? { storeIsAhead: (revision: string, stored: string, startup: boolean) => storeRevisionAhead(repo, revision, stored, { upstreamTip, startup }) } : {}),
      // A push's adoption is retried by nothing else; a follower retries through its syncs.
      ...(config.source.kind === "upstream" ? {} : { retryFailedMs: 1_000 }),
      beforePublish: (inventory, changed, all) => farm.revisionAdopted(inventory, changed, all),
      log: log.child({ component: "inventory" }),
      now,
      onAdopted: (_result, renderMs) => {
        metrics.renderFinished(renderMs / 1000);
        const nodes = catalog.nodes().map((d) => d.node);
        nodeHealth.setNodes(nodes.map((n) => n.name), nodes.filter((n) => n.role === "none").map((n) => n.name));
        adopted.emit(undefined);
        leases.reevaluate("settings");
      },
    });
    stops.push(() => adopter.stop());
    const handOff = new RevisionHandOff({
      adopt: (revision, files, options) => adopter.adopt(revision, files, options),
      readTree: (revision) => repo.readTree(revision),
      store,
      onPushValidated: (accepted) => metrics.pushReceived(accepted ? "accepted" : "rejected"),
    });
    const head = await repo.headRevision();
    if (head) await handOff.adoptStartup(head);

    // Preview refs: rendered and built on the nodes (build-only), never desired.
    const planBook = new PlanBook(join(config.stateDir, "previews.json"));
    await planBook.load();
    const previews = new PreviewService({
      book: planBook,
      catalog,
      feed: new NodeFeed<PreviewMessage>(),
      repo,
      events: store,
      ttlMs: config.previewTtlMinutes * 60_000,
      builders: farm,
      now,
      log: log.child({ component: "previews" }),
    });
    await previews.start();
    stops.push(() => previews.stop());

    const hooks = new HookServer({
      repo,
      socketPath: join(config.stateDir, "run", "hooks.sock"),
      log: log.child({ component: "git-hooks" }),
      audit,
      onPreReceive: (update, readTree) => handOff.preReceive(update, readTree),
      // The push's last lines: the plan of a preview of the same tree, if there was one.
      onPostReceive: async (update) => [...(await handOff.postReceive(update)), ...(await previews.summaryForMain(update.newSha))],
      onPreviewReceived: (update, name) => previews.preview(name, update.newSha),
    });
    await hooks.start();
    stops.push(() => hooks.close());

    if (follower) {
      follower.start();
      stops.push(() => follower.stop());
    }

    const tokens = new TokenBook(store, () => adminToken, now);
    const enrollment = new NodeEnrollment({ registry, noteEnrolled: (node) => adopter.noteEnrolled(node), events: store });
    const rolloutView = (): RolloutView => board.snapshot().rollout;
    const actions: AdminActions = {
      pause: async (reason) => (await leases.pause(reason), rolloutView()),
      resume: async () => (await leases.resume(), rolloutView()),
      approve: async () => (await leases.approve("an operator"), rolloutView()),
      releaseLease: (node, force, reason) => leases.adminRelease(node, force, reason),
      enrollNode: (node) => enrollment.enroll(node),
    };
    const board: StatusBoard = new StatusBoard({
      version: NK_VERSION,
      registry,
      catalog,
      leases,
      rollout: () => leases.rollout(),
      kube: (node) => ({ k8sReady: nodeHealth.view(node)?.k8sReady ?? null, cordoned: nodeHealth.view(node)?.cordoned === true }),
      leader: () => leadership.isLeader(),
      manifests: () => manifests.snapshot(),
      plans: () => previews.views(),
      builds: () => farm.views(),
      warnings,
      events: store,
      commits: async (revision) => (await repo.log(1, revision))[0] ?? null,
      changes: [(l) => registry.changed.subscribe(() => l()), (l) => leases.onChange(l), (l) => adopted.subscribe(() => l()), (l) => nodeHealth.onChange(() => l()), (l) => manifests.changed.subscribe(() => l()), (l) => planBook.changed.subscribe(() => l())],
      now,
    });

    nodeHealth.start();
    clusterHealth.start();
    stops.push(() => nodeHealth.stop(), () => clusterHealth.stop());
    await leases.start();
    stops.push(() => leases.stop());
    if (opened.shared) {
      const sync = new TelemetrySync({ store, registry, intervalMs: config.heartbeatSeconds * 1000, log: log.child({ component: "telemetry-sync" }), onRemoteReport: remoteReportHandler(nodeHealth) });
      await sync.syncOnce();
      sync.start();
      stops.push(() => sync.stop());
    }

    const { grpc, httpPort, httpUrl } = await startListeners(config, { tls, store, leadership, audit, registry, catalog, feed, leases, dispatcher, previews, nodeHealth, metrics, farm, tokens, enrollment, board, actions, repo, manifests, manifestDriver, follower, stops, log, now });
    log.info({ grpcPort: grpc.port, httpPort, httpUrl, stateDir: config.stateDir, revision: catalog.revision || null, ca: tls.caFingerprintSha256 }, "coordinator started");
    return { grpcPort: grpc.port, httpPort, httpUrl, adminToken, caPem: tls.caCertPem, stateDir: config.stateDir, log, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
