// Agent integration: a harmless change switches in place, an unchanged node does nothing, a build error
// leaves the machine untouched, a failed activation rolls back and `nk-agent retry` tries it again, a guard rollback
// is followed (real coordinator, agent processes, gRPC).
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliEnv } from "../support/cli-env.js";
import { REPO_ROOT } from "../support/repo-root.js";
import { ApplyPhase } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventsOf, NODES, startAgentCluster, type AgentCluster, type Doc, type Machine } from "./agent-cluster.js";

const execFileP = promisify(execFile);

const LEASE_KINDS = ["lease-queued", "lease-granted", "lease-phase", "lease-released", "lease-released-failed"];

/** Another admin key: only nk/users.nix changes, which needs neither a reboot nor a k3s restart. */
function addAdminKey(n: number): (doc: Doc) => void {
  return (doc) => {
    const keys = doc.getIn(["cluster", "admin", "ssh_keys"]) as { add(v: string): void };
    keys.add(`ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHnkExampleKeyForTestsOnly${String(n).padStart(20, "0")} ops@test-${n}`);
  };
}

async function snapshot(cluster: AgentCluster) {
  const status = await cluster.status();
  const machines = new Map<string, Machine>();
  for (const n of NODES) machines.set(n, await cluster.machine(n));
  const events = await cluster.events();
  return {
    applied: new Map(status.nodes.map((n) => [n.name, n.appliedSha256])),
    machines,
    starts: new Map([...cluster.agents].map(([n, a]) => [n, a.starts])),
    kubePatches: cluster.kube.calls("PATCH", "/api/v1/nodes/").length,
    lastSeq: events.at(-1)?.seq ?? 0,
  };
}

const buildingCount = (log: string) => log.split("\n").filter((l) => l.includes('"msg":"apply phase"') && l.includes('"to":"building"')).length;

