// Shared steps of the kill -9 tests: catch an agent in a phase, kill it, and check that the apply resumed
// exactly once (one new generation, one reboot, one lease with one fencing token, health verified).
import { expect } from "vitest";
import { ApplyPhase } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { eventsOf, kernelParamsNix, type AgentCluster, type Machine } from "./agent-cluster.js";

export interface Before {
  readonly node: string;
  readonly machine: Machine;
  readonly appliedSha256: string;
  readonly starts: number;
  readonly lastSeq: number;
  readonly windows: number;
}

export async function before(cluster: AgentCluster, node: string): Promise<Before> {
  return {
    node,
    machine: await cluster.machine(node),
    appliedSha256: (await cluster.node(node)).appliedSha256,
    starts: cluster.agents.get(node)!.starts,
    lastSeq: (await cluster.events()).at(-1)?.seq ?? 0,
    windows: cluster.disruptions().length,
  };
}

/** Pushes a kernel parameter for `node` only: its bundle alone changes, and it needs a reboot lease. */
export async function pushRebootFor(cluster: AgentCluster, node: string, value: string): Promise<string> {
  await cluster.writeRepoFile(`nodes/${node}.nix`, kernelParamsNix(value));
  return cluster.push(`kernel parameter for ${node}: ${value}`);
}

export const phaseIs = (phase: ApplyPhase, revision: string) => (n: { phase: ApplyPhase; desiredRevision: string }) => n.desiredRevision === revision && n.phase === phase;

/** The log lines of the agent process now running for `node` (pino writes its pid on every line). */
async function currentProcessLog(cluster: AgentCluster, node: string): Promise<Array<{ msg: string; from?: string; to?: string }>> {
  const pid = cluster.agents.get(node)!.pid;
  const lines = (await cluster.agentLog(node)).split("\n").filter((l) => l.includes(`"pid":${pid},`));
  return lines.map((l) => JSON.parse(l) as { msg: string; from?: string; to?: string });
}

/**
 * kill -9 the agent (its persisted phase checked first), wait until the restarted process has started and
 * reported `phase` to the coordinator.
 */
export async function killAndAwaitRestart(cluster: AgentCluster, node: string, persistedPhase: string, phase: ApplyPhase): Promise<void> {
  expect((await cluster.agentState(node)).phase).toBe(persistedPhase);
  const agent = cluster.agents.get(node)!;
  const [starts, pid] = [agent.starts, agent.pid];
  const killedAt = Date.now();
  agent.kill();
  await eventually(
    async () => agent.starts > starts && agent.running && agent.pid !== pid && (await currentProcessLog(cluster, node)).some((l) => l.msg === "agent started"),
    15_000,
    `${node}'s agent to start again`,
  );
  await cluster.waitNode(node, (n) => n.connected && n.lastReportMs > killedAt && n.phase === phase, `reports ${ApplyPhase[phase]} again after the restart`);
}

/** Phase changes ("from→to") the running agent process of `node` made, from its log. */
export async function phaseChangesOfCurrentProcess(cluster: AgentCluster, node: string): Promise<string[]> {
  return (await currentProcessLog(cluster, node)).flatMap((l) => (l.msg === "apply phase" ? [`${l.from}→${l.to}`] : []));
}

/** The machine minus what a build alone may add (a store path): generations, systems, boot. */
export function untouched(m: Machine): Omit<Machine, "builtSystems"> {
  const { builtSystems: _built, ...rest } = m;
  return rest;
}

/**
 * After the kill: the node converged on `revision` with exactly one new generation, booted once into it
 * (one kill + one reboot = two starts), under one lease whose fencing token every lease event shows,
 * released as a success, with health verified after the last start, and one cordon window, closed.
 */
export async function expectResumedOnce(cluster: AgentCluster, b: Before, revision: string): Promise<void> {
  await cluster.converged(30_000);
  const n = await cluster.node(b.node);
  expect(n.appliedRevision).toBe(revision);
  expect(n.appliedSha256).not.toBe(b.appliedSha256);
  expect(n.phase).toBe(ApplyPhase.APPLY_PHASE_CONFIRMED);
  expect(n.health?.healthy).toBe(true);

  const m = await cluster.machine(b.node);
  expect(m.currentSystem).not.toBe(b.machine.currentSystem);
  expect(m.generationSystems).toEqual([...b.machine.generationSystems, m.currentSystem]);
  expect(m.bootedSystem).toBe(m.currentSystem);
  expect(m.bootDefault).toBe(m.currentSystem);
  expect(m.bootId).not.toBe(b.machine.bootId);
  expect(cluster.agents.get(b.node)!.starts).toBe(b.starts + 2);

  // The store drops the lease before the release event is appended: wait for the event.
  const events = await eventually(async () => {
    const all = (await cluster.events()).filter((e) => e.seq > b.lastSeq);
    return eventsOf(all, b.node, ["lease-released", "lease-released-failed"], revision).length > 0 ? all : undefined;
  }, 5_000, `${b.node}'s lease release event`);
  const grants = eventsOf(events, b.node, ["lease-granted"], revision);
  expect(grants).toHaveLength(1);
  const token = grants[0]!.fields.fencingToken;
  expect(token).toMatch(/^[0-9]+$/);
  const phases = eventsOf(events, b.node, ["lease-phase"], revision);
  expect(phases.length).toBeGreaterThan(0);
  expect(phases.map((e) => e.fields.fencingToken)).toEqual(phases.map(() => token));
  const released = eventsOf(events, b.node, ["lease-released", "lease-released-failed", "lease-force-released", "lease-deadline-missed"], revision);
  expect(released.map((e) => e.kind)).toEqual(["lease-released"]);
  expect(released[0]!.message).toContain(`lease #${token} released`);
  expect(events.filter((e) => e.kind === "rollout-halted")).toEqual([]);

  // The last agent process confirmed only after a passing health check made the trial-booted generation the boot
  // default (blessing; checked on the machine above).
  expect((await phaseChangesOfCurrentProcess(cluster, b.node)).slice(-2)).toEqual(["verifying→blessing", "blessing→confirmed"]);

  const windows = cluster.disruptions().slice(b.windows);
  expect(windows.map((w) => w.node)).toEqual([b.node]);
  expect(windows[0]!.toMs).toBeLessThan(Infinity);
}

/** The coordinator's leases for `node`: state and fencing token. */
export async function leasesOf(cluster: AgentCluster, node: string): Promise<Array<{ state: number; token: number }>> {
  return (await cluster.status()).leases.filter((l) => l.node === node).map((l) => ({ state: l.state, token: l.fencingToken }));
}
