// Integration: kill -9 of the coordinator process while a node is down for its reboot. The restarted coordinator
// keeps that node's lease (same fencing token), grants nobody else until it is back, and the rollout completes.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { startProcessCluster, type ProcessSimCluster } from "../support/sim-cluster-process.js";
import { reportsSeen } from "../support/reports-seen.js";

const NODES = ["n1", "n2", "n3"];

describe("coordinator killed mid-rollout", () => {
  let c: ProcessSimCluster;

  beforeAll(async () => {
    c = await startProcessCluster({ nodes: NODES, launch: false });
  }, 180_000);

  afterAll(async () => {
    await c?.close();
  });

  const holders = async () =>
    (await c.status()).leases.filter((l) => l.state !== LeaseState.LEASE_STATE_QUEUED).map((l) => ({ node: l.node, token: l.fencingToken, state: l.state }));

  it("keeps the lease of the node that is rebooting and grants no second one", async () => {
    // The first node to reboot stays powered off until the test brings it back.
    c.holdReboots(true);
    await c.launch();
    const victim = await eventually(() => c.held[0], 60_000, "a node to go down for its reboot");
    c.holdReboots(false);
    const [lease] = await holders();
    expect(lease).toMatchObject({ node: victim, state: LeaseState.LEASE_STATE_REBOOTING });
    const token = lease!.token;
    const others = NODES.filter((n) => n !== victim);
    await eventually(async () => (await c.status()).leases.filter((l) => l.state === LeaseState.LEASE_STATE_QUEUED).length === others.length, 20_000, "the others to queue");

    await c.coordinator.kill();
    const killedAt = Date.now();
    await c.coordinator.start();
    expect(await eventually(() => holders().catch(() => undefined), 10_000, "status after the restart")).toEqual([{ node: victim, token, state: LeaseState.LEASE_STATE_REBOOTING }]);
    // Health ticks, check rounds and the agents' reconnects all trigger decisions; none may grant. Counted in the
    // others' reports (the victim is down), not in time.
    await reportsSeen(() => c.status(), others);
    expect(await holders()).toEqual([{ node: victim, token, state: LeaseState.LEASE_STATE_REBOOTING }]);
    expect(c.disruptions().map((w) => ({ node: w.node, open: w.toMs === Infinity }))).toEqual([{ node: victim, open: true }]);

    await c.bringBack(victim);
    await c.converged(60_000);
    // The last holder is confirmed a moment before its lease comes back (uncordon, then release).
    await eventually(async () => ((await holders()).length === 0) || undefined, 20_000, "every lease released");

    // The journal: the victim was granted once, released under the same token, and only then came the next grant.
    const events = (await c.events()).filter((e) => ["lease-granted", "lease-released", "lease-force-released", "lease-released-failed"].includes(e.kind));
    const seen = events.map((e) => `${e.kind} ${e.node} #${e.kind === "lease-granted" ? e.fields["fencingToken"] : (/#(\d+)/.exec(e.message)?.[1] ?? "?")}`);
    const granted = seen.filter((s) => s.startsWith("lease-granted"));
    expect(granted.filter((s) => s.includes(` ${victim} `))).toEqual([`lease-granted ${victim} #${token}`]);
    expect(seen.indexOf(`lease-released ${victim} #${token}`)).toBe(seen.indexOf(`lease-granted ${victim} #${token}`) + 1);
    expect(events.filter((e) => e.kind === "lease-granted" && e.node !== victim && e.timeMs < killedAt)).toEqual([]);
    // Grants and releases alternate: one holder at a time, and every node was granted once.
    expect(seen.map((s) => s.split(" ")[0])).toEqual(NODES.flatMap(() => ["lease-granted", "lease-released"]));
    expect(granted.map((s) => s.split(" ")[1]).sort()).toEqual(NODES);

    // The kube-apiserver's view: the victim's window spans the crash and no other node was cordoned within it.
    const windows = c.disruptions();
    expect(windows.map((w) => w.node).sort()).toEqual(NODES);
    const victimWindow = windows.find((w) => w.node === victim)!;
    expect(victimWindow.fromMs).toBeLessThan(killedAt);
    expect(victimWindow.toMs).toBeGreaterThan(killedAt);
    expect(c.peaks(windows).total).toBe(1);
  }, 120_000);
});
