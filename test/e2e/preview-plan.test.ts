// E2E: preview refs on a four-node SimSystem cluster. Previews build on the nodes and classify, apply nothing (the
// simulated machines' generations stay as they were), and a real push cancels a running one and applies normally.
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SimSystem } from "../../agent/src/system/sim-system.js";
import type { GetPlanRequest, GetPlanResponse, ListPlansRequest, ListPlansResponse, DeletePlanRequest, DeletePlanResponse, Plan } from "../../shared/src/proto/gen/nk/v1/admin.js";
import { PreviewOutcome } from "../../shared/src/proto/gen/nk/v1/common.js";
import { previewOutcomeFromWire } from "../../shared/src/wire/index.js";
import { adminCall } from "../support/admin-call.js";
import { eventually } from "../support/eventually.js";
import { REPO_ROOT } from "../support/repo-root.js";
import { pinSynthetic } from "../support/pin-synthetic.js";
import { startSimCluster, type SimCluster } from "../support/sim-cluster.js";
import { cliEnv } from "../support/cli-env.js";

const NODES = ["n1", "n2", "n3", "n4"];
let cluster: SimCluster;
let main = "";

async function git(...args: string[]): Promise<string> {
  return (await cluster.harness.git(...args)).stdout.trim();
}

/** Commits an edit of the checkout on top of main, pushes it to refs/heads/preview/<name>, leaves main checked out. */
async function preview(name: string, edit: () => Promise<void>): Promise<{ commit: string; remote: string }> {
  await git("checkout", "-q", "-B", `work-${name}`, main);
  await edit();
  await pinSynthetic(cluster.harness.checkout);
  await git("add", "-A");
  await git("commit", "-q", "-m", `preview ${name}`);
  const commit = await git("rev-parse", "HEAD");
  const { stderr } = await cluster.harness.git("push", "-q", "nk", `+${commit}:refs/heads/preview/${name}`).catch((err: { stderr?: string }) => {
    throw new Error(`push of preview ${name} refused:\n${err.stderr ?? String(err)}`);
  });
  await git("checkout", "-q", "main");
  return { commit, remote: stderr };
}

async function writeNodeFile(node: string, text: string): Promise<void> {
  await mkdir(join(cluster.harness.checkout, "nodes"), { recursive: true });
  await writeFile(join(cluster.harness.checkout, "nodes", `${node}.nix`), text);
}

async function editInventory(path: (string | number)[], value: unknown): Promise<void> {
  const file = join(cluster.harness.checkout, "inventory.yaml");
  const doc = parseDocument(await readFile(file, "utf8"));
  doc.setIn(path, value);
  await writeFile(file, doc.toString());
}

function nkctl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, "bin/nkctl.js"), ...args], { env: cliEnv(cluster.harness.workDir), stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function admin() {
  return cluster.harness.admin();
}

async function getPlan(name: string): Promise<Plan> {
  const { client, metadata } = admin();
  const res = await adminCall<GetPlanRequest, GetPlanResponse>(client.getPlan.bind(client), { name }, metadata);
  return res.plan!;
}

function outcomes(plan: Plan): Record<string, string> {
  return Object.fromEntries(plan.nodes.map((n) => [n.node, previewOutcomeFromWire(n.outcome)]));
}

async function complete(name: string): Promise<Plan> {
  return eventually(async () => {
    const p = await getPlan(name);
    return p.complete ? p : undefined;
  }, 60_000, `plan ${name} to complete`);
}

/** Every node's simulated generations, current and boot default: what any apply would change. */
async function machines(): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const node of NODES) {
    const sim = await SimSystem.open({ dir: cluster.simDir(node), node });
    out[node] = { generations: await sim.generations(), current: await sim.currentSystem(), bootDefault: await sim.bootDefault() };
  }
  return out;
}

