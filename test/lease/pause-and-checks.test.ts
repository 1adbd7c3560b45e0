// Integration: `nkctl rollout pause` holds every grant back, resume lets them go; a failing cluster check
// (ceph health on the servers) blocks grants with its reason in `nkctl lease list`, and its recovery grants at once;
// a node failing its own check blocks grants too, also after the next revision reached it.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { HEALTHY_COMMANDS } from "../support/healthy-commands.js";
import { startProcessCluster, type ProcessSimCluster } from "../support/sim-cluster-process.js";
import { reportsSeen } from "../support/reports-seen.js";

const NODES = ["n1", "n2", "n3"];
const WARN = { stdout: "HEALTH_WARN 1 osds down\n" };
const HEALTH_OK = { stdout: "HEALTH_OK\n" };
/** n3's own node check. */
const DISK_CHECK = "test -e /dev/sda";

interface ListJson {
  held: Array<{ node: string }>;
  queue: Array<{ node: string; queuePosition: number; waitingReason: string }>;
  rollout: { state: string; pauseReason: string; blockedReason: string };
}

describe("pause, resume and cluster checks", () => {
  let c: ProcessSimCluster;

  beforeAll(async () => {
    c = await startProcessCluster({
      nodes: NODES,
      launch: false,
      commands: () => ({ ...HEALTHY_COMMANDS, "ceph health": WARN }),
      edit: (doc) => doc.setIn(["nodes", "n3", "checks"], doc.createNode([{ name: "disk", command: DISK_CHECK.split(" "), expect: "" }])),
    });
  }, 180_000);

  afterAll(async () => {
    await c?.close();
  });

  const list = async (): Promise<ListJson> => {
    const r = await c.nkctl(["-o", "json", "lease", "list"]);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as ListJson;
  };
  const granted = async () => (await c.events()).filter((e) => e.kind === "lease-granted");

  it("a paused rollout grants nothing", async () => {
    const paused = await c.nkctl(["rollout", "pause", "--reason", "change freeze"]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toMatch(/^rollout\s+paused: change freeze$/m);
    await c.launch();
    await eventually(async () => (await c.status()).leases.filter((l) => l.state === LeaseState.LEASE_STATE_QUEUED).length === NODES.length, 30_000, "every node to queue");
    // Health ticks and reports keep triggering decisions meanwhile: two reports from every node, however slow the machine.
    await reportsSeen(() => c.status(), NODES);
    const json = await list();
    expect(json.rollout).toMatchObject({ state: "paused", pauseReason: "change freeze", blockedReason: "paused by operator: change freeze" });
    expect(json.held).toEqual([]);
    expect(json.queue.map((q) => q.queuePosition)).toEqual([1, 2, 3]);
    for (const q of json.queue) expect(q.waitingReason).toBe("paused by operator: change freeze");
    expect(await granted()).toEqual([]);
    expect(c.kube.calls("PATCH", "/api/v1/nodes/")).toEqual([]);
  });

  it("after resume a failing cluster check blocks grants, with its reason in nkctl lease list", async () => {
    const resumed = await c.nkctl(["rollout", "resume"]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^rollout\s+running$/m);
    const reason = "check ceph failing: ";
    await eventually(async () => (await list()).rollout.blockedReason.startsWith(reason), 10_000, "the ceph check to block");
    await reportsSeen(() => c.status(), NODES);
    const text = await c.nkctl(["lease", "list"]);
    expect(text.stdout).toMatch(/^next grant blocked: check ceph failing: .*HEALTH_WARN/m);
    expect(text.stdout.split("\n").filter((l) => /^\d\s+n\d\s+/.test(l))).toHaveLength(NODES.length);
    for (const l of text.stdout.split("\n").filter((x) => /^\d\s+n\d\s+/.test(x))) expect(l).toMatch(/: check ceph failing: .*HEALTH_WARN/);
    expect(await granted()).toEqual([]);
    expect(c.kube.calls("PATCH", "/api/v1/nodes/")).toEqual([]);
  });

  it("the check's recovery grants at once, and the rollout completes", async () => {
    const recoveredAt = Date.now();
    await Promise.all(NODES.map((n) => c.setCommand(n, "ceph health", HEALTH_OK)));
    const [first] = await eventually(async () => ((g) => (g.length > 0 ? g : undefined))(await granted()), 10_000, "a grant after the recovery");
    // The check's own change triggered the grant, within one check round (1 s) plus scheduling.
    expect(first!.fields["trigger"]).toBe("checks");
    expect(first!.timeMs - recoveredAt).toBeLessThan(5_000);
    const log = await readFile(join(c.workDir, "coordinator.log"), "utf8");
    const lines = log.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { msg: string; time: number; latencyMs?: number; trigger?: string; ok?: boolean });
    const pass = lines.find((l) => l.msg === "cluster checks pass" && l.time >= recoveredAt);
    const grant = lines.find((l) => l.msg === "lease granted" && l.trigger === "checks");
    expect(pass).toBeDefined();
    expect(grant!.latencyMs).toBeLessThan(1_000);
    expect(grant!.time - pass!.time).toBeLessThan(1_000);
    await c.converged(60_000);
    expect(c.peaks().total).toBe(1);
  }, 90_000);

  it("a node failing its own check blocks grants, also once the next revision has reached it", async () => {
    await c.setCommand("n3", DISK_CHECK, { stdout: "", exitCode: 1 });
    await eventually(async () => (await c.status()).nodes.find((n) => n.name === "n3")?.health?.healthy === false, 10_000, "n3 to report its failing check");
    const since = Date.now();
    await c.editAndPush("new nixpkgs", (doc) => doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05"));
    await eventually(async () => (await c.status()).leases.filter((l) => l.state === LeaseState.LEASE_STATE_QUEUED).length === NODES.length, 30_000, "every node to queue");
    // n3 keeps reporting (every second) with the new revision known; its applied bundle's check still counts.
    await reportsSeen(() => c.status(), NODES);
    const json = await list();
    expect(json.held).toEqual([]);
    for (const q of json.queue) expect(q.waitingReason).toMatch(/^node n3 unhealthy: .*disk/);
    expect((await granted()).filter((e) => e.timeMs >= since)).toEqual([]);
    await c.setCommand("n3", DISK_CHECK, { stdout: "" });
    await c.converged(60_000);
    expect(c.peaks(c.disruptions().filter((w) => w.fromMs >= since)).total).toBe(1);
  }, 90_000);
});
