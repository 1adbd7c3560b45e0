// Builds the agent's object graph from its config and runs it; the only place that wires parts together.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { readSecretFile } from "../../shared/src/config/index.js";
import { errorMessage } from "../../shared/src/errors/index.js";
import { createLogger, type Logger } from "../../shared/src/log/index.js";
import { NK_VERSION } from "../../shared/src/version/index.js";
import type { DesiredBundle } from "../../shared/src/wire/index.js";
import { ApplyRunner, DEFAULT_MACHINE_CONFIG, isResting, systemHealthProbe, type Clock } from "./apply/index.js";
import { Backoff, CoordinatorClient, GrpcLeaseClient, newestOnly, ReportSender, isUnavailable, type ServerStream } from "./client/index.js";
import type { AgentConfig } from "./config/index.js";
import { SystemFacts } from "./facts/index.js";
import { AppliedChecks, allowedClusterChecks, executeCheck, nodeHealthNow } from "./health/index.js";
import { takeGuardRollback, writeAlive } from "./guard/index.js";
import { SecretWriter } from "./secrets/index.js";
import { StateStore } from "./state/index.js";
import { NixosSystem, ProcessRunner, SimSystem, type System } from "./system/index.js";

/** Exit code that asks the supervisor (systemd, or the demo's) to start the agent again at once. */
export const RESTART_EXIT_CODE = 76;

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

const STREAM_PROVEN_MS = 5_000;

/** Keeps a server stream open for as long as the agent runs, reconnecting with jittered backoff. */
function keepStreaming<T>(open: () => ServerStream<T>, onData: (value: T) => void, onConnect: () => Promise<void>, failover: () => void, log: Logger, what: string): () => void {
  const backoff = new Backoff({ initialMs: 250, maxMs: 15_000, random: Math.random });
  let stopped = false;
  let current: ServerStream<T> | null = null;
  let retry: NodeJS.Timeout | null = null;
  const connect = (): void => {
    if (stopped) return;
    onConnect()
      .then(() => {
        if (stopped) return;
        const stream = open();
        current = stream;
        const openedAt = Date.now();
        let healthy = false;
        stream.on("data", (value) => {
          healthy = true;
          onData(value);
        });
        const again = (reason: string): void => {
          if (current !== stream || stopped) return;
          current = null;
          // A stream that carried data or stayed up a while was a success: the next failure starts the backoff over
          // (the check stream may go minutes without a message).
          if (healthy || Date.now() - openedAt >= STREAM_PROVEN_MS) backoff.reset();
          const wait = backoff.next();
          log.warn({ stream: what, reason, retryInMs: wait }, "stream lost; reconnecting");
          retry = setTimeout(connect, wait);
        };
        stream.on("error", (err) => {
          // This coordinator is away (or refuses as a follower): try the next address.
          if (isUnavailable(err)) failover();
          again(errorMessage(err));
        });
        stream.on("end", () => again("ended by the coordinator"));
      })
      .catch((err: unknown) => {
        // As for a lost stream: the next address, or a fresh channel when there is only one.
        if (isUnavailable(err)) failover();
        const wait = backoff.next();
        log.warn({ stream: what, err: errorMessage(err), retryInMs: wait }, "cannot reach the coordinator; retrying");
        retry = setTimeout(connect, wait);
      });
  };
  connect();
  return () => {
    stopped = true;
    if (retry) clearTimeout(retry);
    current?.cancel();
  };
}

async function openSystem(config: AgentConfig, exitProcess: (code: number) => never): Promise<System> {
  if (config.system.kind === "sim") return SimSystem.open({ dir: config.system.dir, node: config.node, timeScale: config.system.timeScale, exitProcess });
  return new NixosSystem({ runner: new ProcessRunner(), hardwareConfig: config.system.hardwareConfig });
}