describe("agent apply outcomes", () => {
  let cluster: AgentCluster;

  beforeAll(async () => {
    cluster = await startAgentCluster();
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("applies a users.nix change by switching in place: no reboot, no lease, no cordon, no agent restart", async () => {
    const before = await snapshot(cluster);
    await cluster.edit(addAdminKey(1));
    const revision = await cluster.push("add an admin key");
    const status = await cluster.converged(15_000);

    for (const n of status.nodes) {
      expect(n.appliedRevision).toBe(revision);
      expect(n.appliedSha256).not.toBe(before.applied.get(n.name));
      expect(n.health?.healthy).toBe(true);
      const was = before.machines.get(n.name)!;
      const now = await cluster.machine(n.name);
      // One new generation, switched to and made the boot default, on the same boot.
      expect(now.currentSystem).not.toBe(was.currentSystem);
      expect(now.generationSystems).toEqual([...was.generationSystems, now.currentSystem]);
      expect(now.bootDefault).toBe(now.currentSystem);
      expect(now.bootedSystem).toBe(was.bootedSystem);
      expect(now.bootId).toBe(was.bootId);
      expect(cluster.agents.get(n.name)!.starts).toBe(before.starts.get(n.name));
    }
    expect(cluster.kube.calls("PATCH", "/api/v1/nodes/").length).toBe(before.kubePatches);
    const since = (await cluster.events()).filter((e) => e.seq > before.lastSeq);
    expect(since.filter((e) => LEASE_KINDS.includes(e.kind))).toEqual([]);
    expect(since.find((e) => e.kind === "revision-adopted")?.fields.changed).toBe("n1,n2,n3");
  });

  it("does nothing on a node whose bundle a push leaves unchanged", async () => {
    const before = await snapshot(cluster);
    const builds = new Map<string, number>();
    for (const n of NODES) builds.set(n, buildingCount(await cluster.agentLog(n)));
    await cluster.writeRepoFile("nodes/n1.nix", `# n1 only\n{ ... }:\n{\n  environment.variables.NK_TEST = "n1";\n}\n`);
    const revision = await cluster.push("extra config for n1 only");
    const status = await cluster.converged(15_000);

    const n1 = status.nodes.find((n) => n.name === "n1")!;
    expect(n1.appliedRevision).toBe(revision);
    expect(n1.appliedSha256).not.toBe(before.applied.get("n1"));
    expect((await cluster.machine("n1")).generationSystems).toEqual([...before.machines.get("n1")!.generationSystems, (await cluster.machine("n1")).currentSystem]);
    expect(buildingCount(await cluster.agentLog("n1"))).toBe(builds.get("n1")! + 1);
    for (const name of ["n2", "n3"]) {
      const n = status.nodes.find((x) => x.name === name)!;
      expect(n.appliedSha256).toBe(before.applied.get(name));
      expect(n.phase).toBe(ApplyPhase.APPLY_PHASE_CONFIRMED);
      // Not built, not activated: the same store paths and generations, and no building phase in its log.
      expect(await cluster.machine(name)).toEqual(before.machines.get(name));
      expect(buildingCount(await cluster.agentLog(name))).toBe(builds.get(name));
    }
    const adopted = (await cluster.events()).filter((e) => e.seq > before.lastSeq && e.kind === "revision-adopted");
    expect(adopted.map((e) => e.fields.changed)).toEqual(["n1"]);
  });

  it("reports a build error and leaves the machine untouched, without asking for a lease", async () => {
    const before = await snapshot(cluster);
    await cluster.setFaults("n2", { "*": ["build-error"] });
    await cluster.edit(addAdminKey(2));
    const revision = await cluster.push("another admin key");

    const n2 = await cluster.waitNode("n2", (n) => n.desiredRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_FAILED, "reports the failed build");
    expect(n2.lastError).toContain("simulated build failure");
    expect(n2.appliedSha256).toBe(before.applied.get("n2"));
    // The other nodes are not held back by a harmless change failing elsewhere.
    for (const name of ["n1", "n3"]) await cluster.waitNode(name, (n) => n.appliedRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED, "applies the revision");

    const was = before.machines.get("n2")!;
    const now = await cluster.machine("n2");
    expect(now).toEqual(was);
    expect(cluster.agents.get("n2")!.starts).toBe(before.starts.get("n2"));
    const state = await cluster.agentState("n2");
    expect(state.phase).toBe("failed");
    expect(state.lease).toBeNull();
    const since = (await cluster.events()).filter((e) => e.seq > before.lastSeq);
    expect(eventsOf(since, "n2", LEASE_KINDS)).toEqual([]);
    // A failed node halts disruptive steps of its revision on the others, lease or not, until a new push.
    const { rollout } = await cluster.status();
    expect(rollout).toMatchObject({ halted: true, haltReason: expect.stringMatching(/^node n2 failed: .*simulated build failure/) });
    expect(since.filter((e) => e.kind === "rollout-halted").map((e) => [e.node, e.revision])).toEqual([["n2", revision]]);
    await cluster.setFaults("n2", {});
  });

  it("rolls back a failed activation to the previous generation and reports why", async () => {
    // Hold n3's build until the new bundle's sha is known, then make exactly that bundle fail to activate.
    await cluster.setFaults("n3", { "*": ["build-hang"] });
    const before = await snapshot(cluster);
    await cluster.edit(addAdminKey(3));
    const revision = await cluster.push("a third admin key");
    const building = await cluster.waitNode("n3", (n) => n.desiredRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_BUILDING, "is building");
    await cluster.setFaults("n3", { [building.desiredSha256]: ["activation-error"] });

    const n3 = await cluster.waitNode("n3", (n) => n.desiredRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_ROLLED_BACK, "reports rolled-back");
    expect(n3.lastError).toContain("activation failed: simulated activation failure");
    expect(n3.appliedSha256).toBe(before.applied.get("n3"));
    expect(n3.health?.healthy).toBe(true);

    const was = before.machines.get("n3")!;
    const now = await cluster.machine("n3");
    expect(now.currentSystem).toBe(was.currentSystem);
    expect(now.bootDefault).toBe(was.currentSystem);
    expect(now.bootedSystem).toBe(was.bootedSystem);
    expect(now.bootId).toBe(was.bootId);
    // The new system was built but its activation failed before it became a generation; switching back
    // to the previous system path added one generation for it (like `nix-env --set` does).
    expect(now.builtSystems.length).toBe(was.builtSystems.length + 1);
    expect(now.generationSystems).toEqual([...was.generationSystems, was.currentSystem]);
    const state = await cluster.agentState("n3");
    expect(state.phase).toBe("rolled-back");
    expect(state.lease).toBeNull();
    // n2 (its fault gone) and n1 apply the same revision; nobody needed a lease.
    for (const name of ["n1", "n2"]) await cluster.waitNode(name, (n) => n.appliedRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED, "applies the revision");
    const since = (await cluster.events()).filter((e) => e.seq > before.lastSeq);
    expect(since.filter((e) => LEASE_KINDS.includes(e.kind))).toEqual([]);
  });

  it("tries the refused bundle again when the operator runs nk-agent retry --bundle on the node", async () => {
    // The fault behind the rollback is gone (the previous test's activation error): only the bad mark holds n3 back.
    await cluster.setFaults("n3", {});
    const refused = await cluster.node("n3");
    expect(refused.phase).toBe(ApplyPhase.APPLY_PHASE_ROLLED_BACK);
    const sha = refused.desiredSha256;
    const home = await mkdtemp(join(tmpdir(), "nk-retry-home-"));
    const retry = () => execFileP(process.execPath, [join(REPO_ROOT, "bin/nk-agent.js"), "retry", "--bundle", sha.slice(0, 10), "--state-dir", cluster.stateDir("n3")], { env: cliEnv(home) });
    try {
      const { stdout } = await retry();
      expect(stdout).toContain(`it forgets that ${sha.slice(0, 12)} rolled back (activation failed: simulated activation failure`);
      const n3 = await cluster.waitNode("n3", (n) => n.appliedSha256 === sha && n.phase === ApplyPhase.APPLY_PHASE_CONFIRMED, "applies the bundle it refused before");
      expect(n3.health?.healthy).toBe(true);
      expect(await cluster.agentLog("n3")).toContain("operator retry asked on the node (nk-agent retry)");
      // Asked again, nothing is refused any more: said plainly, exit code 2.
      await expect(retry()).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining(`--bundle ${sha.slice(0, 10)}: no refused bundle starts with it; this node's refused bundles: none`) });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it("keeps only the applied and previous bundles and the bundles of the running and booted systems after many revisions", async () => {
    const seen = new Map<string, Set<string>>(NODES.map((n) => [n, new Set<string>()]));
    for (let k = 10; k < 13; k++) {
      await cluster.edit(addAdminKey(k));
      await cluster.push(`admin key ${k}`);
      for (const n of (await cluster.converged(20_000)).nodes) seen.get(n.name)!.add(n.appliedSha256);
    }
    for (const n of (await cluster.status()).nodes) {
      const m = await cluster.machine(n.name);
      const dirs = await cluster.bundleDirs(n.name);
      // In the order applied: the two before the last one.
      const earlier = [...seen.get(n.name)!].filter((sha) => sha !== n.appliedSha256);
      expect(earlier).toHaveLength(2);
      const [older, previous] = earlier as [string, string];
      // Each one left is the applied bundle, the one before it (a guard rollback goes back to it), or built a system
      // the machine runs or booted; no leftovers.
      for (const d of dirs) expect(d.name === n.appliedSha256 || d.name === previous || d.result === m.currentSystem || d.result === m.bootedSystem, `${n.name}: ${JSON.stringify(d)}`).toBe(true);
      expect(dirs.map((d) => d.name)).toContain(n.appliedSha256);
      expect(dirs.map((d) => d.name)).toContain(previous);
      expect(dirs.find((d) => d.name === n.appliedSha256)?.result).toBe(m.currentSystem);
      expect(dirs.length).toBeLessThanOrEqual(3);
      // The bundle of the revision applied before those is gone (with its GC root).
      expect(dirs.map((d) => d.name)).not.toContain(older);
    }
  }, 90_000);

  it("after the self-update guard switched a node back, rests rolled back on the generation before and refuses the bundle it left", async () => {
    const before = await cluster.node("n1");
    expect(before.phase).toBe(ApplyPhase.APPLY_PHASE_CONFIRMED);
    const left = before.appliedSha256;
    const reason = "agent /nix/store/sim-nk-agent-new never wrote alive.json within 900 s of uptime";
    const { to } = await cluster.guardRollback("n1", reason);
    const n1 = await cluster.waitNode("n1", (n) => n.phase === ApplyPhase.APPLY_PHASE_ROLLED_BACK && n.reportedSha256 === left, "reports the bundle the guard left as rolled back");
    expect(n1.lastError).toContain(`self-update guard rolled back`);
    expect(n1.lastError).toContain(reason);
    expect(n1.appliedSha256).not.toBe(left);
    expect((await cluster.machine("n1")).currentSystem).toBe(to);
    expect(await cluster.agentState("n1")).toMatchObject({ phase: "rolled-back" });
    const rolledBack = eventsOf(await cluster.events(), "n1", ["node-rolled-back"]).at(-1);
    expect(rolledBack?.message).toContain(reason);
    // The desired bundle is still the one the guard left: once its stream delivers it, the agent refuses it rather
    // than building and switching to it again.
    expect(n1.desiredSha256).toBe(left);
    const refused = await cluster.waitNode("n1", (n) => n.lastError.includes(`bundle ${left.slice(0, 12)} rolled back before (self-update guard rolled back`), "refuses the desired bundle");
    expect(refused.phase).toBe(ApplyPhase.APPLY_PHASE_ROLLED_BACK);
    const log = await cluster.agentLog("n1");
    const sinceStart = log.slice(log.lastIndexOf("the self-update guard rolled this node back"));
    expect(sinceStart).toContain("desired bundle received");
    expect(sinceStart).not.toContain('"to":"building"');
  }, 60_000);
});
