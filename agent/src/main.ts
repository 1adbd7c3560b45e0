// Builds the agent's object graph from its config and runs it; the only place that wires parts together.
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { holdsPemCertificate, readTokenFile, secretFileExposure } from "../../shared/src/config/index.js";
import { fsReason } from "../../shared/src/fs/index.js";
import { errorMessage, NkError } from "../../shared/src/errors/index.js";
import { createLogger, type Logger } from "../../shared/src/log/index.js";
import { NK_VERSION } from "../../shared/src/version/index.js";
import type { DesiredBundle } from "../../shared/src/wire/index.js";
import { ApplyRunner, DEFAULT_MACHINE_CONFIG, isResting, systemHealthProbe, withCoordinatorReachable, type Clock } from "./apply/index.js";
import { AgentHello, CoordinatorClient, GrpcLeaseClient, ReportSender, keepStreaming, type DesiredOrPreview } from "./client/index.js";
import { isPreviewName } from "../../shared/src/names/index.js";
import { PreviewRunner } from "./preview/index.js";
import type { AgentConfig } from "./config/index.js";
import { SystemFacts } from "./facts/index.js";
import { AppliedChecks, allowedClusterChecks, executeCheck, nodeHealthNow, type AllowedCheck } from "./health/index.js";
import { SelfUpdateWatcher, clearGuardRollback, readGuardRollback } from "./guard/index.js";
import { DesiredIntake, SecretWriter } from "./secrets/index.js";
import { StateStore, watchRetryRequests } from "./state/index.js";
import type { System } from "./system/index.js";
import { memoK3sVersion } from "./system/k3s-version.js";
import { memoPerStorePath } from "./system/store-path-memo.js";
import { rememberThisBoot } from "./system/this-boot.js";
import type { Builder } from "./build/builder.js";

export { RESTART_EXIT_CODE } from "./guard/index.js";

/** The unit whose state is the node's health (a host without it, role none, reports no result for it). */
const K3S_UNIT = "k3s.service";

export interface RunningAgent {
  readonly runner: ApplyRunner;
  readonly log: Logger;
  stop(): Promise<void>;
}

const clock: Clock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

/** The builder of a builder node (loaded only there): real Nix on NixOS, the simulated one under SimSystem (same time scale). */
async function openBuilder(config: AgentConfig, b: NonNullable<AgentConfig["builder"]>): Promise<Builder> {
  if (config.system.kind === "sim") {
    if (!b.simPublicKey) throw new NkError("CONFIG_INVALID", "builder.simPublicKey is required under the simulator (what its builds are signed as)");
    const { SimBuilder } = await import("./build/sim-builder.js");
    return new SimBuilder({ dir: b.workDir, publicKey: b.simPublicKey, timeScale: config.system.timeScale });
  }
  const [{ NixBuilder }, { ProcessRunner }] = await Promise.all([import("./build/nix-builder.js"), import("./system/process-runner.js")]);
  return new NixBuilder({ runner: new ProcessRunner(), workDir: b.workDir, keyFile: b.keyFile });
}

async function serveBuilds(config: AgentConfig, b: NonNullable<AgentConfig["builder"]>, client: CoordinatorClient, log: Logger): Promise<() => void> {
  const [builder, { serveBuildJobs }] = await Promise.all([openBuilder(config, b), import("./build/build-jobs.js")]);
  return serveBuildJobs(builder, client, log.child({ component: "builder" }));
}

/** Loads only the driver this agent runs: a node never needs the simulator, a simulated node never the NixOS driver. */
async function openSystem(config: AgentConfig, exitProcess: (code: number) => never): Promise<System> {
  if (config.system.kind === "sim") {
    const { SimSystem } = await import("./system/sim-system.js");
    const { dir, timeScale, lanDir } = config.system;
    return SimSystem.open({ dir, node: config.node, timeScale, exitProcess, ...(lanDir ? { lanDir } : {}) });
  }
  const [{ NixosSystem }, { ProcessRunner }] = await Promise.all([import("./system/nixos-system.js"), import("./system/process-runner.js")]);
  return new NixosSystem({ runner: new ProcessRunner(), hardwareConfig: config.system.hardwareConfig });
}

/** The coordinator CA to pin: a file that is missing or holds no certificate is a config error, said at start. */
async function readCaFile(path: string): Promise<string> {
  const pem = await readFile(path, "utf8").catch((err: unknown) => {
    throw new NkError("CONFIG_INVALID", `cannot read caFile ${path} (the coordinator CA to pin): ${fsReason(err)}`, { cause: err });
  });
  if (!holdsPemCertificate(pem)) throw new NkError("CONFIG_INVALID", `caFile ${path} holds no PEM certificate: copy the coordinator's <stateDir>/tls/ca.crt there`);
  return pem;
}

