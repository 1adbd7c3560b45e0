// etcd snapshot before a server goes down (real coordinator, agent processes on SimSystem, fake kube-apiserver):
// saved before the drain and named in the event, the lease (status, nkctl, JSON) and on disk; a failed snapshot
// halts the rollout with the command's error, and the node is neither drained nor rebooted.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { runNkctl } from "../support/nkctl-runner.js";
import { eventsOf, kernelParamsNix, startAgentCluster, type AgentCluster } from "./agent-cluster.js";

describe("etcd snapshot before a server goes down", () => {
  let cluster: AgentCluster;
  let nkctl: (args: string[]) => Promise<unknown>;

  beforeAll(async () => {
    cluster = await startAgentCluster();
    const h = cluster.harness;
    const tokenFile = join(h.workDir, "admin.token");
    await writeFile(tokenFile, `${h.coordinator.adminToken}\n`, { mode: 0o600 });
    const flags = ["--coordinator", `127.0.0.1:${h.coordinator.grpcPort}`, "--ca-file", h.caFile, "--token-file", tokenFile];
    const env = { PATH: process.env.PATH, HOME: h.workDir, XDG_CONFIG_HOME: join(h.workDir, "xdg") };
    nkctl = async (args) => {
      const r = await runNkctl(["-o", "json", ...args], { flags, env });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as unknown;
    };
  }, 150_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("saves the snapshot before the drain: in the event, the held lease and the simulated disk", async () => {
    const lastSeq = (await cluster.events()).at(-1)?.seq ?? 0;
    const onDisk = await cluster.etcdSnapshots("n2");
    // The boot activation waits, so the lease stays held (past its drain) while it is read.
    await cluster.setFaults("n2", { "*": ["activation-hang"] });
    await cluster.writeRepoFile("nodes/n2.nix", kernelParamsNix("snapshot"));
    const revision = await cluster.push("a kernel parameter on n2: a reboot of a server");
    const name = `nk-${revision.slice(0, 12)}-n2`;

    const held = await eventually(async () => (await cluster.status()).leases.find((l) => l.node === "n2" && l.etcdSnapshot === name && l.state === LeaseState.LEASE_STATE_REBOOTING), 40_000, "n2's lease, rebooting, with its snapshot");
    expect(held.revision).toBe(revision);
    const listed = (await nkctl(["lease", "list"])) as { held: Array<{ node: string; etcdSnapshot?: string }> };
    expect(listed.held.find((l) => l.node === "n2")?.etcdSnapshot).toBe(name);
    const res = await cluster.harness.fetch("/api/v1/status", { headers: { authorization: `Bearer ${cluster.harness.coordinator.adminToken}` } });
    const json = (await res.json()) as { leases: Array<{ node: string; etcdSnapshot?: string }> };
    expect(json.leases.find((l) => l.node === "n2")?.etcdSnapshot).toBe(name);

    await cluster.setFaults("n2", {});
    await cluster.converged(60_000);

    const events = (await cluster.events()).filter((e) => e.seq > lastSeq);
    const saved = eventsOf(events, "n2", ["etcd-snapshot-saved"], revision);
    expect(saved).toHaveLength(1);
    expect(saved[0]!.fields).toMatchObject({ snapshot: name, fencingToken: String(held.fencingToken) });
    expect(saved[0]!.message).toBe(`etcd snapshot ${name} saved on n2 before its drain`);
    // Saved before the drain started (the phase change to draining) and so before the drain's end.
    const order = events.filter((e) => e.node === "n2").map((e) => (e.kind === "lease-phase" ? `${e.kind}:${e.fields.to}` : e.kind));
    expect(order.indexOf("etcd-snapshot-saved")).toBeGreaterThan(order.indexOf("lease-granted"));
    expect(order.indexOf("etcd-snapshot-saved")).toBeLessThan(order.indexOf("lease-phase:draining"));
    expect(order.indexOf("lease-phase:draining")).toBeLessThan(order.indexOf("lease-drained"));

    const added = (await cluster.etcdSnapshots("n2")).filter((f) => !onDisk.includes(f));
    expect(added).toHaveLength(1);
    expect(added[0]).toMatch(new RegExp(`^${name}-n2-\\d+$`));
  }, 120_000);

  it("a failed snapshot halts the rollout with the command's error; the node is neither drained nor rebooted", async () => {
    const lastSeq = (await cluster.events()).at(-1)?.seq ?? 0;
    const machine = await cluster.machine("n3");
    const patches = cluster.kube.calls("PATCH", "/api/v1/nodes/n3").length;
    const windows = cluster.disruptions().filter((w) => w.node === "n3").length;
    const onDisk = await cluster.etcdSnapshots("n3");
    await cluster.setFaults("n3", { "*": ["etcd-snapshot-error"] });
    await cluster.writeRepoFile("nodes/n3.nix", kernelParamsNix("no-snapshot"));
    const revision = await cluster.push("a kernel parameter on n3, whose snapshot fails");
    const name = `nk-${revision.slice(0, 12)}-n3`;
    const error = `etcd snapshot ${name} failed: k3s etcd-snapshot save exited with 1: level=fatal msg="Error: etcd-snapshot: failed to save snapshot: context deadline exceeded (simulated)"`;

    const status = await eventually(async () => {
      const s = await cluster.status();
      return s.rollout?.halted && s.leases.length === 0 ? s : undefined;
    }, 40_000, "the rollout to halt with n3's lease given back");
    expect(status.rollout?.haltReason).toBe(`node n3 failed: ${error}`);
    const n3 = status.nodes.find((n) => n.name === "n3")!;
    expect(n3.lastError).toBe(error);
    expect(n3.appliedRevision).not.toBe(revision);
    const rollout = (await nkctl(["rollout", "status"])) as { state: string; haltReason: string };
    expect(rollout).toMatchObject({ state: "halted", haltReason: `node n3 failed: ${error}` });

    // Not drained (never cordoned), not rebooted, still running what it ran; no snapshot file.
    expect(cluster.kube.calls("PATCH", "/api/v1/nodes/n3")).toHaveLength(patches);
    expect(cluster.disruptions().filter((w) => w.node === "n3")).toHaveLength(windows);
    const after = await cluster.machine("n3");
    expect({ bootId: after.bootId, booted: after.bootedSystem, current: after.currentSystem, bootDefault: after.bootDefault }).toEqual({
      bootId: machine.bootId,
      booted: machine.bootedSystem,
      current: machine.currentSystem,
      bootDefault: machine.bootDefault,
    });
    expect(await cluster.etcdSnapshots("n3")).toEqual(onDisk);

    const events = (await cluster.events()).filter((e) => e.seq > lastSeq);
    expect(eventsOf(events, "n3", ["etcd-snapshot-saved", "lease-drained", "lease-drain-failed"], revision)).toEqual([]);
    const released = eventsOf(events, "n3", ["lease-released-failed"], revision);
    expect(released).toHaveLength(1);
    expect(released[0]!.message).toContain(`released after a failure: ${error}`);
    expect(eventsOf(events, "n3", ["rollout-halted"], revision).map((e) => e.message)).toEqual([`node n3 failed: ${error}`]);
  }, 120_000);
});
