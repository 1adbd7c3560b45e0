// Agent integration: kill -9 while building, waiting for a lease and draining; the restarted agent resumes and
// applies the bundle once (one generation, one reboot, one lease and fencing token, health verified).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { PauseRolloutRequest, PauseRolloutResponse, ResumeRolloutRequest, ResumeRolloutResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { ApplyPhase, LeaseKind, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { nkCodeOf } from "../../agent/src/client/index.js";
import { adminCall } from "../support/admin-call.js";
import { eventually } from "../support/eventually.js";
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
  });

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
  });

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
  });

  it("an agent that lost its state while draining re-attaches to its lease explicitly, audited; token 0 gets nothing", async () => {
    const pod = { namespace: "apps", name: "web-1", nodeName: "n3", owner: "ReplicaSet" };
    cluster.kube.addPod({ ...pod, lingerReads: Infinity });
    const b = await before(cluster, "n3");
    const revision = await pushRebootFor(cluster, "n3", "state-lost");
    await cluster.waitNode("n3", phaseIs(ApplyPhase.APPLY_PHASE_DRAINING, revision), "is draining");
    const [held] = await leasesOf(cluster, "n3");

    // An agent presenting token 0 (one too old to know ReattachLease) is refused, with the way out, and takes nothing.
    const raw = cluster.harness.agent("n3", await cluster.nodeToken("n3"));
    const refusal = await new Promise<Error>((resolve) => {
      const stream = raw.acquireLease({ kind: LeaseKind.LEASE_KIND_REBOOT, revision, bundleSha256: "", reason: "old agent", fencingToken: 0, k3sNext: "" });
      stream.on("data", () => resolve(new Error("a lease view was sent for token 0")));
      stream.on("error", (err: Error) => resolve(err));
    });
    expect(nkCodeOf(refusal)).toBe("LEASE_HELD");
    expect(refusal.message).toContain(`n3 holds lease #${held!.token} (draining)`);
    await expect(raw.releaseLease(0, false, "old agent withdraws")).rejects.toSatisfy((e) => nkCodeOf(e) === "LEASE_HELD");
    expect(await leasesOf(cluster, "n3")).toEqual([{ state: LeaseState.LEASE_STATE_DRAINING, token: held!.token }]);

    // Its disk wiped: the agent starts from nothing, asks for a lease without a token and is refused, then takes
    // the same lease back through ReattachLease, which the audit log records under the node's name.
    await cluster.loseState("n3");
    // At start (holding no lease) it withdraws, which finds the lease and re-attaches but leaves a started lease to
    // its phases; its request for the reboot lease re-attaches again. Each is an audit line under the node's name.
    const reattaches = await eventually(async () => {
      const lines = (await cluster.events()).filter((e) => e.kind === "audit" && e.fields.action === "ReattachLease" && e.seq > b.lastSeq);
      return lines.some((e) => /reboot lease wanted without its token/.test(e.fields.outcome ?? "")) ? lines : undefined;
    }, 30_000, "the re-attach audit line of the lease request");
    for (const line of reattaches) {
      expect(line.fields).toMatchObject({ actor: "node/n3", target: "n3" });
      expect(line.fields.outcome).toMatch(new RegExp(`^ok: lease #${held!.token} \\(draining\\) handed back; `));
    }
    await eventually(async () => (await cluster.agentState("n3")).lease?.fencingToken === held!.token || undefined, 20_000, "the agent to hold its lease again");
    expect(await leasesOf(cluster, "n3")).toEqual([{ state: LeaseState.LEASE_STATE_DRAINING, token: held!.token }]);
    cluster.kube.addPod({ ...pod, nodeName: "n1" });
    // Stopped and started (one start) instead of killed: the same count as a kill.
    await expectResumedOnce(cluster, b, revision);
  });
});