export async function startAgent(config: AgentConfig, options: { log?: Logger; exitProcess?: (code: number) => never } = {}): Promise<RunningAgent> {
  const log = (options.log ?? createLogger({ name: "nk-agent", level: config.logLevel, sync: true })).child({ node: config.node });
  const exitProcess = options.exitProcess ?? ((code: number) => process.exit(code));
  const token = await readTokenFile(config.tokenFile, "node token", `write it with: nkctl node enroll ${config.node} -o json | jq -r .token > ${config.tokenFile}`);
  const exposed = await secretFileExposure(config.tokenFile, "node token");
  if (exposed) log.warn(exposed);
  const ca = config.caFile === "insecure" ? "insecure" : await readCaFile(config.caFile);
  const system = await openSystem(config, exitProcess);
  // Which agent this process is: its unit's store path on NixOS; under SimSystem the version the running
  // generation pins (a restart "installs" it), which is also the version it reports.
  const runningIdentity = await system.agentIdentity();
  const runningVersion = config.system.kind === "sim" ? (runningIdentity ?? NK_VERSION) : NK_VERSION;
  const guardRollback = await readGuardRollback(config.stateDir);
  if (guardRollback) log.error({ from: guardRollback.from, to: guardRollback.to, reason: guardRollback.reason }, "the self-update guard rolled this node back: the new agent never came up");

  const store = new StateStore({ path: join(config.stateDir, "state.json"), now: clock.now, log });
  const loaded = await store.load();
  if (loaded.recovered) log.error({ err: loaded.recovered.message, movedTo: loaded.corruptPath }, "agent state was unreadable; started from a safe idle state");

  const client = new CoordinatorClient({ addresses: config.coordinators, node: config.node, token, ca });
  // Leases and cluster checks need the leader; desired state and reports may go to any coordinator.
  const leaderClient = config.coordinators.length > 1 ? new CoordinatorClient({ addresses: config.coordinators, node: config.node, token, ca }) : client;
  const facts = new SystemFacts({ refreshMs: 60_000, now: clock.now, diskMount: "/nix" });
  let latest: DesiredBundle | null = null;
  // The cluster checks the latest bundle allows, read once per bundle (the coordinator asks every 15 s by default).
  let allowedChecks: readonly AllowedCheck[] = [];
  // The applied bundle's node checks, even once a newer bundle is known (else an unhealthy node would look healthy).
  const appliedChecks = new AppliedChecks(join(config.stateDir, "bundles"));
  // Only a carrier (its desired bundle names the VIP) looks whether it holds the VIP.
  const holdsApiVip = async (): Promise<boolean> => (latest?.apiVip ? system.holdsAddress(latest.apiVip) : false);
  const thisBoot = rememberThisBoot(system);
  const machine = async () => ({ ...(await thisBoot()), currentSystem: await system.currentSystem(), holdsApiVip: await holdsApiVip() });
  const hasK3sUnit = memoPerStorePath((systemPath) => system.systemHasUnit(systemPath, K3S_UNIT));

  let runner: ApplyRunner;
  let selfUpdate: SelfUpdateWatcher | undefined;
  const reporter = new ReportSender({
    client,
    state: () => runner.state,
    facts: () => facts.get(),
    machine,
    health: async () => {
      const applied = await appliedChecks.of(runner.state.applied?.sha256);
      return nodeHealthNow({ system, checks: () => [...applied, ...config.healthChecks.map((c) => ({ ...c, timeoutMs: c.timeoutSeconds * 1000 }))], unit: K3S_UNIT, hasUnit: hasK3sUnit, now: clock.now });
    },
    heartbeatMs: config.reportIntervalSeconds * 1000,
    now: clock.now,
    log,
    agentVersion: runningVersion,
    k3sVersion: memoK3sVersion((path) => system.k3sVersion(path)),
    onHalt: (halt, reason) => halt && log.debug({ reason }, "coordinator holds back disruptive steps"),
  });
  const leases = new GrpcLeaseClient({
    client: leaderClient,
    bootId: () => system.bootId(),
    onLost: (fencingToken, reason) => void runner.dispatch({ type: "lease-lost", now: clock.now(), fencingToken, reason }),
    log,
  });
  // Build-only previews: their own directory and machine; a real apply cancels the one running.
  const previews = new PreviewRunner({
    system,
    node: config.node,
    root: join(config.stateDir, "previews"),
    disruptiveUnits: DEFAULT_MACHINE_CONFIG.disruptiveUnits,
    report: (result) => void client.reportPreview(result).catch((err: unknown) => log.warn({ err: errorMessage(err), preview: result.name }, "could not report a preview result (it is sent again when the coordinator asks again)")),
    log,
  });
  runner = new ApplyRunner(
    {
      node: config.node,
      system,
      store,
      leases,
      reporter,
      health: withCoordinatorReachable(systemHealthProbe(system), async (systemPath) => {
        await client.hello({ agentVersion: runningVersion, bootId: await system.bootId(), bootedSystem: "", currentSystem: systemPath, systemInfo: undefined, appliedRevision: "", appliedSha256: "", phase: 0, heldFencingToken: 0 });
      }),
      clock,
      log,
      config: { ...DEFAULT_MACHINE_CONFIG, bundleRoot: join(config.stateDir, "bundles") },
      onPhase: (phase) => {
        void previews.dispatch({ type: "apply-busy", busy: !isResting(phase) });
        if (phase === "confirmed") selfUpdate?.nudge();
      },
      onFatal: (err) => {
        log.fatal({ err: errorMessage(err) }, "cannot continue; exiting so the service manager restarts the agent");
        exitProcess(1);
      },
    },
    loaded.state,
  );

  const intake = new DesiredIntake({ fetch: (names) => client.fetchSecrets(names), writer: new SecretWriter(config.secretsDir), dispatch: (event) => void runner.dispatch(event), clock, log });
  const hello = new AgentHello({
    hello: (req) => client.hello(req),
    state: () => runner.state,
    machine,
    facts: () => facts.get(),
    agentVersion: runningVersion,
    stateDir: config.stateDir,
    agentPackage: process.env.NK_AGENT_PACKAGE,
    now: clock.now,
  });

  // A withdrawal lost to a crash or an outage would leave a request or an unstarted grant at the coordinator.
  if (!loaded.state.lease && isResting(loaded.state.phase)) void leases.withdraw("agent started holding no lease");
  // An unreadable guard note names no system: it is only reported (as the node's last error).
  await runner.start(guardRollback ? { from: guardRollback.from, reason: guardRollback.reason } : undefined);
  // Saved by now: the note has done its work.
  if (guardRollback) await clearGuardRollback(config.stateDir);
  void previews.dispatch({ type: "apply-busy", busy: !isResting(runner.state.phase) });
  reporter.start();
  const onPreview = (m: Extract<DesiredOrPreview, { kind: "preview" }>): void => {
    // The name becomes a directory: never trust it further than the rule.
    if (!isPreviewName(m.name)) return void log.warn({ preview: m.name }, "ignored a preview with an invalid name");
    if (m.cancel || !m.desired) return void previews.dispatch({ type: "cancel-requested", name: m.name, reason: "the preview was deleted or expired" });
    const d = m.desired;
    void previews.dispatch({ type: "requested", job: { name: m.name, sha256: d.sha256, revision: d.revision, files: d.files, rebootPolicy: d.rebootPolicy } });
  };
  const stopDesired = keepStreaming({
    open: () => client.watchDesiredAndPreviews(runner.state.applied?.sha256 ?? ""),
    onData: (message) => {
      if (message.kind === "preview") return onPreview(message);
      const desired = message.desired;
      // One line per bundle the coordinator sends: what a node was told, and when, is the first question after a push.
      log.info({ rev: desired.revision, sha: desired.sha256.slice(0, 12) }, "desired bundle received");
      latest = desired;
      allowedChecks = allowedClusterChecks(desired.files.find((f) => f.path === "nk/checks.json")?.content);
      appliedChecks.remember(desired.sha256, desired.checks, runner.state.applied?.sha256);
      intake.offer(desired);
    },
    onConnect: () => hello.send(),
    failover: () => client.failover(),
    log,
    what: "desired",
  });
  const stopChecks = keepStreaming({
    open: () => leaderClient.watchCheckRequests(),
    onData: (request) => {
      void executeCheck(request, allowedChecks, system, clock.now, log).then((result) => leaderClient.reportCheckResult(request.requestId, result).catch(() => undefined));
    },
    onConnect: async () => undefined,
    failover: () => leaderClient.failover(),
    log,
    what: "checks",
  });
  const stopBuilds = config.builder ? await serveBuilds(config, config.builder, client, log) : () => undefined;
  selfUpdate = new SelfUpdateWatcher({ running: runningIdentity, shipped: () => system.agentIdentity(), confirmed: () => (runner.state.phase === "confirmed" ? (runner.state.applied?.sha256 ?? "") : null), stateDir: config.stateDir, exitProcess, now: clock.now, log });
  selfUpdate.start();
  selfUpdate.nudge(); // a restart that finds its system confirmed looks at once
  // `nk-agent retry` on the node: the way out of a stuck rollback or a refused bundle, said in the failure reports.
  await mkdir(config.stateDir, { recursive: true, mode: 0o700 });
  const stopRetries = watchRetryRequests({
    stateDir: config.stateDir,
    onRequest: (request) => {
      log.info({ sha: request.sha256?.slice(0, 12), phase: runner.state.phase }, "operator retry asked on the node (nk-agent retry)");
      void runner.dispatch({ type: "operator-retry", now: clock.now(), ...(request.sha256 ? { sha256: request.sha256 } : {}) });
    },
    log,
  });

  log.info({ version: runningVersion, coordinators: config.coordinators, phase: runner.state.phase }, "agent started");
  return {
    runner,
    log,
    async stop() {
      stopRetries();
      selfUpdate.stop();
      intake.stop();
      stopDesired();
      stopChecks();
      stopBuilds();
      reporter.stop();
      leases.close();
      runner.halt();
      previews.halt();
      client.close();
      if (leaderClient !== client) leaderClient.close();
    },
  };
}
