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
});

describe("remoteReportHandler", () => {
  it("counts a node reporting through another coordinator as connected and fresh", () => {
    const h = health();
    remoteReportHandler(h)("n1", report("confirmed", true));
    expect(h.view("n1")).toMatchObject({ connected: true, agentFresh: true, healthy: true });
  });
});