describe("preview plans", () => {
  beforeAll(async () => {
    cluster = await startSimCluster({
      nodes: NODES,
      edit: (doc) => doc.deleteIn(["nodes", "n5"]),
      files: { "nodes/n5.nix": null },
      // Nothing here is about the first install; the bump's rollout below runs one node at a time.
      installAtOnce: true,
    });
    await cluster.converged(180_000);
    main = await git("rev-parse", "HEAD");
  }, 240_000);

  afterAll(async () => {
    await cluster?.close();
  });

  let bump = "";

  it("a nixpkgs bump: reboot on every node with the kernel change named, and nothing applied", async () => {
    const before = await machines();
    const { commit, remote } = await preview("bump", () => editInventory(["cluster", "nixpkgs", "channel"], "nixos-25.05"));
    bump = commit;
    expect(remote).toContain(`remote: nk: preview bump at ${commit.slice(0, 12)}: 4 node(s) build it (4 connected now), 0 unchanged; nothing is applied`);
    const plan = await complete("bump");
    expect(outcomes(plan)).toEqual({ n1: "reboot", n2: "reboot", n3: "reboot", n4: "reboot" });
    for (const n of plan.nodes) {
      expect(n.reason).toMatch(/^reboot: kernel linux-sim-\w{8} → linux-sim-\w{8}/);
      expect(n.changes.map((c) => c.what)).toContain("kernel");
    }
    expect(plan.totals).toMatchObject({ reboots: 4, switches: 0, failed: 0 });
    expect(plan.rebootLeases).toBe(4);
    expect(plan.estimateMs).toBeGreaterThan(0);
    expect(plan.estimateBasis).toMatch(/^4 wave\(s\) of at most 1 node\(s\)/);
    expect(await machines()).toEqual(before);
    // Never desired: main and every node's desired bundle are as they were.
    const status = await cluster.status();
    expect(status.rollout?.revision).toBe(main);
    expect(status.nodes.every((n) => n.desiredSha256 === n.appliedSha256)).toBe(true);
  }, 90_000);

  let n4Commit = "";

  it("a nodes/n4.nix edit: only n4 builds it, every other node is unchanged", async () => {
    n4Commit = (await preview("n4", () => writeNodeFile("n4", '{ ... }: { environment.etc."motd".text = "n4 preview"; }\n'))).commit;
    const plan = await complete("n4");
    expect(outcomes(plan)).toEqual({ n1: "no-op", n2: "no-op", n3: "no-op", n4: "switch" });
    expect(plan.nodes.find((n) => n.node === "n1")?.reason).toBe("bundle unchanged: nothing to build");
    expect(plan.nodes.find((n) => n.node === "n4")?.reason).toBe("switch restarts no units");
    expect(plan.summary).toContain("0 reboots, 0 restarts, 1 switch, 0 failed, 3 unchanged; no lease needed");
  });

  it("nkctl plan pushes the preview from the checkout, waits for the nodes and prints the plan; show -o json", async () => {
    const caFile = join(cluster.harness.workDir, "ca.crt");
    const tokenFile = join(cluster.harness.workDir, "admin.token");
    await writeFile(caFile, cluster.harness.coordinator.caPem);
    await writeFile(tokenFile, `${cluster.harness.coordinator.adminToken}\n`, { mode: 0o600 });
    await git("config", "http.sslCAInfo", caFile);
    const flags = ["--coordinator", `127.0.0.1:${cluster.harness.coordinator.grpcPort}`, "--ca-file", caFile, "--token-file", tokenFile];
    const made = await nkctl([...flags, "plan", "--repo", cluster.harness.checkout, "--remote", "nk", "--name", "cli", n4Commit]);
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toContain("remote: nk: preview cli at");
    expect(made.stdout).toMatch(/^plan cli {2}revision \w{12} {2}made /);
    expect(made.stdout).toMatch(/\nn4 +switch +switch restarts no units\n/);
    expect(made.stdout).toContain("totals    0 reboot, 0 restart, 1 switch, 0 failed, 3 unchanged");
    const shown = await nkctl([...flags, "-o", "json", "plan", "show", "cli"]);
    expect(shown.code, shown.stderr).toBe(0);
    const json = JSON.parse(shown.stdout) as { complete: boolean; nodes: { node: string; outcome: string }[]; leases: unknown };
    expect(json.complete).toBe(true);
    expect(json.nodes.map((n) => `${n.node}:${n.outcome}`)).toEqual(["n1:no-op", "n2:no-op", "n3:no-op", "n4:switch"]);
    expect(json.leases).toEqual({ reboot: 0, restart: 0 });
    const deleted = await nkctl([...flags, "plan", "delete", "cli"]);
    expect([deleted.code, deleted.stdout]).toEqual([0, "preview cli deleted\n"]);
    const again = await nkctl([...flags, "plan", "show", "cli"]);
    expect(again.code).toBe(4);
  }, 90_000);

  it("a build error on one node: build-failed there with the log, the others plan, no generation changes", async () => {
    const before = await machines();
    const n2 = await SimSystem.open({ dir: cluster.simDir("n2"), node: "n2" });
    await n2.setFaults({ "*": ["build-error"] });
    try {
      await preview("broken", () => editInventory(["cluster", "nixpkgs", "channel"], "nixos-25.11"));
      const plan = await complete("broken");
      expect(outcomes(plan)).toEqual({ n1: "reboot", n2: "build-failed", n3: "reboot", n4: "reboot" });
      const failed = plan.nodes.find((n) => n.node === "n2")!;
      expect(failed.reason).toBe("error: simulated build failure");
      expect(failed.logTail).toContain("error: simulated build failure");
      expect(plan.totals?.failed).toBe(1);
      expect(await machines()).toEqual(before);
    } finally {
      await n2.setFaults({});
    }
  });

  it("a real push during a preview cancels it, applies normally, and ends with the previewed tree's plan", async () => {
    const n4 = await SimSystem.open({ dir: cluster.simDir("n4"), node: "n4" });
    await n4.setFaults({ "*": ["build-hang"] });
    await preview("slow", () => writeNodeFile("n4", '{ ... }: { environment.etc."motd".text = "slow"; }\n'));
    const building = await eventually(async () => {
      const p = await getPlan("slow");
      const n = p.nodes.find((x) => x.node === "n4");
      return n?.outcome === PreviewOutcome.PREVIEW_OUTCOME_BUILDING ? n : undefined;
    }, 30_000, "n4 to build the slow preview");
    // Only the preview's bundle hangs: the real apply builds.
    await n4.setFaults({ [building.bundleSha256]: ["build-hang"] });

    const { stderr } = await cluster.harness.git("push", "nk", `${bump}:refs/heads/main`);
    const remote = stderr.split("\n").filter((l) => l.startsWith("remote: nk:"));
    expect(remote.at(-1)).toMatch(/^remote: nk: this tree was previewed: plan bump \(\w{12}\): 4 reboots, 0 restarts, 0 switches, 0 failed, 0 unchanged; needs 4 reboot leases and 0 restart leases; rollout about /);

    const cancelled = await eventually(async () => {
      const n = (await getPlan("slow")).nodes.find((x) => x.node === "n4");
      return n?.outcome === PreviewOutcome.PREVIEW_OUTCOME_CANCELLED ? n : undefined;
    }, 30_000, "the slow preview to be cancelled on n4");
    expect(cancelled.reason).toBe("a real apply started on this node");
    const status = await cluster.converged(180_000);
    expect(status.rollout?.revision).toBe(bump);
    expect(cluster.disruptions().filter((w) => w.toMs !== Infinity).length).toBe(8);
    await n4.setFaults({});
  }, 240_000);

  it("nkctl plan delete drops a plan and its ref", async () => {
    const { client, metadata } = admin();
    const res = await adminCall<DeletePlanRequest, DeletePlanResponse>(client.deletePlan.bind(client), { name: "n4" }, metadata);
    expect(res.deleted).toBe(true);
    const list = await adminCall<ListPlansRequest, ListPlansResponse>(client.listPlans.bind(client), {}, metadata);
    expect(list.plans.map((p) => p.name).sort()).toEqual(["broken", "bump", "slow"]);
    expect(await git("ls-remote", "nk", "refs/heads/preview/*")).not.toContain("refs/heads/preview/n4");
    await rm(join(cluster.harness.checkout, "nodes", "n4.nix"), { force: true });
  });
});
