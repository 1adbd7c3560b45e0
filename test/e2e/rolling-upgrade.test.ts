// E2E: a real coordinator, five agent processes on SimSystem, real git pushes and gRPC over TLS.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { maxConcurrent, startSimCluster, type SimCluster } from "../support/sim-cluster.js";

describe("rolling upgrade", () => {
  let cluster: SimCluster;

  beforeAll(async () => {
    cluster = await startSimCluster();
  }, 60_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("converges every node on the first push, one disruption at a time", async () => {
    const status = await cluster.converged(90_000);
    expect(status.nodes.map((n) => n.name)).toEqual(["n1", "n2", "n3", "n4", "n5"]);
    const windows = cluster.disruptions();
    expect(windows.length).toBe(5);
    expect(maxConcurrent(windows)).toBe(1);
  }, 120_000);

  it("a nixpkgs pin bump reboots every node again, one at a time", async () => {
    const before = (await cluster.status()).nodes.map((n) => n.appliedSha256);
    const from = cluster.disruptions().length;
    await cluster.editAndPush("bump nixpkgs", (doc) => doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05"));
    const status = await cluster.converged(90_000);
    const after = status.nodes.map((n) => n.appliedSha256);
    after.forEach((sha, i) => expect(sha).not.toBe(before[i]));
    const windows = cluster.disruptions();
    expect(windows.length - from).toBe(5);
    expect(maxConcurrent(windows)).toBe(1);
    for (const agent of cluster.agents.values()) expect(agent.starts).toBeGreaterThanOrEqual(3);
  }, 120_000);
});
