// Runs seeded chaos schedules on one shared cluster: each schedule is timed steps, then heal, settle, a final
// good push and convergence, then the invariants over what the recorders saw.
import { ApplyPhase, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { disruptionWindows } from "../support/disruption-windows.js";
import type { AgentExit } from "../../demo/agent-supervisor.js";
import type { ChaosBase } from "./chaos-base.js";
import { ChaosCluster, CHAOS_NODES, K3S_SECRET } from "./chaos-cluster.js";
import { EtcdHistory } from "./etcd-history.js";
import { HA_PREFIX, HaCluster } from "./ha-cluster.js";
import { leaderEffects, leaderEffectViolations } from "./leader-effects.js";
import { DeliveryLog, pushedBundles } from "./delivery-log.js";
import { ChaosDriver } from "./chaos-driver.js";
import { concurrencyViolations, convergedViolations, readMachine, rebootViolations, settledViolations } from "./chaos-invariants.js";
import { ChaosRecorder } from "./chaos-recorder.js";
import { vipViolations } from "./vip-invariant.js";
import { describeSchedule, makeSchedule } from "./chaos-schedule.js";
import { LeaseJournal, type Limits } from "./lease-journal.js";
import type { ScriptedSchedule } from "./scripted-schedules.js";
import { scheduleSeed } from "./seeded-random.js";
import { brief, waitStatus } from "./status-wait.js";

export interface ChaosRunOptions {
  readonly seed: number;
  readonly schedules: number;
  /** Steps per schedule. */
  readonly steps: number;
  readonly nodes?: readonly string[];
  readonly limits?: Limits;
  readonly timeScale?: number;
  readonly log?: (line: string) => void;
  /** Stop at the first schedule with a violation (the cluster is kept for inspection either way on failure). */
  readonly stopOnViolation?: boolean;
  /** Print every schedule's steps, not only failing ones. */
  readonly verbose?: boolean;
  /** No new schedule starts once this much time has passed since the start (CI keeps its wall time bounded). */
  readonly budgetMs?: number;
  /** No new schedule starts once this is aborted (a long run stopped by hand still checks and sums up what ran). */
  readonly stop?: AbortSignal;
  /** Keep the work dir (logs, state) when something failed; default true. */
  readonly keepOnFailure?: boolean;
  /** Fixed scenarios run first, on the same cluster and under the same invariants (regressions chaos found). */
  readonly scripted?: readonly ScriptedSchedule[];
  /** Three coordinators on a three-member etcd (HaCluster) instead of one on the file store; scripted schedules are skipped. */
  readonly ha?: boolean;
  /** The daemons' log level (default info); debug shows every report, retry and etcd call for a replay. */
  readonly logLevel?: string;
  /** Each schedule's outcome as soon as it is known (a ledger records it there, before the run ends). */
  readonly onResult?: (result: ScheduleResult) => void;
}

/** The fencing journal the runner reads: events.jsonl on the file store, etcd's revision history in HA. */
type FencingJournal = Pick<LeaseJournal, "readNew" | "takeViolations" | "openLeases" | "lastHaltAtMs" | "gaps" | "grants" | "peak">;

export interface ScheduleResult {
  readonly index: number;
  /** The seed that replays it; null for a scripted schedule. */
  readonly seed: number | null;
  /** "seed N", or the scripted schedule's name. */
  readonly label: string;
  readonly description: string;
  readonly violations: string[];
  readonly durationMs: number;
  /** Where the time went: the steps, settling after the heal, the final push's convergence, the checks. */
  readonly phasesMs: { steps: number; settle: number; converge: number; checks: number };
  /** Steps by kind ("push", "coordinator-kill", ...). */
  readonly actions: Record<string, number>;
  /** HA: drains and uncordons checked against etcd's leadership record. */
  readonly effects?: number;
}

export interface ChaosRunResult {
  readonly seed: number;
  readonly results: ScheduleResult[];
  readonly violations: number;
  /** Lease events lost to a kill -9 between state.json and the journal (reconciled, not violations). */
  readonly journalGaps: string[];
  readonly grants: number;
  readonly peakLeases: number;
  /** What the schedules did and what the recorders saw, for the summary. */
  readonly stats: Record<string, number>;
  readonly workDir: string;
  readonly setupMs: number;
  /** The whole run's own checks (acknowledged pushes lost), also counted on its last schedule. */
  readonly runViolations: string[];
}

export function summaryLine(r: ChaosRunResult, ha = false): string {
  return `chaos: ${r.results.length} ${ha ? "HA " : ""}schedules, ${r.violations} violations`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const QUIET = new Set([ApplyPhase.APPLY_PHASE_IDLE, ApplyPhase.APPLY_PHASE_CONFIRMED, ApplyPhase.APPLY_PHASE_ROLLED_BACK, ApplyPhase.APPLY_PHASE_FAILED, ApplyPhase.APPLY_PHASE_WAITING_LEASE]);

export async function runChaos(options: ChaosRunOptions): Promise<ChaosRunResult> {
  const log = options.log ?? (() => undefined);
  const nodes = options.nodes ?? CHAOS_NODES.slice(0, 3);
  const limits = options.limits ?? { total: 1, servers: 1 };
  const started = Date.now();
  let recorder: ChaosRecorder | undefined;
  const clusterOptions = { nodes, limits, timeScale: options.timeScale ?? 0.05, ...(options.logLevel !== undefined && { logLevel: options.logLevel }), onAgentExit: (e: AgentExit, at: number) => recorder?.onAgentExit(e, at) };
  const cluster: ChaosBase = options.ha ? await HaCluster.start(clusterOptions) : await ChaosCluster.start(clusterOptions);
  recorder = new ChaosRecorder(new Map(nodes.map((n) => [n, cluster.simDir(n)])));
  const isServer = (n: string) => cluster.roles.get(n) === "server";
  let history: EtcdHistory | null = null;
  let journal: FencingJournal;
  let fileJournal: LeaseJournal | null = null;
  if (cluster instanceof ChaosCluster) journal = fileJournal = new LeaseJournal(cluster.stateDir, limits, isServer);
  else journal = history = await EtcdHistory.start((cluster as HaCluster).etcdClient, HA_PREFIX, limits, isServer);
  const driver = new ChaosDriver(cluster, recorder, fileJournal);
  const deliveries = new DeliveryLog(new Map(nodes.map((n) => [n, cluster.agentLog(n)])));
  const results: ScheduleResult[] = [];
  let failed = false;
  try {
    recorder.startBootPoll();
    const first = await converge(cluster, driver, cluster instanceof HaCluster ? 240_000 : 120_000);
    if (first.length > 0) throw new Error(`the cluster did not converge before the chaos began: ${first.join("; ")}`);
    const setupMs = Date.now() - started;
    log(`chaos: cluster of ${nodes.length} (${nodes.join(", ")}), max_unavailable ${limits.total}/${limits.servers} servers, ready in ${(setupMs / 1000).toFixed(1)} s, state in ${cluster.workDir}`);
    const scripted = cluster instanceof ChaosCluster ? (options.scripted ?? []).map((script) => scriptedBody(script, cluster, driver)) : [];
    const bodies: ScheduleBody[] = [...scripted, ...Array.from({ length: options.schedules }, (_, i) => seededBody(scheduleSeed(options.seed, i), options.steps, cluster, driver))];
    for (const [i, body] of bodies.entries()) {
      // The budget never skips the first seeded schedule: a slow machine still runs some random chaos.
      const firstSeeded = i === scripted.length;
      if (options.budgetMs !== undefined && !firstSeeded && Date.now() - started > options.budgetMs) {
        log(`chaos: time budget of ${options.budgetMs / 1000} s used up after ${i} schedules`);
        break;
      }
      if (options.stop?.aborted) {
        log(`chaos: stopped by hand after ${i} schedules`);
        break;
      }
      const result = await runSchedule(cluster, driver, recorder, journal, history, deliveries, i, body);
      results.push(result);
      options.onResult?.(result);
      const verdict = result.violations.length === 0 ? "ok" : `${result.violations.length} VIOLATION(S):\n    ${result.violations.join("\n    ")}`;
      const p = result.phasesMs;
      const took = `${(result.durationMs / 1000).toFixed(1)} s = steps ${p.steps} + settle ${p.settle} + converge ${p.converge} + checks ${p.checks} ms`;
      log(`chaos: schedule ${i + 1}/${bodies.length} ${result.label} (${took}): ${verdict}${result.violations.length || options.verbose ? `\n    steps: ${result.description}` : ""}`);
      if (result.violations.length > 0) failed = true;
      if (failed && options.stopOnViolation) break;
    }
    await recorder.stop();
    // Whole run: every acknowledged push is still there.
    const lost = await cluster.missingPushes(recorder.pushes.filter((p) => p.acked).map((p) => p.sha));
    if (lost.length > 0 && results.length > 0) {
      results[results.length - 1]!.violations.push(...lost);
      failed = true;
    }
    const violations = results.reduce((n, r) => n + r.violations.length, 0);
    const stats: Record<string, number> = {
      reboots: recorder.exits.filter((e) => e.code === 75).length,
      "boot-id changes": recorder.bootChanges.length,
      "pushes acknowledged": recorder.pushes.filter((p) => p.acked).length,
      "pushes refused or lost": recorder.pushes.filter((p) => !p.acked).length,
      "bundles sent to agents": deliveries.seen,
    };
    for (const r of results) for (const [kind, n] of Object.entries(r.actions)) stats[kind] = (stats[kind] ?? 0) + n;
    if (history) {
      stats["leadership terms"] = history.terms.length;
      stats["leader effects checked"] = results.reduce((n, r) => n + (r.effects ?? 0), 0);
    }
    return { seed: options.seed, results, violations, journalGaps: journal.gaps, grants: journal.grants, peakLeases: journal.peak, stats, workDir: cluster.workDir, setupMs, runViolations: results.length > 0 ? lost : [] };
  } catch (err) {
    failed = true;
    throw err;
  } finally {
    await recorder.stop();
    await history?.close();
    await cluster.close();
    if (failed && options.keepOnFailure !== false) log(`chaos: keeping ${cluster.workDir} (coordinator.log, nodes/*/agent.log, state/) for inspection`);
    else await cluster.remove();
  }
}

/** What one schedule does before the heal: its steps, and how to name and replay it. */
interface ScheduleBody {
  readonly seed: number | null;
  readonly label: string;
  readonly description: string;
  readonly actions: Record<string, number>;
  /** Runs the steps; resolves with what went wrong while acting. */
  run(): Promise<string[]>;
}

function seededBody(seed: number, steps: number, cluster: ChaosBase, driver: ChaosDriver): ScheduleBody {
  const nodes = cluster.options.nodes;
  const schedule = makeSchedule(seed, { nodes, servers: nodes.filter((n) => cluster.roles.get(n) === "server"), steps, ha: cluster instanceof HaCluster });
  const actions: Record<string, number> = {};
  // A cut that drops packets is counted apart: it is the one only the leader's own clock can notice.
  for (const { action } of schedule.steps) {
    const kind = action.kind === "etcd-cut" && action.drop ? "etcd-drop" : action.kind;
    actions[kind] = (actions[kind] ?? 0) + 1;
  }
  return {
    seed,
    label: `seed ${seed}`,
    description: describeSchedule(schedule),
    actions,
    async run() {
      // Each step at its time; a step with a duration (a cut, a flap, a downtime) runs alongside the next ones.
      const problems: string[] = [];
      const startMs = Date.now();
      const running: Array<Promise<void>> = [];
      for (const step of schedule.steps) {
        await sleep(startMs + step.atMs - Date.now());
        running.push(driver.perform(step.action).catch((err: unknown) => void problems.push(`step failed: ${(err as Error).message.slice(0, 300)}`)));
      }
      await Promise.all(running);
      return problems;
    },
  };
}

function scriptedBody(script: ScriptedSchedule, cluster: ChaosCluster, driver: ChaosDriver): ScheduleBody {
  return {
    seed: null,
    label: `scripted "${script.name}"`,
    description: script.description,
    actions: { scripted: 1 },
    run: () => script.run(cluster, driver).then(() => [], (err: unknown) => [`scripted step failed: ${(err as Error).message.slice(0, 500)}`]),
  };
}

/**
 * A view at rest has heard from every node lately (agents report every second here). With several coordinators the
 * leader learns of a follower's reports through etcd, and on a loaded machine that lagged by seconds: seed 25400051's
 * settle read a node as rolled back 5 s after it had confirmed the next bundle, and checked the machine against that.
 */
const FRESH_VIEW_MS = 4_000;

/**
 * Only a node stuck after a failed rollback keeps a lease at rest (until an operator or a new bundle acts).
 * `needLeader` (HA): with nobody leading, status() answers with any follower's view, whose copy of a report another
 * coordinator took lags its telemetry sync: seed 26900621 read n3 as failed (an older push's build) twice in a row
 * while n3 had been handed the newest bundle and was verifying it, and judged the machine mid-apply. A leaderless
 * cluster is not at rest anyway: nothing can be granted.
 */
function settledKey(s: GetStatusResponse, nodes: readonly string[], nowMs = Date.now(), needLeader = false): string | null {
  if (needLeader && !s.leader) return null;
  const phase = new Map(s.nodes.map((n) => [n.name, n.phase]));
  const quiet = s.nodes.length === nodes.length && s.nodes.every((n) => n.connected && QUIET.has(n.phase) && nowMs - n.lastReportMs < FRESH_VIEW_MS);
  const applied = s.nodes.every((n) => (n.phase !== ApplyPhase.APPLY_PHASE_CONFIRMED && n.phase !== ApplyPhase.APPLY_PHASE_IDLE) || n.appliedSha256 === n.desiredSha256);
  const held = s.leases.filter((l) => l.state !== LeaseState.LEASE_STATE_QUEUED);
  const stuck = held.length > 0 && held.every((l) => phase.get(l.node) === ApplyPhase.APPLY_PHASE_FAILED);
  const waiting = s.nodes.some((n) => n.phase === ApplyPhase.APPLY_PHASE_WAITING_LEASE) || s.leases.length > held.length;
  if (!quiet || !applied || (held.length > 0 && !stuck) || (waiting && !s.rollout?.halted && !stuck)) return null;
  return s.nodes.map((n) => `${n.name}:${n.phase}:${n.appliedSha256}:${n.desiredSha256}`).join(",") + held.map((l) => l.node).join(",");
}

async function runSchedule(cluster: ChaosBase, driver: ChaosDriver, recorder: ChaosRecorder, journal: FencingJournal, history: EtcdHistory | null, deliveries: DeliveryLog, index: number, body: ScheduleBody): Promise<ScheduleResult> {
  const nodes = cluster.options.nodes;
  const startMs = Date.now();
  const from = { exits: recorder.exits.length, changes: recorder.bootChanges.length, pushes: recorder.pushes.length, vip: recorder.vipSamples.length, kube: cluster.kube.requests.length };
  const violations: string[] = [...(await body.run())];
  await driver.healInfrastructure();
  const stepsDone = Date.now();

  // Settled with the faults still in place: bad bundles rolled back, halts holding the others.
  // HA is slower to settle: every revision goes through the upstream and three fetches, and the leader learns of a
  // node's reboot through etcd when the agent's hello went to a follower.
  const settleMs = cluster instanceof HaCluster ? 90_000 : 45_000;
  const settled = await waitStatus(cluster, settleMs, (s) => settledKey(s, nodes, Date.now(), cluster instanceof HaCluster), true);
  if (!settled.ok) violations.push(`did not settle within ${settleMs / 1000} s after healing: ${brief(settled.last)}`);
  else {
    // A new push is the operator's answer to a halt: a halt still in force must be newer than the last acknowledged push.
    await journal.readNew();
    const lastPush = recorder.pushes.filter((p) => p.acked).at(-1);
    if (settled.last!.rollout?.halted && lastPush && journal.lastHaltAtMs < lastPush.startedAtMs) {
      violations.push(`rollout still halted ("${settled.last!.rollout.haltReason}") although push ${lastPush.sha.slice(0, 12)} was acknowledged after the halt`);
    }
    for (const n of settled.last!.nodes) {
      // The bundle the node's report names: the desired one may have moved on since (seed 27300563: a push reverted n2
      // to the bundle it was rolling back onto, and that desired bundle is not the one it rolled back from).
      const rolledBackFrom = n.phase === ApplyPhase.APPLY_PHASE_ROLLED_BACK ? n.reportedSha256 || n.desiredSha256 : null;
      violations.push(...settledViolations(n.name, await readMachine(cluster.simDir(n.name)), rolledBackFrom));
    }
  }

  // Heal the faults, push a good revision that changes every node, and wait for all of it to land.
  const settleDone = Date.now();
  await driver.healFaults();
  violations.push(...(await converge(cluster, driver, cluster instanceof HaCluster ? 150_000 : 90_000)));
  const convergeDone = Date.now();

  // The invariants over what was recorded during this schedule.
  await recorder.pollOnce();
  const windows = disruptionWindows(cluster.kube).filter((w) => w.toMs >= startMs);
  violations.push(...concurrencyViolations(windows, cluster.options.limits, (n) => cluster.roles.get(n) === "server"));
  violations.push(...windows.filter((w) => w.toMs === Infinity).map((w) => `${w.node} is still cordoned after convergence`));
  violations.push(...rebootViolations(recorder.exits.slice(from.exits), recorder.bootChanges.slice(from.changes), windows));
  violations.push(...vipViolations(recorder.vipSamples.slice(from.vip), windows));
  await journal.readNew();
  violations.push(...journal.takeViolations());
  const open = journal.openLeases();
  if (open.size > 0) violations.push(`the journal shows leases never released: ${[...open].map(([n, t]) => `${n} #${t}`).join(", ")}`);
  let effects: number | undefined;
  if (history) {
    // Every drain and uncordon came from the coordinator etcd's election shows leading at that moment.
    const seen = leaderEffects(cluster.kube.requests.slice(from.kube), HaCluster.coordinatorOf, history.terms);
    effects = seen.length;
    violations.push(...leaderEffectViolations(seen, history.terms));
  }
  violations.push(...driver.problems.splice(0));
  violations.push(...(await deliveries.check(pushedBundles(recorder.pushes, nodes))));
  violations.push(...(await cluster.missingPushes(recorder.pushes.slice(from.pushes).filter((p) => p.acked).map((p) => p.sha))));
  violations.push(...(await cluster.missingNodes()));
  // All nodes' fetches at once (each on a client of its own), reported in node order as before.
  const secrets = await Promise.all(nodes.map((node) => cluster.fetchSecretAs(node).catch((err: Error) => `error: ${err.message}`)));
  for (const [k, node] of nodes.entries()) {
    const secret = secrets[k]!;
    if (secret !== K3S_SECRET) violations.push(`${node}'s enrollment token no longer fetches its secret (${secret.slice(0, 100)})`);
  }
  const end = Date.now();
  const phasesMs = { steps: stepsDone - startMs, settle: settleDone - stepsDone, converge: convergeDone - settleDone, checks: end - convergeDone };
  return { index, seed: body.seed, label: body.label, description: body.description, violations, durationMs: end - startMs, phasesMs, actions: body.actions, ...(effects !== undefined && { effects }) };
}

/** Final good push, then every node (status and machine) on exactly the bundle rendered from it. */
async function converge(cluster: ChaosBase, driver: ChaosDriver, timeoutMs: number): Promise<string[]> {
  const nodes = cluster.options.nodes;
  await driver.finalPush();
  const expected = await cluster.renderedShas();
  const done = await waitStatus(cluster, timeoutMs, (s) => {
    const ok =
      s.nodes.length === nodes.length &&
      s.nodes.every((n) => n.connected && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED && n.desiredSha256 === expected.get(n.name) && n.appliedSha256 === n.desiredSha256) &&
      s.leases.length === 0;
    return ok ? "converged" : null;
  });
  if (!done.ok) return [`did not converge on the final revision within ${timeoutMs / 1000} s: ${brief(done.last)}`];
  const out: string[] = [];
  for (const node of nodes) out.push(...convergedViolations(node, await readMachine(cluster.simDir(node)), expected.get(node)!));
  return out;
}
