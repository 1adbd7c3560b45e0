// E2E: a nixpkgs bump that moves k3s upgrades every server before any agent, whatever order the requests came in.
// A real coordinator, four agent processes on SimSystem (k3s follows the nixpkgs pin), real git pushes and gRPC.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeFaults } from "../../agent/src/system/index.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { eventually } from "../support/eventually.js";
import { runNkctl } from "../support/nkctl-runner.js";
import { startSimCluster, type SimCluster } from "../support/sim-cluster.js";

const SERVERS = ["n1", "n2", "n3"];
const NODES = [...SERVERS, "n4"];
const SKEW = /waiting for the servers to upgrade first: its new k3s (1\.32\.\d\+k3s1) would be newer than (1\.31\.\d\+k3s1) on server n[123]/;

describe("version skew", () => {
  let cluster: SimCluster;

  beforeAll(async () => {
    cluster = await startSimCluster({
      nodes: NODES,
      files: { "nodes/n5.nix": null },
      edit: (doc) => {
        doc.deleteIn(["nodes", "n5"]);
        // The first install reboots every node (the sim's initial system is not nk's): all at once keeps it short.
        doc.setIn(["cluster", "rollout", "max_unavailable"], 4);
        doc.setIn(["cluster", "rollout", "max_unavailable_servers"], 3);
      },
    });
    await cluster.converged(120_000);
  }, 150_000);

  afterAll(async () => {
    await cluster?.close();
  });

  it("queues the agent node first, holds it until every server runs the new k3s, and says why", async () => {
    // The servers' builds hang until released, so n4 (an agent) asks for its lease first.
    for (const s of SERVERS) await writeFaults(cluster.simDir(s), { "*": ["build-hang"] });
    await cluster.editAndPush("bump nixpkgs (k3s 1.31 → 1.32)", (doc) => {
      doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05");
      // Room for two disruptions at once: only the skew rule keeps n4 from going beside a server.
      doc.setIn(["cluster", "rollout", "max_unavailable"], 2);
      doc.setIn(["cluster", "rollout", "max_unavailable_servers"], 1);
    });
    const queued = await eventually(async () => (await cluster.status()).leases.find((l) => l.node === "n4" && SKEW.test(l.waitingReason)), 60_000, "n4 to queue and wait for the servers");
    expect(queued.queuePosition).toBe(1);
    expect(SKEW.exec(queued.waitingReason)!.slice(1)).toHaveLength(2);

    // The operator sees the same reason.
    const nkctl = await runNkctl(["lease", "list"], await nkctlRun(cluster));
    expect(nkctl.code, nkctl.stderr).toBe(0);
    expect(nkctl.stdout).toMatch(/n4 .*waiting for the servers to upgrade first: its new k3s 1\.32/);

    for (const s of SERVERS) await writeFaults(cluster.simDir(s), {});
    await cluster.converged(180_000);

    const events = await journal(cluster);
    const adopted = events.filter((e) => e.kind === "revision-adopted").at(-1)!;
    const bump = events.filter((e) => e.seq > adopted.seq);
    const order = (kind: string) => bump.filter((e) => e.kind === kind).map((e) => e.node);
    expect(order("lease-queued")[0]).toBe("n4");
    // Every server was granted (one at a time) before the agent, though the agent asked first.
    expect(order("lease-granted").slice(0, 3).sort()).toEqual(SERVERS);
    expect(order("lease-granted")[3]).toBe("n4");
    // ... and the agent's disruption began only after the last server was back on the new k3s.
    const windows = cluster.disruptions();
    const agentFrom = windows.filter((w) => w.node === "n4").at(-1)!.fromMs;
    for (const s of SERVERS) expect(windows.filter((w) => w.node === s).at(-1)!.fromMs).toBeLessThan(agentFrom);
  }, 300_000);
});

async function journal(cluster: SimCluster): Promise<Event[]> {
  const { client, metadata } = cluster.harness.admin();
  return new Promise((resolve, reject) => {
    const out: Event[] = [];
    const stream = client.watchEvents({ afterSeq: 0, tail: 100_000, follow: false }, metadata);
    stream.on("data", (r: { event?: Event }) => r.event && out.push(r.event));
    stream.on("error", reject);
    stream.on("end", () => resolve(out));
  });
}

async function nkctlRun(cluster: SimCluster) {
  const h = cluster.harness;
  const tokenFile = join(h.workDir, "admin.token");
  await writeFile(tokenFile, `${h.coordinator.adminToken}\n`, { mode: 0o600 });
  return {
    flags: ["--coordinator", `127.0.0.1:${h.coordinator.grpcPort}`, "--ca-file", h.caFile, "--token-file", tokenFile],
    env: { PATH: process.env.PATH, HOME: h.workDir, XDG_CONFIG_HOME: join(h.workDir, "xdg") },
  };
}
