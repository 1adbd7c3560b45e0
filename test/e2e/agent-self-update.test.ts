// E2E: pinning another nk (cluster.agent.flake and version) updates every agent in the middle of a rolling change, one disruption at a time.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import type { Event } from "../../shared/src/proto/gen/nk/v1/common.js";
import { NK_VERSION } from "../../shared/src/version/index.js";
import { writeFaults } from "../../agent/src/system/index.js";
import { eventually } from "../support/eventually.js";
import { maxConcurrent, startSimCluster, type DisruptionWindow, type SimCluster } from "../support/sim-cluster.js";

// Three nodes: two servers and the agent n5 (whose nodes/n5.nix stays valid).
const NODES = ["n1", "n2", "n5"] as const;

/** Polls GetStatus until `stop` resolves, keeping the first sample where some node already runs `version` and another has not applied its bundle yet. */
function watchForMixed(cluster: SimCluster, version: string): { stop(): Promise<GetStatusResponse | null> } {
  let seen: GetStatusResponse | null = null;
  let running = true;
  const loop = (async () => {
    while (running && !seen) {
      const s = await cluster.status();
      const updated = s.nodes.filter((n) => n.agentVersion === version);
      const pending = s.nodes.filter((n) => n.appliedSha256 !== n.desiredSha256);
      if (updated.length > 0 && pending.length > 0) seen = s;
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Converged, and every agent says (in Hello and Report) it runs `version`. */
async function convergedOn(cluster: SimCluster, version: string): Promise<GetStatusResponse> {
  await cluster.converged(40_000);
  return eventually(
    async () => {
      const s = await cluster.status();
      return s.nodes.every((n) => n.agentVersion === version && n.connected && n.appliedSha256 === n.desiredSha256) && s.leases.length === 0 ? s : undefined;
    },
    10_000,
    `every agent to report ${version}`,
  );
}

function events(cluster: SimCluster): Promise<Event[]> {
  const { client, metadata } = cluster.harness.admin();
  return new Promise((resolve, reject) => {
    const out: Event[] = [];
    const stream = client.watchEvents({ afterSeq: 0, tail: 100_000, follow: false }, metadata);
    stream.on("data", (r: { event?: Event }) => r.event && out.push(r.event));
    stream.on("end", () => resolve(out));
    stream.on("error", reject);
  });
}

/** Grant to release of every lease after `afterSeq`, from the coordinator's event log. */
function leaseWindows(all: readonly Event[], afterSeq: number): Array<DisruptionWindow & { kind: string }> {
  const open = new Map<string, { fromMs: number; kind: string }>();
  const windows: Array<DisruptionWindow & { kind: string }> = [];
  for (const e of all.filter((x) => x.seq > afterSeq)) {
    if (e.kind === "lease-granted") open.set(e.node, { fromMs: e.timeMs, kind: /for a ([a-z-]+)/.exec(e.message)?.[1] ?? "" });
    const o = open.get(e.node);
    if (o && /^lease-(released|released-failed|force-released)$/.test(e.kind)) {
      windows.push({ node: e.node, fromMs: o.fromMs, toMs: e.timeMs, kind: o.kind });
      open.delete(e.node);
    }
  }
  for (const [node, o] of open) windows.push({ node, fromMs: o.fromMs, toMs: Infinity, kind: o.kind });
  return windows;
}

async function selfUpdateRecord(cluster: SimCluster, node: string): Promise<{ from: string; to: string } | null> {
  const path = join(cluster.simDir(node), "..", "state", "self-update.json");
  return JSON.parse(await readFile(path, "utf8").catch(() => "null")) as { from: string; to: string } | null;
}

describe("agent self-update", () => {
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

  it("each agent restarts into the version its confirmed system pins, while the k3s change rolls on", async () => {
    const before = await cluster.converged(60_000);
    expect(before.nodes.map((n) => n.agentVersion)).toEqual([NK_VERSION, NK_VERSION, NK_VERSION]);
    const starts = new Map(NODES.map((n) => [n, cluster.agents.get(n)!.starts]));
    const from = cluster.disruptions().length;
    const fromSeq = Math.max(0, ...(await events(cluster)).map((e) => e.seq));

    // n5's build is held back, so the rollout is still under way when n1 and n2 have updated.
    await writeFaults(cluster.simDir("n5"), { "*": ["build-hang"] });
    const out = await cluster.editAndPush("nk 0.1.1 and a kubelet flag", (doc) => {
      doc.setIn(["cluster", "agent"], { flake: "github:nk-project/nk/v0.1.1", version: "0.1.1" });
      // Restarts k3s (a lease, one node at a time) but keeps the kernel: no reboot brings the new agent.
      doc.setIn(["cluster", "k3s", "extra_flags"], ["--kubelet-arg=max-pods=150"]);
    });
    expect(out).toMatch(/adopted: 3 node\(s\) get a new bundle/);
    const mid = await eventually(
      async () => {
        const s = await cluster.status();
        return s.nodes.filter((n) => n.name !== "n5").every((n) => n.agentVersion === "0.1.1" && n.appliedSha256 === n.desiredSha256) ? s : undefined;
      },
      30_000,
      "n1 and n2 to confirm and restart into 0.1.1",
    );
    const n5 = mid.nodes.find((n) => n.name === "n5")!;
    expect(n5.agentVersion).toBe(NK_VERSION);
    expect(n5.appliedSha256).not.toBe(n5.desiredSha256);
    await writeFaults(cluster.simDir("n5"), {});
    const status = await convergedOn(cluster, "0.1.1");

    for (const n of status.nodes) expect(n.appliedSha256).not.toBe(before.nodes.find((b) => b.name === n.name)!.appliedSha256);
    // A k3s restart holds a lease (no drain: the pods keep running), one node at a time.
    const leases = leaseWindows(await events(cluster), fromSeq);
    expect(leases.map((w) => w.node).sort()).toEqual([...NODES].sort());
    expect(leases.every((w) => w.kind === "service-restart" && w.toMs !== Infinity)).toBe(true);
    expect(maxConcurrent(leases)).toBe(1);
    expect(cluster.disruptions().length).toBe(from);
    for (const node of NODES) {
      // Exactly one more start each: the self-update restart (exit 76), no reboot.
      expect(cluster.agents.get(node)!.starts - starts.get(node)!).toBe(1);
      expect(await selfUpdateRecord(cluster, node)).toMatchObject({ from: NK_VERSION, to: "0.1.1" });
    }
  }, 90_000);

  it("with a nixpkgs bump, each node's reboot brings up the new agent, one node at a time", async () => {
    const before = await cluster.converged(30_000);
    const starts = new Map(NODES.map((n) => [n, cluster.agents.get(n)!.starts]));
    const from = cluster.disruptions().length;

    const mixed = watchForMixed(cluster, "0.1.2");
    await cluster.editAndPush("nk 0.1.2 and nixpkgs 25.05", (doc) => {
      doc.setIn(["cluster", "agent"], { flake: "github:nk-project/nk/v0.1.2", version: "0.1.2" });
      doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05");
    });
    const status = await convergedOn(cluster, "0.1.2");
    const sample = await mixed.stop();

    for (const n of status.nodes) expect(n.appliedSha256).not.toBe(before.nodes.find((b) => b.name === n.name)!.appliedSha256);
    expect(sample).not.toBeNull();
    const windows = cluster.disruptions().slice(from);
    expect(windows.map((w) => w.node).sort()).toEqual([...NODES].sort());
    expect(maxConcurrent(cluster.disruptions())).toBe(1);
    for (const node of NODES) {
      // The reboot starts the agent the new generation ships: no extra self-update restart.
      expect(cluster.agents.get(node)!.starts - starts.get(node)!).toBe(1);
      expect(await selfUpdateRecord(cluster, node)).toMatchObject({ from: NK_VERSION, to: "0.1.1" });
    }
  }, 90_000);
});
