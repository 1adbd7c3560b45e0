// Agent integration: kill -9 while building, waiting for a lease and draining; the restarted agent resumes and
// applies the bundle once (one generation, one reboot, one lease and fencing token, health verified).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PauseRolloutRequest, PauseRolloutResponse, ResumeRolloutRequest, ResumeRolloutResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { adminCall } from "../support/coordinator-harness.js";
import { startAgentCluster, type AgentCluster } from "./agent-cluster.js";
import { before, expectResumedOnce, killAndAwaitRestart, leasesOf, phaseIs, pushRebootFor, untouched } from "./resume-checks.js";

describe("agent killed before its reboot", () => {
  let cluster: AgentCluster;

  beforeAll(async () => {
    cluster = await startAgentCluster();
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("resumes a build interrupted by kill -9", async () => {
    const b = await before(cluster, "n1");
    await cluster.setFaults("n1", { "*": ["build-hang"] });
    const revision = await pushRebootFor(cluster, "n1", "build-kill");
    await cluster.waitNode("n1", phaseIs(ApplyPhase.APPLY_PHASE_BUILDING, revision), "is building");
    // The new process builds again (the hang still holds it there), without having touched the machine.
    await killAndAwaitRestart(cluster, "n1", "building", ApplyPhase.APPLY_PHASE_BUILDING);
    expect(await cluster.machine("n1")).toEqual(b.machine);
    await cluster.setFaults("n1", {});
    await expectResumedOnce(cluster, b, revision);
  }, 40_000);

  it("keeps its place in the lease queue across kill -9 and gets one grant", async () => {
    const { client, metadata } = cluster.harness.admin();
    await adminCall<PauseRolloutRequest, PauseRolloutResponse>(client.pauseRollout.bind(client), { reason: "hold n2 in the queue" }, metadata);
    const b = await before(cluster, "n2");
    const revision = await pushRebootFor(cluster, "n2", "lease-kill");
    await cluster.waitNode("n2", phaseIs(ApplyPhase.APPLY_PHASE_WAITING_LEASE, revision), "waits for a lease");
    await killAndAwaitRestart(cluster, "n2", "waiting-lease", ApplyPhase.APPLY_PHASE_WAITING_LEASE);
    const queued = (await cluster.status()).leases.filter((l) => l.node === "n2");
    expect(queued.map((l) => l.state)).toEqual([LeaseState.LEASE_STATE_QUEUED]);
    expect(untouched(await cluster.machine("n2"))).toEqual(untouched(b.machine));
    await adminCall<ResumeRolloutRequest, ResumeRolloutResponse>(client.resumeRollout.bind(client), {}, metadata);
    await expectResumedOnce(cluster, b, revision);
  }, 40_000);

  it("resumes draining with the same lease", async () => {
    // A pod that takes its time to terminate keeps the drain waiting until the test lets it go.
    const pod = { namespace: "apps", name: "web-0", nodeName: "n3", owner: "ReplicaSet" };
    cluster.kube.addPod({ ...pod, lingerReads: Infinity });
    const b = await before(cluster, "n3");
    const revision = await pushRebootFor(cluster, "n3", "drain-kill");
    await cluster.waitNode("n3", phaseIs(ApplyPhase.APPLY_PHASE_DRAINING, revision), "is draining");
    const [held] = await leasesOf(cluster, "n3");
    await killAndAwaitRestart(cluster, "n3", "draining", ApplyPhase.APPLY_PHASE_DRAINING);
    expect(await leasesOf(cluster, "n3")).toEqual([{ state: LeaseState.LEASE_STATE_DRAINING, token: held!.token }]);
    expect(untouched(await cluster.machine("n3"))).toEqual(untouched(b.machine));
    // Its controller recreated it on another node (a new uid): the evicted pod is gone.
    cluster.kube.addPod({ ...pod, nodeName: "n1" });
    await expectResumedOnce(cluster, b, revision);
    expect(cluster.kube.calls("POST", "/api/v1/namespaces/apps/pods/web-0/eviction").length).toBeGreaterThan(0);
  }, 40_000);
});
