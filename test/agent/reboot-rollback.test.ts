// Agent integration: a node unhealthy after rebooting into a nixpkgs bump boots its previous generation
// again, reports rolled-back, and the rollout halts for the other nodes (no further cordon or reboot).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApplyPhase } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { reportsSeen } from "../support/reports-seen.js";
import { eventsOf, kernelParamsNix, NODES, startAgentCluster, type AgentCluster, type Machine } from "./agent-cluster.js";

describe("agent: unhealthy after reboot", () => {
  let cluster: AgentCluster;

  beforeAll(async () => {
    // The shortest health deadline the inventory allows, so the failed verification takes seconds; set once the
    // cluster is up (with the limits, which are adopted before this resolves), since on a loaded machine the first
    // install's verification can take longer than that.
    cluster = await startAgentCluster({ afterInstall: (doc) => doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 5) });
  }, 150_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("boots the previous generation again, reports rolled-back, and halts the rollout for the others", async () => {
    const status0 = await cluster.status();
    const applied = new Map(status0.nodes.map((n) => [n.name, n.appliedSha256]));
    const before = new Map<string, Machine>();
    for (const n of NODES) before.set(n, await cluster.machine(n));
    const starts = new Map([...cluster.agents].map(([n, a]) => [n, a.starts]));
    const lastSeq = (await cluster.events()).at(-1)?.seq ?? 0;
    const windowsBefore = cluster.disruptions().length;

    // Every build waits until n2's new bundle is known, so n2 is the only node that can ask for a lease.
    for (const n of NODES) await cluster.setFaults(n, { "*": ["build-hang"] });
    await cluster.edit((doc) => doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05"));
    const revision = await cluster.push("bump nixpkgs");
    const building = await cluster.waitNode("n2", (n) => n.desiredRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_BUILDING, "is building");
    await cluster.setFaults("n2", { [building.desiredSha256]: ["unhealthy-after-reboot"] });

    const n2 = await cluster.waitNode("n2", (n) => n.phase === ApplyPhase.APPLY_PHASE_ROLLED_BACK, "reports rolled-back", 30_000);
    // The reason survives the reboots (the agent repeats it when the coordinator resends the bad bundle).
    expect(n2.lastError).toContain("health deadline passed: k3s.service is not active");
    expect(n2.appliedSha256).toBe(applied.get("n2"));

    // Rebooted into the new generation, found it unhealthy, made the previous one the boot default and booted it.
    const was = before.get("n2")!;
    const now = await cluster.machine("n2");
    expect(now.bootedSystem).toBe(was.bootedSystem);
    expect(now.currentSystem).toBe(was.currentSystem);
    expect(now.bootDefault).toBe(was.currentSystem);
    expect(now.bootId).not.toBe(was.bootId);
    expect(now.generationSystems.slice(0, was.generationSystems.length)).toEqual(was.generationSystems);
    const added = now.generationSystems.slice(was.generationSystems.length);
    expect(added).toHaveLength(2);
    expect(added[1]).toBe(was.currentSystem);
    expect(added[0]).not.toBe(was.currentSystem);
    // Two reboots: into the bad generation and back.
    expect(cluster.agents.get("n2")!.starts).toBe(starts.get("n2")! + 2);
    // The lease goes back once the coordinator acknowledged the (failed) release.
    const state = await eventually(async () => {
      const s = await cluster.agentState("n2");
      return s.lease === null ? s : undefined;
    }, 10_000, "n2's agent to hand its lease back");
    expect(state.phase).toBe("rolled-back");

    // The lease came back as a failure, which halts the rollout with n2 named.
    const halted = (await cluster.status()).rollout;
    expect(halted?.halted).toBe(true);
    expect(halted?.haltReason).toContain("n2");
    const events = (await cluster.events()).filter((e) => e.seq > lastSeq);
    const grants = eventsOf(events, "n2", ["lease-granted"], revision);
    expect(grants).toHaveLength(1);
    expect(eventsOf(events, "n2", ["lease-released-failed"], revision)).toHaveLength(1);
    expect(events.some((e) => e.kind === "rollout-halted" && e.node === "n2")).toBe(true);

    // Now let n1 and n3 build: they ask for a lease and wait, untouched.
    await cluster.setFaults("n1", {});
    await cluster.setFaults("n3", {});
    for (const n of ["n1", "n3"]) await cluster.waitNode(n, (s) => s.desiredRevision === revision && s.phase === ApplyPhase.APPLY_PHASE_WAITING_LEASE, "waits for a lease");
    // Their reports keep triggering lease decisions: two from each, however slow the machine, and none may grant.
    await reportsSeen(() => cluster.status(), ["n1", "n3"]);
    const later = await cluster.status();
    expect(later.rollout?.halted).toBe(true);
    for (const n of ["n1", "n3"]) {
      const s = later.nodes.find((x) => x.name === n)!;
      expect(s.phase).toBe(ApplyPhase.APPLY_PHASE_WAITING_LEASE);
      expect(s.appliedSha256).toBe(applied.get(n));
      const m = await cluster.machine(n);
      expect(m.generationSystems).toEqual(before.get(n)!.generationSystems);
      expect(m.bootId).toBe(before.get(n)!.bootId);
      expect(cluster.agents.get(n)!.starts).toBe(starts.get(n));
    }
    const after = (await cluster.events()).filter((e) => e.seq > lastSeq);
    for (const n of ["n1", "n3"]) expect(eventsOf(after, n, ["lease-granted"])).toEqual([]);
    // Only n2 was ever cordoned for this revision.
    expect(cluster.disruptions().slice(windowsBefore).map((w) => w.node)).toEqual(["n2"]);
  });

  it("brings a node whose new generation never boots back on its last good one, reports 'did not boot' and halts the rollout", async () => {
    const before = await cluster.machine("n3");
    const n3Applied = (await cluster.node("n3")).appliedSha256;
    const starts = cluster.agents.get("n3")!.starts;
    const lastSeq = (await cluster.events()).at(-1)?.seq ?? 0;
    // Back to the running nixpkgs (nothing to do on n1 and n2), and a new kernel parameter on n3 only.
    for (const n of NODES) await cluster.setFaults(n, { "*": ["build-hang"] });
    await cluster.edit((doc) => {
      doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-24.11");
      // Time enough to verify the last good generation after the rollback, even on a loaded machine.
      doc.setIn(["cluster", "rollout", "health_deadline_seconds"], 30);
    });
    await cluster.writeRepoFile("nodes/n3.nix", kernelParamsNix("hangs"));
    const revision = await cluster.push("a kernel parameter on n3 that hangs its boot");
    const building = await cluster.waitNode("n3", (n) => n.desiredRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_BUILDING, "is building");
    await cluster.setFaults("n3", { [building.desiredSha256]: ["never-boots"] });
    for (const n of ["n1", "n2"]) await cluster.setFaults(n, {});

    const n3 = await cluster.waitNode("n3", (n) => n.desiredRevision === revision && n.phase === ApplyPhase.APPLY_PHASE_ROLLED_BACK, "reports rolled-back", 40_000);
    expect(n3.lastError).toMatch(/^did not boot: came back on \/nix\/store\/\S+ instead of \/nix\/store\/\S+/);
    // The trial bundle is never reported as applied. Which earlier bundle is named when several built the
    // restored system varies from run to run (seen once in two full runs): the machine checks below are what count.
    expect(n3.appliedSha256).not.toBe(building.desiredSha256);
    expect(n3Applied).toBeTruthy();
    // One reboot (the trial), reset into the last good generation: no second reboot was needed.
    const now = await cluster.machine("n3");
    expect(cluster.agents.get("n3")!.starts).toBe(starts + 1);
    expect(now.bootId).not.toBe(before.bootId);
    expect(now.bootedSystem).toBe(before.currentSystem);
    expect(now.currentSystem).toBe(before.currentSystem);
    expect(now.bootDefault).toBe(before.currentSystem);
    // The trial generation, then the last good system again (the profile and boot default restored by a switch).
    const added = now.generationSystems.slice(before.generationSystems.length);
    expect(added).toHaveLength(2);
    expect(added[0]).not.toBe(before.currentSystem);
    expect(added[1]).toBe(before.currentSystem);
    const state = await eventually(async () => {
      const s = await cluster.agentState("n3");
      return s.lease === null ? s : undefined;
    }, 10_000, "n3's agent to hand its lease back");
    expect(state.phase).toBe("rolled-back");

    const { rollout } = await cluster.status();
    expect(rollout).toMatchObject({ revision, halted: true, haltReason: expect.stringMatching(/n3.*did not boot/) });
    const events = (await cluster.events()).filter((e) => e.seq > lastSeq);
    expect(eventsOf(events, "n3", ["lease-released-failed"], revision)).toHaveLength(1);
    expect(events.some((e) => e.kind === "rollout-halted" && e.node === "n3" && e.revision === revision)).toBe(true);
  });
});
