// E2E: pushes that go wrong. A rejected push moves nothing; a push that breaks one node halts the rollout until a fix is pushed.
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDocument } from "yaml";
import { writeFaults } from "../../agent/src/system/index.js";
import { readRepoDir } from "../../nkctl/src/repo-files.js";
import { validateRepo } from "../../shared/src/inventory/index.js";
import { renderCluster } from "../../shared/src/render/index.js";
import { ApplyPhase, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { reportsSeen } from "../support/reports-seen.js";
import { maxConcurrent, startSimCluster, type SimCluster } from "../support/sim-cluster.js";

// Three nodes (two servers and the agent n5, whose nodes/n5.nix stays valid) keep the file fast.
const NODES = ["n1", "n2", "n5"] as const;

/** The bundle sha256 each node would get from the checkout as it is now, rendered like the coordinator does. */
async function renderedShas(checkout: string): Promise<Map<string, string>> {
  const files = await readRepoDir(checkout);
  const { inventory } = validateRepo(files);
  if (!inventory) throw new Error("the checkout does not validate");
  return new Map([...renderCluster(inventory, files)].map(([node, b]) => [node, b.sha256]));
}

/** How often the agent entered the building phase, from its own log. */
async function buildsLogged(cluster: SimCluster, node: string): Promise<number> {
  const log = await readFile(join(cluster.simDir(node), "..", "agent.log"), "utf8");
  return log.split("\n").filter((l) => l.includes('"msg":"apply phase"') && l.includes('"to":"building"')).length;
}

describe("push failures", () => {
  let cluster: SimCluster;

  beforeAll(async () => {
    cluster = await startSimCluster({
      nodes: NODES,
      edit: (doc) => {
        doc.deleteIn(["nodes", "n3"]);
        doc.deleteIn(["nodes", "n4"]);
      },
    });
  }, 180_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("rejects a bad push with git's remote: lines and moves nothing", async () => {
    const before = await cluster.converged(60_000);
    const builds = await Promise.all(NODES.map((n) => buildsLogged(cluster, n)));
    const stores = await Promise.all(NODES.map(async (n) => (await readdir(join(cluster.simDir(n), "store"))).length));
    const n1nix = join(cluster.harness.checkout, "nodes", "n1.nix");
    await writeFile(n1nix, "{ ... }: {\n  networking.firewall.enable = false;;\n}\n");
    const err = await cluster
      .editAndPush("three mistakes", (doc) => {
        doc.setIn(["nodes", "n2", "address"], "172.30.190.3");
        doc.setIn(["cluster", "rollout", "max_unavailabel"], 2);
      })
      .then(
        () => null,
        (e: Error) => e.message,
      );
    expect(err).not.toBeNull();
    const remote = err!.split("\n").map((l) => l.trimEnd()).filter((l) => l.startsWith("remote: "));
    // Every problem at once, each with file, line and field.
    expect(remote.some((l) => /^remote: inventory\.yaml:\d+:\d+ nodes\.n2\.address: .*172\.30\.190\.3/.test(l))).toBe(true);
    expect(remote.some((l) => /^remote: inventory\.yaml:\d+:\d+ cluster\.rollout\.max_unavailabel: /.test(l))).toBe(true);
    expect(remote.some((l) => /^remote: nodes\/n1\.nix:2:\d+ invalid Nix: /.test(l))).toBe(true);
    const head = (await cluster.harness.git("rev-parse", "HEAD")).stdout.trim();
    expect(remote).toContain(`remote: nk: rejected at ${head.slice(0, 12)}: 3 errors, 1 warning (nothing was changed)`);
    expect(err).toMatch(/\[remote rejected\] main -> main \(pre-receive hook declined\)/);

    // Give a wrongly adopted revision time to reach the agents: two reports from each (not a fixed time, which a
    // loaded machine can fill with nothing), then check nothing moved.
    await reportsSeen(() => cluster.status(), NODES);
    const after = await cluster.status();
    expect(after.rollout?.revision).toBe(before.rollout?.revision);
    for (const n of after.nodes) {
      const was = before.nodes.find((b) => b.name === n.name)!;
      expect(n.desiredRevision).toBe(was.desiredRevision);
      expect(n.appliedSha256).toBe(was.appliedSha256);
      expect(n.phase).toBe(ApplyPhase.APPLY_PHASE_CONFIRMED);
    }
    expect(await Promise.all(NODES.map((n) => buildsLogged(cluster, n)))).toEqual(builds);
    expect(await Promise.all(NODES.map(async (n) => (await readdir(join(cluster.simDir(n), "store"))).length))).toEqual(stores);

    // Drop the rejected commit so the next push starts from what the coordinator has.
    await cluster.harness.git("reset", "-q", "--hard", "nk/main");
    await expect(readFile(n1nix, "utf8")).rejects.toThrow(/ENOENT/);
  }, 90_000);

  it("a push that breaks one node halts the rollout; that node rolls back; a fixing push completes it", async () => {
    const before = await cluster.converged(30_000);
    const shaBefore = new Map(before.nodes.map((n) => [n.name, n.appliedSha256]));
    const n2Before = (await readFile(join(cluster.simDir("n2"), "current-system"), "utf8")).trim();
    const windowsBefore = cluster.disruptions().length;

    // The other nodes' builds hang until n2 has failed, so n2 is the first to take the lease.
    for (const n of ["n1", "n5"]) await writeFaults(cluster.simDir(n), { "*": ["build-hang"] });
    const n2nix = join(cluster.harness.checkout, "nodes", "n2.nix");
    await writeFile(n2nix, '{ ... }: {\n  boot.kernelParams = [ "console=ttyS1" ];\n  systemd.services.k3s.serviceConfig.ExecStartPre = "/run/current-system/sw/bin/false";\n}\n');
    // A nixpkgs bump as well, so every node has a disruptive step in this revision.
    const inventoryPath = join(cluster.harness.checkout, "inventory.yaml");
    const doc = parseDocument(await readFile(inventoryPath, "utf8"));
    doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05");
    await writeFile(inventoryPath, doc.toString());
    const badSha = (await renderedShas(cluster.harness.checkout)).get("n2")!;
    await writeFaults(cluster.simDir("n2"), { [badSha]: ["activation-error"] });
    const bad = await cluster.harness.push("n2: a k3s setting that does not start");
    expect(bad).toMatch(/remote: nk: revision [0-9a-f]{12} adopted: 3 node\(s\) get a new bundle, 0 unchanged/);

    const halted = await eventually(
      async () => {
        const s = await cluster.status();
        const n2 = s.nodes.find((n) => n.name === "n2")!;
        return s.rollout?.halted && n2.phase === ApplyPhase.APPLY_PHASE_ROLLED_BACK && s.leases.every((l) => l.node !== "n2") ? s : undefined;
      },
      30_000,
      "n2 to roll back and the rollout to halt",
    );
    expect(halted.rollout!.haltReason).toMatch(/node n2 failed: .*simulated activation failure/);
    const n2 = halted.nodes.find((n) => n.name === "n2")!;
    expect(n2.desiredSha256).toBe(badSha);
    expect(n2.appliedSha256).toBe(shaBefore.get("n2"));
    expect(n2.lastError).toMatch(/activation failure/);
    // Back on its last good generation, running and as the boot default.
    const sim = cluster.simDir("n2");
    expect((await readFile(join(sim, "current-system"), "utf8")).trim()).toBe(n2Before);
    const bootDefault = (await readFile(join(sim, "boot-default"), "utf8")).trim();
    expect((await readFile(join(sim, "generations", bootDefault, "system"), "utf8")).trim()).toBe(n2Before);
    // The broken system was built but never became a generation.
    const systems = await Promise.all((await readdir(join(sim, "generations"))).map(async (g) => (await readFile(join(sim, "generations", g, "system"), "utf8")).trim()));
    expect(systems.some((p) => p.startsWith(`/nix/store/${badSha.slice(0, 32)}-`))).toBe(false);
    expect(await readdir(join(sim, "store"))).toContain(`${badSha.slice(0, 32)}-nixos-system-n2-sim`);
    // The lease went back with nk's cordon lifted, so the halted node does not stay out of the cluster.
    expect(cluster.kube.node("n2")?.unschedulable ?? false).toBe(false);

    // Now the others may build; they wait, and never start a disruptive step of the halted revision.
    for (const n of ["n1", "n5"]) await writeFaults(cluster.simDir(n), {});
    const waiting = await eventually(
      async () => {
        const s = await cluster.status();
        const others = s.nodes.filter((n) => n.name !== "n2");
        // A node reports waiting-lease just before its request reaches the queue: wait for both.
        const queued = s.leases.filter((l) => l.state === LeaseState.LEASE_STATE_QUEUED).length === others.length;
        return others.every((n) => n.phase === ApplyPhase.APPLY_PHASE_WAITING_LEASE) && queued ? s : undefined;
      },
      20_000,
      "n1 and n5 to build and queue for a lease",
    );
    expect(waiting.rollout!.blockedReason).toMatch(/halted/);
    await reportsSeen(() => cluster.status(), ["n1", "n5"]);
    const still = await cluster.status();
    expect(still.rollout!.halted).toBe(true);
    for (const n of still.nodes.filter((x) => x.name !== "n2")) {
      expect(n.appliedSha256).toBe(shaBefore.get(n.name));
      expect(n.phase).toBe(ApplyPhase.APPLY_PHASE_WAITING_LEASE);
    }
    const sinceBad = cluster.disruptions().slice(windowsBefore);
    expect(sinceBad.map((w) => w.node)).toEqual(["n2"]);

    // The fix: n2's file without the broken line; a push clears the halt and the rollout completes.
    await writeFile(n2nix, '{ ... }: {\n  boot.kernelParams = [ "console=ttyS1" ];\n}\n');
    const fixed = await cluster.harness.push("n2: drop the broken k3s setting");
    expect(fixed).toMatch(/remote: nk: revision [0-9a-f]{12} adopted: 1 node\(s\) get a new bundle, 2 unchanged/);
    const done = await cluster.converged(90_000);
    expect(done.rollout!.halted).toBe(false);
    for (const n of done.nodes) expect(n.appliedSha256).not.toBe(shaBefore.get(n.name));
    expect(done.nodes.find((n) => n.name === "n2")!.appliedSha256).not.toBe(badSha);
    const windows = cluster.disruptions();
    expect(maxConcurrent(windows)).toBe(1);
    expect(windows.every((w) => w.toMs !== Infinity)).toBe(true);
    expect(new Set(windows.slice(windowsBefore).map((w) => w.node))).toEqual(new Set(NODES));
    for (const n of NODES) expect(cluster.kube.node(n)?.unschedulable ?? false).toBe(false);
  }, 120_000);
});
