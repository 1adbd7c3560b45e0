// Builders mode end to end: a real coordinator and simulated agents; n1's agent is also a builder. A push reaches the
// nodes only as store paths the builder built, signed and pushed; nodes fetch them (a local build would fail here).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgentCluster, type AgentCluster } from "../agent/agent-cluster.js";
import type { GetBuildLogRequest, GetBuildLogResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { adminCall, eventually } from "../support/coordinator-harness.js";

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
