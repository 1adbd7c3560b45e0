// E2E: a simulated rollout over three servers carrying the API VIP. Each carrier hands the VIP over before it is
// disrupted, so the VIP is never held inside a disruption window nor left without a holder, and a carrier takes part
// again only once it is back. A real coordinator, agent processes on SimSystem, real git and gRPC over TLS.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChaosRecorder } from "../chaos/chaos-recorder.js";
import { vipViolations } from "../chaos/vip-invariant.js";
import { eventually } from "../support/eventually.js";
import { maxConcurrent, startSimCluster, type SimCluster } from "../support/sim-cluster.js";

const NODES = ["n1", "n2", "n3"];
const VRRP_SECRET = "NK_VRRP_PASSWORD=5ec2e7aa\n";

describe("API VIP across a rolling reboot", () => {
  let cluster: SimCluster;
  let recorder: ChaosRecorder;

  beforeAll(async () => {
    cluster = await startSimCluster({
      nodes: NODES,
      secrets: { "vrrp-password": VRRP_SECRET },
      // Three servers only; the first rollout restarts k3s without rebooting (quick), the second reboots.
      files: { "nodes/n5.nix": null },
      edit: (doc) => {
        doc.deleteIn(["nodes", "n4"]);
        doc.deleteIn(["nodes", "n5"]);
        doc.deleteIn(["cluster", "k3s", "api_address"]);
        doc.setIn(["cluster", "k3s", "api"], doc.createNode({ vip: "172.30.190.10" }));
        doc.setIn(["cluster", "rollout", "reboot"], "never");
      },
    });
    recorder = new ChaosRecorder(new Map(NODES.map((n) => [n, cluster.simDir(n)])), { vip: true });
    recorder.startBootPoll(25);
  }, 180_000);

  /** The last carrier rejoins when its agent hears the release acknowledged, a moment after the coordinator shows the cluster converged. */
  const holderBecomes = (node: string) =>
    eventually(
      async () => {
        await recorder.pollOnce();
        return recorder.vipSamples.at(-1)?.holder === node ? true : undefined;
      },
      15_000,
      `${node} to hold the VIP`,
    );

  afterAll(async () => {
    await recorder?.stop();
    await cluster?.close();
  });

  it("comes up with the VIP on the highest-priority carrier, the VRRP password written by each agent outside its bundle", async () => {
    await cluster.converged(120_000);
    await holderBecomes("n1");
    // The agents report it (heartbeats), and the coordinator shows it in its status (gRPC and the JSON API).
    await eventually(async () => ((await cluster.status()).nodes.find((n) => n.holdsApiVip)?.name === "n1" ? true : undefined), 15_000, "the status to show n1 holding the VIP");
    expect((await cluster.status()).nodes.filter((n) => n.holdsApiVip).map((n) => n.name)).toEqual(["n1"]);
    const json = (await (await cluster.harness.fetch("/api/v1/status", { headers: { authorization: `Bearer ${cluster.harness.coordinator.adminToken}` } })).json()) as { apiVip: { address: string; holders: string[] }; nodes: { name: string; holdsApiVip: boolean }[] };
    expect(json.apiVip).toEqual({ address: "172.30.190.10", holders: ["n1"] });
    for (const node of NODES) {
      // The agent's secrets directory (the sim's /run/nk/secrets), which keepalived's secretFile names.
      expect(await readFile(join(cluster.simDir(node), "..", "secrets", "vrrp-password"), "utf8")).toBe(VRRP_SECRET);
    }
    // Switching in the k3s change took a service-restart lease: the VIP was handed over before each switch too.
    expect(vipViolations(recorder.vipSamples, cluster.disruptions(), 0)).toEqual([]);
  }, 150_000);

  it("hands the VIP over before each carrier drains and reboots, never holding it inside a disruption window", async () => {
    const fromSample = recorder.vipSamples.length;
    const fromWindow = cluster.disruptions().length;
    await cluster.editAndPush("bump nixpkgs and reboot", (doc) => {
      doc.setIn(["cluster", "nixpkgs", "channel"], "nixos-25.05");
      doc.setIn(["cluster", "rollout", "reboot"], "auto");
    });
    await cluster.converged(180_000);
    await holderBecomes("n1");
    const windows = cluster.disruptions().slice(fromWindow);
    const samples = recorder.vipSamples.slice(fromSample);
    expect(windows.map((w) => w.node).sort()).toEqual(NODES);
    expect(maxConcurrent(windows)).toBe(1);
    expect(recorder.bootChanges.map((c) => c.node).sort()).toEqual(NODES);
    // The strict form of the chaos invariant: not even one VRRP failover inside a window, and never no holder.
    expect(vipViolations(samples, windows, 0)).toEqual([]);
    // n1 held it when the rollout began and handed it over: the VIP moved, and came back to n1 at the end.
    const holders = samples.map((s) => s.holder);
    expect(holders[0]).toBe("n1");
    expect(new Set(holders).size).toBeGreaterThan(1);
    expect(holders.at(-1)).toBe("n1");
    for (const w of windows) {
      // Whatever the recorder saw while the carrier was cordoned, another carrier held the VIP. (The last sample
      // before the cordon may still show the carrier itself: hand-over and cordon can both fall between two polls.)
      const during = samples.filter((s) => s.fromMs < w.toMs && s.toMs > w.fromMs);
      for (const s of during) expect([null, w.node], `holder during ${w.node}'s window`).not.toContain(s.holder);
    }
    for (const node of NODES) expect(await readFile(join(cluster.simDir(node), "..", "agent.log"), "utf8")).not.toContain("API VIP");
    await eventually(async () => ((await cluster.status()).nodes.filter((n) => n.holdsApiVip).map((n) => n.name).join() === "n1" ? true : undefined), 15_000, "the status to show n1 holding the VIP again");
  }, 240_000);
});
