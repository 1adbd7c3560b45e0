// Integration: a node that goes down for its reboot and never comes back. Its missed reboot-return deadline halts
// the rollout with a visible reason and hands the slot to nobody; `nkctl lease release --force` lifts the halt,
// and once the lost node leaves the inventory the others complete. Also the `nkctl lease list` views.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { reportsSeen } from "../support/reports-seen.js";
import { startProcessCluster, type ProcessSimCluster } from "../support/sim-cluster-process.js";

const NODES = ["n1", "n2", "n3", "n4"];
const OTHERS = ["n1", "n2", "n3"];
/** The inventory's minimum; the coordinator adds no grace here (leaseDeadlineGraceSeconds 0). */
const REBOOT_TIMEOUT_S = 10;

interface ListJson {
  held: Array<{ node: string; fencingToken: number; state: string; phaseDeadlineMs: number; grantedAtMs: number }>;
  queue: Array<{ node: string; queuePosition: number; waitingReason: string }>;
  rollout: { state: string; haltReason: string; blockedReason: string };
}

describe("a node that never returns from its reboot", () => {
  let c: ProcessSimCluster;
  let token = 0;
  let deadline = 0;

  beforeAll(async () => {
    c = await startProcessCluster({ nodes: NODES, launch: false, edit: (doc) => doc.setIn(["cluster", "rollout", "reboot_timeout_seconds"], REBOOT_TIMEOUT_S) });
    // n4 (an agent, so the inventory stays valid without it) takes the first lease and powers off for good:
    // the others' builds hang until then, so they are healthy but not yet queued.
    await Promise.all(OTHERS.map((n) => c.setFaults(n, { "*": ["build-hang"] })));
    c.holdReboots(true);
    await c.launch();
    await eventually(() => c.held.includes("n4"), 60_000, "n4 to go down for its reboot");
    c.holdReboots(false);
    const lease = (await c.status()).leases.find((l) => l.node === "n4")!;
    expect(lease.state).toBe(LeaseState.LEASE_STATE_REBOOTING);
    token = lease.fencingToken;
    deadline = lease.phaseDeadlineMs;
    await Promise.all(OTHERS.map((n) => c.setFaults(n, {})));
    await eventually(async () => (await c.status()).leases.filter((l) => l.state === LeaseState.LEASE_STATE_QUEUED).length === OTHERS.length, 30_000, "the others to queue");
  }, 180_000);

  afterAll(async () => {
    await c?.close();
  });

  const list = async (): Promise<ListJson> => {
    const r = await c.nkctl(["-o", "json", "lease", "list"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ListJson;
  };

  it("nkctl lease list shows the holder with token and phase, and the queue with positions and reasons", async () => {
    const json = await list();
    expect(json.held).toEqual([expect.objectContaining({ node: "n4", fencingToken: token, state: "rebooting" })]);
    // A deadline after the grant (not "after now": a starved machine can reach the test after it passed).
    expect(json.held[0]!.phaseDeadlineMs).toBeGreaterThan(json.held[0]!.grantedAtMs);
    expect(json.held[0]!.grantedAtMs).toBeGreaterThan(0);
    expect(json.queue.map((q) => q.queuePosition)).toEqual([1, 2, 3]);
    expect(json.queue.map((q) => q.node).sort()).toEqual(OTHERS);
    for (const q of json.queue) expect(q.waitingReason).toBe("waiting: 1/1 node disrupted (n4)");

    const text = await c.nkctl(["lease", "list"]);
    expect(text.code, text.stderr).toBe(0);
    const lines = text.stdout.split("\n");
    expect(lines[0]).toMatch(/^HOLDER\s+SINCE\s+TOKEN\s+STATE\s+DEADLINE-LEFT$/);
    expect(lines[1]).toMatch(new RegExp(`^n4\\s+\\S+ ago\\s+${token}\\s+rebooting\\s+\\d+s$`));
    const queueAt = lines.findIndex((l) => /^POS\s+NODE\s+WAITING-FOR\/REASON$/.test(l));
    expect(queueAt).toBeGreaterThan(1);
    json.queue.forEach((q, i) => expect(lines[queueAt + 1 + i]).toMatch(new RegExp(`^${q.queuePosition}\\s+${q.node}\\s+\\S+: waiting: 1/1 node disrupted \\(n4\\)$`)));
    expect(text.stdout).toContain("next grant blocked: waiting: 1/1 node disrupted (n4)");
  });

  it("halts with a visible reason once the reboot-return deadline passes, and grants nobody", async () => {
    const status = await eventually(async () => ((s) => (s.rollout?.halted ? s : undefined))(await c.status()), (REBOOT_TIMEOUT_S + 10) * 1000, "the rollout to halt");
    // The deadline is the inventory's reboot timeout from the "rebooting" announcement, and the halt came after it.
    const events = await c.events();
    const rebooting = events.find((e) => e.kind === "lease-phase" && e.node === "n4" && e.message.endsWith("→ rebooting"))!;
    expect(deadline - rebooting.timeMs).toBeGreaterThan(REBOOT_TIMEOUT_S * 1000 - 500);
    expect(deadline - rebooting.timeMs).toBeLessThanOrEqual(REBOOT_TIMEOUT_S * 1000);
    expect(events.find((e) => e.kind === "rollout-halted")!.timeMs).toBeGreaterThanOrEqual(deadline);
    const reason = status.rollout!.haltReason;
    expect(reason).toMatch(new RegExp(`^node n4 missed its reboot-return deadline \\(rebooting, due .+\\); lease #${token} stays held`));
    expect(status.rollout!.blockedReason).toBe(`rollout halted: ${reason}`);

    const json = await list();
    expect(json.rollout).toMatchObject({ state: "halted", haltReason: reason });
    expect(json.held).toEqual([expect.objectContaining({ node: "n4", fencingToken: token, state: "rebooting" })]);
    for (const q of json.queue) expect(q.waitingReason).toBe(`rollout halted: ${reason}`);
    const text = (await c.nkctl(["lease", "list"])).stdout;
    expect(text).toMatch(new RegExp(`^n4\\s+\\S+ ago\\s+${token}\\s+rebooting\\s+overdue \\d+s$`, "m"));
    expect(text).toContain(`rollout halted: ${reason}`);

    await reportsSeen(c.status, NODES.filter((n) => n !== "n4"));
    expect((await c.events()).filter((e) => e.kind === "lease-granted").map((e) => e.node)).toEqual(["n4"]);
    expect(c.kube.calls("PATCH", "/api/v1/nodes/").map((r) => r.path.split("/").pop())).toEqual(["n4"]);
  });

  it("a forced release lifts the halt; the lost node still blocks grants until it leaves the inventory", async () => {
    const r = await c.nkctl(["lease", "release", "n4", "--force", "--reason", "machine lost"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`released: released lease #${token} of n4; n4 may still be cordoned: uncordon it once it is healthy\n`);
    const releasedAt = Date.now();
    const json = await list();
    expect(json.held).toEqual([]);
    expect(json.rollout.state).toBe("running");
    // Every node must be healthy for a grant, and n4's agent is gone: still no grant.
    await eventually(async () => (await list()).rollout.blockedReason.startsWith("node n4 unhealthy"), 10_000, "n4's health to block");
    expect((await c.events()).filter((e) => e.kind === "lease-granted").map((e) => e.node)).toEqual(["n4"]);

    await c.writeRepoFile("nodes/n4.nix", null);
    await c.editAndPush("decommission n4", (doc) => doc.deleteIn(["nodes", "n4"]));
    await c.converged(60_000, OTHERS);
    const windows = c.disruptions().filter((w) => w.node !== "n4");
    expect(windows.map((w) => w.node).sort()).toEqual(OTHERS);
    for (const w of windows) expect(w.fromMs).toBeGreaterThan(releasedAt);
    expect(c.peaks(windows).total).toBe(1);
    const events = await c.events();
    expect(events.filter((e) => e.kind === "lease-force-released").map((e) => e.node)).toEqual(["n4"]);
    expect(events.some((e) => e.kind === "rollout-halt-lifted" && e.node === "n4")).toBe(true);
  }, 90_000);
});
