// Agent integration: kill -9 just before the reboot happened and while verifying after it; the restarted
// agent keeps the same lease, reboots once, and verifies health before confirming.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApplyPhase, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { reportsSeen } from "../support/reports-seen.js";
import { startAgentCluster, type AgentCluster } from "./agent-cluster.js";
import { before, expectResumedOnce, killAndAwaitRestart, leasesOf, phaseIs, pushRebootFor, untouched } from "./resume-checks.js";

describe("agent killed around its reboot", () => {
  let cluster: AgentCluster;

  beforeAll(async () => {
    cluster = await startAgentCluster();
  }, 120_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("reboots once after being killed before the reboot happened", async () => {
    // The boot loader update hangs, as a slow `switch-to-configuration boot` would.
    await cluster.setFaults("n1", { "*": ["activation-hang"] });
    const b = await before(cluster, "n1");
    const revision = await pushRebootFor(cluster, "n1", "reboot-kill");
    await cluster.waitNode("n1", phaseIs(ApplyPhase.APPLY_PHASE_REBOOTING, revision), "is rebooting");
    const [held] = await leasesOf(cluster, "n1");
    await killAndAwaitRestart(cluster, "n1", "rebooting", ApplyPhase.APPLY_PHASE_REBOOTING);
    expect(await leasesOf(cluster, "n1")).toEqual([{ state: LeaseState.LEASE_STATE_REBOOTING, token: held!.token }]);
    expect(untouched(await cluster.machine("n1"))).toEqual(untouched(b.machine));
    await cluster.setFaults("n1", {});
    await expectResumedOnce(cluster, b, revision);
  });

  it("verifies health again after being killed while verifying, and confirms only once healthy", async () => {
    // Only the new bundle may be unhealthy (an unhealthy node would hold back its own lease): hold the build
    // until its sha is known.
    await cluster.setFaults("n2", { "*": ["build-hang"] });
    const b = await before(cluster, "n2");
    const revision = await pushRebootFor(cluster, "n2", "verify-kill");
    const building = await cluster.waitNode("n2", phaseIs(ApplyPhase.APPLY_PHASE_BUILDING, revision), "is building");
    await cluster.setFaults("n2", { [building.desiredSha256]: ["unhealthy-after-reboot"] });
    await cluster.waitNode("n2", phaseIs(ApplyPhase.APPLY_PHASE_VERIFYING, revision), "is verifying");
    const [held] = await leasesOf(cluster, "n2");
    await killAndAwaitRestart(cluster, "n2", "verifying", ApplyPhase.APPLY_PHASE_VERIFYING);
    // Still unhealthy: the restarted agent must not confirm (two of its reports later, not a fixed second).
    await reportsSeen(() => cluster.status(), ["n2"]);
    expect((await cluster.node("n2")).phase).toBe(ApplyPhase.APPLY_PHASE_VERIFYING);
    expect((await cluster.agentState("n2")).phase).toBe("verifying");
    expect(await leasesOf(cluster, "n2")).toEqual([{ state: LeaseState.LEASE_STATE_VERIFYING, token: held!.token }]);
    await cluster.setFaults("n2", {});
    await expectResumedOnce(cluster, b, revision);
  });
});
