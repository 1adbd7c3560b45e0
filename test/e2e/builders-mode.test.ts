// Builders mode end to end: a real coordinator and simulated agents; n1's agent is also a builder. A push reaches the
// nodes only as store paths the builder built, signed and pushed; nodes fetch them (a local build would fail here).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentCluster, type AgentCluster } from "../agent/agent-cluster.js";
import type { GetBuildLogRequest, GetBuildLogResponse, GetPlanRequest, GetPlanResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { previewOutcomeFromWire } from "../../shared/src/wire/index.js";
import { adminCall } from "../support/admin-call.js";
import { eventually } from "../support/eventually.js";

const KEY = "cache-1:BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=";

describe("builders mode (simulated cluster, real coordinator)", () => {
  let cluster: AgentCluster;
  let cacheDir = "";

  beforeAll(async () => {
    cluster = await startAgentCluster({ builders: { nodes: ["n1", "n2"], simPublicKey: KEY } });
    cacheDir = join(cluster.harness.checkout, "..", "nix-cache");
  }, 180_000);
  afterAll(() => cluster?.close());

  it("builds once on the builder, and n2 and n3 fetch their systems instead of building them", async () => {
    // n2 and n3 could not build anything themselves: every local build fails there.
    await cluster.setFaults("n2", { "*": ["build-error"] });
    await cluster.setFaults("n3", { "*": ["build-error"] });
    await cluster.edit((doc) => {
      doc.setIn(["cluster", "build"], { mode: "builders", builders: ["n1"], cache: { url: pathToFileURL(cacheDir).href, public_key: KEY }, fallback: "none" });
    });
    await cluster.writeRepoFile("common/motd.nix", "{ ... }: { users.motd = \"built once\"; }\n");
    const revision = await cluster.push("builders mode, and a change for every node");
    const status = await cluster.converged(120_000);
    expect(status.nodes.every((n) => n.desiredRevision === revision || n.appliedRevision === revision)).toBe(true);
    // One signed record per node's system in the cache, and n2's running system is the one the builder pushed.
    const cached = await readdir(cacheDir);
    expect(cached).toHaveLength(3);
    const n2 = await cluster.machine("n2");
    expect(cached).toContain(`${n2.currentSystem.slice(11, 23)}.json`);
    const log = await cluster.agentLog("n1");
    expect(log).toContain('"msg":"build job finished"');
    // The status (JSON API) shows every node's build at this revision pushed, and nkctl's RPC serves its log.
    const h = cluster.harness;
    const api = (await (await h.fetch("/api/v1/status", { headers: { authorization: `Bearer ${h.coordinator.adminToken}` } })).json()) as { builds: Array<{ node: string; revision: string; state: string; builder: string }> };
    expect(api.builds.map((b) => [b.node, b.revision, b.state, b.builder])).toEqual([["n1", revision, "pushed", "n1"], ["n2", revision, "pushed", "n1"], ["n3", revision, "pushed", "n1"]]);
    const { client, metadata } = h.admin();
    const built = await adminCall<GetBuildLogRequest, GetBuildLogResponse>(client.getBuildLog.bind(client), { node: "n2", revision: revision.slice(0, 12) }, metadata);
    expect(built).toMatchObject({ node: "n2", revision, state: "pushed" });
    expect(built.log).toContain("copying path");

    // A coordinator restart keeps the finished builds and their logs (state dir), and builds nothing again.
    const started = async () => (await cluster.agentLog("n1")).split("\n").filter((l) => l.includes(`"rev":"${revision}"`) && l.includes('"msg":"build job started"')).length;
    expect(await started()).toBe(3);
    await h.restart();
    await cluster.converged(60_000);
    const again = h.admin();
    const kept = await adminCall<GetBuildLogRequest, GetBuildLogResponse>(again.client.getBuildLog.bind(again.client), { node: "n2", revision: "" }, again.metadata);
    expect(kept).toEqual({ ...built });
    const after = (await (await h.fetch("/api/v1/status", { headers: { authorization: `Bearer ${h.coordinator.adminToken}` } })).json()) as { builds: Array<{ node: string; state: string }> };
    expect(after.builds.map((b) => [b.node, b.state])).toEqual([["n1", "pushed"], ["n2", "pushed"], ["n3", "pushed"]]);
    expect(await started()).toBe(3);
  }, 240_000);

  it("a preview is built by the builders, not the nodes: reboot where the kernel changes; then the main push shows it before nodes fetch", async () => {
    const h = cluster.harness;
    const { client, metadata } = h.admin();
    const git = async (...args: string[]) => (await h.git(...args)).stdout.trim();
    // n2's kernel parameters change (a reboot), n3 gets a new motd (a switch), n1 nothing.
    await git("checkout", "-q", "-B", "work-kern", "main");
    await cluster.writeRepoFile("nodes/n2.nix", '{ ... }: { boot.kernelParams = [ "quiet" ]; }\n');
    await cluster.writeRepoFile("nodes/n3.nix", '{ ... }: { environment.etc."motd".text = "n3 preview"; }\n');
    await git("add", "-A");
    await git("commit", "-q", "-m", "preview kern");
    const commit = await git("rev-parse", "HEAD");
    await git("checkout", "-q", "main");
    // The coordinator's HTTP port changed with its restart above.
    await git("remote", "set-url", "nk", h.gitUrl);
    const { stderr } = await h.git("push", "-q", "nk", `+${commit}:refs/heads/preview/kern`);
    expect(stderr).toContain(`remote: nk: preview kern at ${commit.slice(0, 12)}: the builders build 2 node(s), 1 unchanged; no node builds anything, nothing is applied`);
    const plan = await eventually(async () => {
      const p = (await adminCall<GetPlanRequest, GetPlanResponse>(client.getPlan.bind(client), { name: "kern" }, metadata)).plan!;
      return p.complete ? p : undefined;
    }, 60_000, "the plan to complete");
    expect(Object.fromEntries(plan.nodes.map((n) => [n.node, previewOutcomeFromWire(n.outcome)]))).toEqual({ n1: "no-op", n2: "reboot", n3: "switch" });
    const byNode = (name: string) => plan.nodes.find((n) => n.node === name)!;
    expect(byNode("n2").reason).toMatch(/^reboot: kernel linux-sim-\w{8} → linux-sim-\w{8}$/);
    expect(byNode("n3").reason).toBe("switch: kernel, initrd and kernel modules unchanged; units it restarts not known without the node (a k3s or containerd restart would take a restart lease)");
    expect(plan.totals).toMatchObject({ reboots: 1, switches: 1, noOps: 1 });

    // No node built it: no node's store holds a preview system and no agent ran a preview; builder n1 built both.
    for (const node of ["n1", "n2", "n3"]) {
      const machine = await cluster.machine(node);
      for (const n of plan.nodes.filter((x) => x.bundleSha256 !== "")) expect(machine.builtSystems).not.toContain(`/nix/store/${n.bundleSha256.slice(0, 32)}-nixos-system-${n.node}-sim`);
      expect(await cluster.agentLog(node)).not.toContain('"preview":"kern"');
    }
    const builderLog = (await cluster.agentLog("n1")).split("\n").filter((l) => l.includes(`"rev":"${commit}"`) && l.includes('"msg":"build job started"'));
    // The job's node is the line's last "node" (the first is the agent's own).
    expect(builderLog.map((l) => [...l.matchAll(/"node":"(n\d)"/g)].at(-1)?.[1]).sort()).toEqual(["n2", "n3"]);

    // The same change on main, rollout paused: before n2 may reboot, the status already says it will, and why.
    await adminCall(client.pauseRollout.bind(client), { reason: "look first" }, metadata);
    await git("merge", "-q", "--ff-only", commit);
    const revision = await cluster.push("the previewed change");
    const api = async () => (await (await h.fetch("/api/v1/status", { headers: { authorization: `Bearer ${h.coordinator.adminToken}` } })).json()) as { builds: Array<{ node: string; revision: string; state: string; disruption: string; disruptionReason: string }> };
    const n2 = await eventually(async () => (await api()).builds.find((b) => b.node === "n2" && b.revision === revision && b.state === "pushed"), 60_000, "n2's build to be pushed");
    expect([n2.disruption, n2.disruptionReason]).toEqual(["reboot", byNode("n2").reason]);
    const page = await (await h.fetch("/", { headers: { authorization: `Bearer ${h.coordinator.adminToken}` } })).text();
    expect(page).toContain(`<span class="badge bad">reboot</span> ${byNode("n2").reason}`);
    await adminCall(client.resumeRollout.bind(client), {}, metadata);
    await cluster.converged(120_000);
  }, 240_000);

  it("gives the jobs of a builder killed mid-build to the other builder; the nodes still get their systems", async () => {
    // n1's builds hang until its agent dies; n2 is the second builder.
    await cluster.setBuilderFaults("n1", { "*": ["build-hang"] });
    await cluster.edit((doc) => doc.setIn(["cluster", "build", "builders"], ["n1", "n2"]));
    await cluster.writeRepoFile("common/motd.nix", "{ ... }: { users.motd = \"built again\"; }\n");
    const before = (await readdir(cacheDir)).length;
    const revision = await cluster.push("a second builder, and another change");
    await eventually(async () => (await cluster.agentLog("n1")).includes(`"rev":"${revision}","msg":"build job started"`) || undefined, 60_000, "n1 to start a build");
    await cluster.agents.get("n1")!.stop();
    for (const node of ["n2", "n3"]) await cluster.waitNode(node, (n) => n.appliedRevision === revision, "the new revision applied", 120_000);
    // Every node's new system was built and pushed, n1's own included (by n2, after n1 died).
    expect(await readdir(cacheDir)).toHaveLength(before + 3);
    expect((await cluster.agentLog("n2")).split("\n").some((l) => l.includes('"node":"n1"') && l.includes(`"rev":"${revision}"`) && l.includes('"msg":"build job finished"'))).toBe(true);
  }, 240_000);
});
