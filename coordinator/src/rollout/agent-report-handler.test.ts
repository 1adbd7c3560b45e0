// agentReportHandler / remoteReportHandler over a real NodeHealth (no Kubernetes): health noted, a new failure halts once.
import { describe, expect, it } from "vitest";
import { silentLogger } from "../../../shared/src/log/index.js";
import { NodeHealth, systemHealthTimers } from "../health/index.js";
import { NoKube } from "../kube/index.js";
import type { NodeReport } from "../store/index.js";
import { agentReportHandler, remoteReportHandler } from "./agent-report-handler.js";

const report = (phase: string, healthy: boolean, atMs = Date.now()): NodeReport => ({
  revision: "r2",
  sha256: "s2",
  phase,
  health: { healthy, checks: [], observedAtMs: atMs },
  error: phase === "failed" ? "build failed: attribute missing" : "",
  agentVersion: "1.0.0",
  bootId: "b1",
  bootedSystem: "/nix/store/sys",
  currentSystem: "/nix/store/sys",
  atMs,
});

function health() {
  const h = new NodeHealth({ kube: new NoKube(), timers: systemHealthTimers, log: silentLogger() });
  h.setNodes(["n1"], []);
  return h;
}

describe("agentReportHandler", () => {
  it("notes the report's health and counts it; a healthy report halts nothing", () => {
    const h = health();
    h.noteConnected("n1", true);
    const halts: string[][] = [];
    let counted = 0;
    const handle = agentReportHandler({ health: h, noteFailure: async (...a) => void halts.push(a), onReport: () => void counted++, log: silentLogger() });
    handle("n1", report("confirmed", true), undefined);
    expect(counted).toBe(1);
    expect(h.view("n1")).toMatchObject({ agentHealthy: true, healthy: true });
    expect(halts).toEqual([]);
  });

  it("halts once for a new failure, not again for its repeats", () => {
    const h = health();
    const halts: string[][] = [];
    const handle = agentReportHandler({ health: h, noteFailure: async (...a) => void halts.push(a), log: silentLogger() });
    const failed = report("failed", false);
    handle("n1", failed, report("building", true));
    handle("n1", failed, failed);
    expect(halts).toEqual([["n1", "r2", "build failed: attribute missing"]]);
    expect(h.view("n1")).toMatchObject({ agentHealthy: false });
  });
  it("tries a halt whose write failed again at the failure's next repeat, until written; a new report ends the tries", async () => {
    const h = health();
    const calls: string[] = [];
    let fail = 2;
    const handle = agentReportHandler({
      health: h,
      noteFailure: async (node) => {
        calls.push(node);
        if (fail-- > 0) throw new Error("etcd transaction failed: 14 UNAVAILABLE");
      },
      log: silentLogger(),
    });
    const settle = () => new Promise((r) => setImmediate(r));
    const failed = report("failed", false);
    handle("n1", failed, report("building", true));
    // A repeat while the first attempt is still running starts no second one.
    handle("n1", failed, failed);
    await settle();
    expect(calls).toEqual(["n1"]);
    handle("n1", failed, failed);
    await settle();
    expect(calls).toEqual(["n1", "n1"]);
    handle("n1", failed, failed);
    await settle();
    expect(calls).toEqual(["n1", "n1", "n1"]);
    // Written: the repeats halt nothing more.
    handle("n1", failed, failed);
    await settle();
    expect(calls).toHaveLength(3);
    // A failed write, then the node moves on (an operator retry, a new push): nothing more is tried for that failure.
    fail = 1;
    const other = { ...failed, revision: "r3" };
    handle("n1", other, failed);
    await settle();
    expect(calls).toHaveLength(4);
    const building = report("building", true);
    handle("n1", building, other);
    handle("n1", building, building);
    await settle();
    expect(calls).toHaveLength(4);
  });
});

describe("remoteReportHandler", () => {
  it("counts a node reporting through another coordinator as connected and fresh", () => {
    const h = health();
    remoteReportHandler(h)("n1", report("confirmed", true));
    expect(h.view("n1")).toMatchObject({ connected: true, agentFresh: true, healthy: true });
  });
});
