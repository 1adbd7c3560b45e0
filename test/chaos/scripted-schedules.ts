// Fixed chaos scenarios that replay, step by step, situations random schedules found product bugs in.
import { ApplyPhase } from "../../shared/src/proto/gen/nk/v1/common.js";
import type { ChaosCluster } from "./chaos-cluster.js";
import type { ChaosDriver } from "./chaos-driver.js";
import { waitFor } from "./status-wait.js";

export interface ScriptedSchedule {
  readonly name: string;
  readonly description: string;
  /** Acts on the cluster; the runner then heals, settles, pushes a good revision and checks every invariant. */
  run(cluster: ChaosCluster, driver: ChaosDriver): Promise<void>;
}

const phaseOf = (node: string) => (s: { nodes: Array<{ name: string; phase: ApplyPhase }> }) => s.nodes.find((n) => n.name === node)?.phase;

/**
 * A node stuck after a failed rollback keeps its reboot lease "until an operator or a new bundle" acts.
 * Found by chaos: the fixing bundle was switched (no reboot), and the coordinator never took back a reboot
 * lease without a new boot id, so the rollout hung for ever; re-presenting the kept lease also hung in drain.
 */
export const STUCK_REBOOT_LEASE: ScriptedSchedule = {
  name: "stuck reboot lease, then a fix push",
  description: "bad kernel change on the first node whose boot loader update hangs; cut it off; the update fails, "
    + "the rollback cannot be verified (coordinator unreachable) so it is stuck holding its lease; heal; a new bundle must release it",
  async run(cluster, driver) {
    const node = cluster.options.nodes[0]!;
    // The boot loader update hangs until the node is cut off, then fails.
    const pushed = await driver.push({ change: "bad", node, fault: "activation-error" }, ["activation-hang"]);
    if (!pushed.acked) throw new Error(`push refused: ${pushed.error}`);
    const sha = (await cluster.renderedShas()).get(node)!;
    await waitFor(cluster, `${node} to reboot under its lease`, (s) => phaseOf(node)(s) === ApplyPhase.APPLY_PHASE_REBOOTING);
    const proxy = cluster.proxies.get(node)!;
    proxy.cut();
    try {
      await driver.injectFault(node, sha, ["activation-error"]);
      // Longer than the health deadline (6 s): the rollback cannot be verified while the coordinator is unreachable.
      await new Promise((r) => setTimeout(r, 8_000));
    } finally {
      proxy.restore();
    }
    await waitFor(cluster, `${node} to be stuck holding its lease`, (s) => phaseOf(node)(s) === ApplyPhase.APPLY_PHASE_FAILED && s.leases.some((l) => l.node === node));
  },
};

/**
 * A node stuck after a failed rollback keeps a *service-restart* lease; the fixing bundle needs a reboot.
 * Found by chaos: the agent re-presented the kept slot for the reboot, the coordinator re-attached it in its
 * "verifying" state, the agent took that as drained and rebooted without a cordon. The slot must be raised to a
 * reboot that starts over at "granted", so the node is drained (cordoned) first.
 */
export const STUCK_SERVICE_RESTART_LEASE: ScriptedSchedule = {
  name: "stuck service-restart lease, then a reboot",
  description: "a k3s change whose switch hangs on the first server; cut it off; the switch fails and the rollback cannot be "
    + "verified, so it is stuck holding its service-restart lease; heal; a kernel change for it must be drained before its reboot",
  async run(cluster, driver) {
    const node = cluster.options.nodes[0]!;
    const pushed = await driver.push({ change: "k3s" }, ["activation-hang"], node);
    if (!pushed.acked) throw new Error(`push refused: ${pushed.error}`);
    const sha = (await cluster.renderedShas()).get(node)!;
    await waitFor(cluster, `${node} to switch under a service-restart lease`, (s) => phaseOf(node)(s) === ApplyPhase.APPLY_PHASE_ACTIVATING && s.leases.some((l) => l.node === node), 60_000);
    const proxy = cluster.proxies.get(node)!;
    proxy.cut();
    try {
      await driver.injectFault(node, sha, ["activation-error"]);
      // Longer than the health deadline (6 s): the rollback cannot be verified while the coordinator is unreachable.
      await new Promise((r) => setTimeout(r, 8_000));
    } finally {
      proxy.restore();
    }
    await waitFor(cluster, `${node} to be stuck holding its lease`, (s) => phaseOf(node)(s) === ApplyPhase.APPLY_PHASE_FAILED && s.leases.some((l) => l.node === node));
    const fix = await driver.push({ change: "kernel", node });
    if (!fix.acked) throw new Error(`push refused: ${fix.error}`);
    await waitFor(cluster, `${node} to reboot`, (s) => phaseOf(node)(s) === ApplyPhase.APPLY_PHASE_REBOOTING, 60_000);
  },
};

/**
 * Steps overlap, so pushes start while others are still editing the checkout. Found by chaos (seed 20320265): one
 * push rendered the inventory while another was rewriting it and read it empty; an edit could also slip into an
 * earlier push's commit before its fault was injected. Each commit must hold exactly its own change.
 */
export const OVERLAPPING_PUSHES: ScriptedSchedule = {
  name: "overlapping pushes",
  description: "four pushes started at once (a bad change, an admin key, a nixpkgs bump, a kernel change); each commit holds only its own change",
  async run(cluster, driver) {
    const [first, second] = [cluster.options.nodes.at(-1)!, cluster.options.nodes[1]!];
    const changes = [
      { push: { change: "bad", node: first, fault: "build-error" }, files: `nodes/${first}.nix` },
      { push: { change: "users" }, files: "inventory.yaml" },
      { push: { change: "nixpkgs" }, files: "inventory.yaml" },
      { push: { change: "kernel", node: second }, files: `nodes/${second}.nix` },
    ] as const;
    const pushed = await Promise.all(changes.map((c) => driver.push(c.push)));
    const problems: string[] = [];
    for (const [i, p] of pushed.entries()) {
      if (!p.acked) problems.push(`push ${i} (${changes[i]!.push.change}) refused: ${p.error}`);
      const files = (await cluster.git("show", "--name-only", "--format=", p.sha)).stdout.trim();
      if (files !== changes[i]!.files) problems.push(`push ${i} (${changes[i]!.push.change}) committed [${files.split("\n").join(", ")}], expected [${changes[i]!.files}]`);
    }
    if (problems.length > 0) throw new Error(problems.join("; "));
  },
};

export const SCRIPTED_SCHEDULES: readonly ScriptedSchedule[] = [STUCK_REBOOT_LEASE, STUCK_SERVICE_RESTART_LEASE, OVERLAPPING_PUSHES];