export async function startAgent(config: AgentConfig, options: { log?: Logger; exitProcess?: (code: number) => never } = {}): Promise<RunningAgent> {
  const log = (options.log ?? createLogger({ name: "nk-agent", level: config.logLevel })).child({ node: config.node });
  const exitProcess = options.exitProcess ?? ((code: number) => process.exit(code));
  const token = await readSecretFile(config.tokenFile, "node token");
  const ca = config.caFile === "insecure" ? "insecure" : await readFile(config.caFile, "utf8");
  const system = await openSystem(config, exitProcess);
  // Which agent this process is: its unit's store path on NixOS; under SimSystem the version the running
  // generation pins (a restart "installs" it), which is also the version it reports.
  const runningIdentity = await system.agentIdentity();
  const runningVersion = config.system.kind === "sim" ? (runningIdentity ?? NK_VERSION) : NK_VERSION;
  let guardRollback = await takeGuardRollback(config.stateDir);
  if (guardRollback) log.error({ from: guardRollback.from, to: guardRollback.to, reason: guardRollback.reason }, "the self-update guard rolled this node back: the new agent never came up");

  const store = new StateStore({ path: join(config.stateDir, "state.json"), now: clock.now, log });
  const loaded = await store.load();
  if (loaded.recovered) log.error({ err: loaded.recovered.message, movedTo: loaded.corruptPath }, "agent state was unreadable; started from a safe idle state");

  const client = new CoordinatorClient({ addresses: config.coordinators, node: config.node, token, ca });
  // Leases and cluster checks need the leader; desired state and reports may go to any coordinator.
  const leaderClient = config.coordinators.length > 1 ? new CoordinatorClient({ addresses: config.coordinators, node: config.node, token, ca }) : client;
  const facts = new SystemFacts({ refreshMs: 60_000, now: clock.now, diskMount: "/nix" });
  const secrets = new SecretWriter(config.secretsDir);
  let latest: DesiredBundle | null = null;
  // The applied bundle's node checks, even once a newer bundle is known (else an unhealthy node would look healthy).
  const appliedChecks = new AppliedChecks(join(config.stateDir, "bundles"));
  const machine = async () => ({ bootId: await system.bootId(), bootedSystem: await system.bootedSystem(), currentSystem: await system.currentSystem() });

  let runner: ApplyRunner;
  const reporter = new ReportSender({
    client,
    state: () => runner.state,
    facts: () => facts.get(),
    machine,
    health: async () => {
      const applied = await appliedChecks.of(runner.state.applied?.sha256);
      return nodeHealthNow({ system, checks: () => [...applied, ...config.healthChecks.map((c) => ({ ...c, timeoutMs: c.timeoutSeconds * 1000 }))], unit: "k3s.service", now: clock.now });
    },
    heartbeatMs: config.reportIntervalSeconds * 1000,
    now: clock.now,
    log,
    agentVersion: runningVersion,
    onHalt: (halt, reason) => halt && log.debug({ reason }, "coordinator holds back disruptive steps"),
  });
  const leases = new GrpcLeaseClient({
    client: leaderClient,
    bootId: () => system.bootId(),
    onLost: (fencingToken, reason) => void runner.dispatch({ type: "lease-lost", now: clock.now(), fencingToken, reason }),
    log,
  });
  const probe = systemHealthProbe(system);
  runner = new ApplyRunner(
    {
      node: config.node,
      system,
      store,
      leases,
      reporter,
      // Local health plus "the coordinator is reachable": a node cut off from it must not confirm.
      health: {
        async probe(systemPath, checks, signal) {
          const local = await probe.probe(systemPath, checks, signal);
          if (!local.healthy) return local;
          try {
            await client.hello({ agentVersion: runningVersion, bootId: await system.bootId(), bootedSystem: "", currentSystem: systemPath, systemInfo: undefined, appliedRevision: "", appliedSha256: "", phase: 0, heldFencingToken: 0 });
            return local;
          } catch (err) {
            return { healthy: false, reason: `coordinator unreachable: ${errorMessage(err)}` };
          }
        },
      },
      clock,
      log,
      config: { ...DEFAULT_MACHINE_CONFIG, bundleRoot: join(config.stateDir, "bundles") },
      onFatal: (err) => {
        log.fatal({ err: errorMessage(err) }, "cannot continue; exiting so the service manager restarts the agent");
        exitProcess(1);
      },
    },
    loaded.state,
  );

  const fetchSecrets = async (desired: DesiredBundle): Promise<void> => {
    if (desired.secretNames.length === 0) return;
    const written = await secrets.writeAll(await client.fetchSecrets(desired.secretNames));
    log.debug({ files: written.length }, "secrets written");
  };

  // In arrival order: a bundle superseded while its secrets were fetched is not applied after the newer one. A bundle
  // whose secrets cannot be fetched waits (k3s without its token would fail and mark a good bundle bad), retried.
  const secretRetries = new Set<() => void>();
  const secretsBackoff = new Backoff({ initialMs: 2_000, maxMs: 60_000, random: Math.random });
  const intake = newestOnly(
    fetchSecrets,
    (desired: DesiredBundle) => {
      secretsBackoff.reset();
      void runner.dispatch({ type: "desired-received", now: clock.now(), desired });
    },
    {
      delayMs: () => Math.max(1_000, secretsBackoff.next()),
      setTimer: (ms, fn) => {
        const cancel = clock.setTimer(ms, () => (secretRetries.delete(cancel), fn()));
        secretRetries.add(cancel);
      },
      onFailed: (desired, err, retryInMs) => {
        log.warn({ err: errorMessage(err), revision: desired.revision, retryInMs }, "could not fetch secrets; the bundle waits");
        void runner.dispatch({ type: "secrets-failed", now: clock.now(), revision: desired.revision, sha256: desired.sha256, error: `${errorMessage(err)} (next try in ${Math.round(retryInMs / 1000)} s)` });
      },
    },
  );

  let aliveWritten = false;
  const hello = async (): Promise<void> => {
    const s = runner.state;
    const m = await machine();
    await client.hello({ agentVersion: runningVersion, ...m, systemInfo: await facts.get(), appliedRevision: s.applied?.revision ?? "", appliedSha256: s.applied?.sha256 ?? "", phase: 0, heldFencingToken: s.lease?.fencingToken ?? 0 });
    // Tells the self-update guard that this agent package came up and reached a coordinator.
    if (!aliveWritten) aliveWritten = await writeAlive(config.stateDir, process.env.NK_AGENT_PACKAGE, runningVersion, new Date(clock.now()));
    if (guardRollback) {
      reporter.report({ phase: "rolled-back", revision: s.applied?.revision ?? "", sha256: s.applied?.sha256 ?? "", error: `self-update guard rolled back ${guardRollback.from}: ${guardRollback.reason}`, fencingToken: null });
      guardRollback = null;
    }
  };

  // A withdrawal lost to a crash or an outage would leave a request or an unstarted grant at the coordinator.
  if (!loaded.state.lease && isResting(loaded.state.phase)) void leases.withdraw("agent started holding no lease");
  await runner.start();
  reporter.start();
  const stopDesired = keepStreaming(
    () => client.watchDesired(runner.state.applied?.sha256 ?? ""),
    (desired) => {
      latest = desired;
      appliedChecks.remember(desired.sha256, desired.checks, runner.state.applied?.sha256);
      intake(desired);
    },
    hello,
    () => client.failover(),
    log,
    "desired",
  );
  const stopChecks = keepStreaming(
    () => leaderClient.watchCheckRequests(),
    (request) => {
      const allowed = allowedClusterChecks(latest?.files.find((f) => f.path === "nk/checks.json")?.content);
      void executeCheck(request, allowed, system, clock.now, log).then((result) => leaderClient.reportCheckResult(request.requestId, result).catch(() => undefined));
    },
    async () => undefined,
    () => leaderClient.failover(),
    log,
    "checks",
  );

  // Self-update: once the system that ships a new agent is confirmed, restart into it (the unit has restartIfChanged = false).
  const selfUpdate = setInterval(() => {
    if (runner.state.phase !== "confirmed") return;
    void system.agentIdentity().then((shipped) => {
      if (shipped && shipped !== runningIdentity) {
        log.info({ running: runningIdentity, shipped }, "restarting into the agent the confirmed system ships");
        void writeFile(join(config.stateDir, "self-update.json"), JSON.stringify({ from: runningIdentity, to: shipped, atMs: clock.now() })).finally(() => exitProcess(RESTART_EXIT_CODE));
      }
    });
  }, 1_000);
  selfUpdate.unref();

  log.info({ version: runningVersion, coordinators: config.coordinators, phase: runner.state.phase }, "agent started");
  return {
    runner,
    log,
    async stop() {
      clearInterval(selfUpdate);
      for (const cancel of secretRetries) cancel();
      stopDesired();
      stopChecks();
      reporter.stop();
      leases.close();
      runner.halt();
      client.close();
      if (leaderClient !== client) leaderClient.close();
    },
  };
}
