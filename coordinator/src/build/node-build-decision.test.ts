// Per node and bundle: build locally, fetch the pushed system, wait for the build, or halt with the build's failure.
import { describe, expect, it } from "vitest";
import type { BuildSettings } from "../../../shared/src/inventory/index.js";
import { makeNode } from "../../../shared/src/render/test-inventory.js";
import type { BuildJobRecord } from "./build-queue.js";
import { nodeBuildDecision } from "./node-build-decision.js";

const SHA = "c".repeat(64);
const BUILDERS: BuildSettings = { mode: "builders", builders: [{ name: "b1", systems: ["x86_64-linux"] }], cache: { url: "file:///srv/c", publicKey: "cache-1:k" }, fallback: "local" };
const job = (patch: Partial<BuildJobRecord>): BuildJobRecord => ({ revision: "0123456789abcdef", node: "n1", system: "x86_64-linux", bundleSha256: SHA, state: "queued", builder: null, lost: [], error: null, built: null, ...patch });
const n1 = makeNode("n1", "10.0.0.1");

describe("nodeBuildDecision", () => {
  it("builds locally in local mode", () => {
    expect(nodeBuildDecision({ mode: "local" }, n1, SHA, undefined)).toEqual({ kind: "local" });
  });

  it("sends the pushed store path with the cache and the node's fallback", () => {
    const built = { systemPath: "/nix/store/x-nixos-system-n1", kernel: null, initrd: null, kernelModules: null };
    expect(nodeBuildDecision(BUILDERS, { ...n1, buildFallback: "none" }, SHA, job({ state: "pushed", builder: "b1", built }))).toEqual({
      kind: "prebuilt",
      prebuilt: { systemPath: "/nix/store/x-nixos-system-n1", cacheUrl: "file:///srv/c", cachePublicKey: "cache-1:k", fallbackLocal: false },
    });
  });

  it("waits while the build runs, and halts the node with the builder's error when it failed", () => {
    expect(nodeBuildDecision(BUILDERS, n1, SHA, job({ state: "building", builder: "b1" }))).toEqual({ kind: "waiting", state: "building" });
    expect(nodeBuildDecision(BUILDERS, n1, SHA, job({ state: "failed", builder: "b1", error: "error: attribute 'k3s' missing" }))).toEqual({
      kind: "halted",
      reason: "the build of revision 0123456789ab for n1 failed on builder b1: error: attribute 'k3s' missing",
    });
  });

  it("without a job for the bundle, builds locally only where the node may", () => {
    expect(nodeBuildDecision(BUILDERS, n1, SHA, job({ bundleSha256: "d".repeat(64) }))).toEqual({ kind: "local" });
    expect(nodeBuildDecision(BUILDERS, { ...n1, buildFallback: "none" }, SHA, undefined)).toEqual({ kind: "halted", reason: `no build job for n1's bundle cccccccccccc and build_fallback is none` });
  });
});
