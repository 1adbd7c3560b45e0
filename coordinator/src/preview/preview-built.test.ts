// A builder's preview build as a plan entry: the paths' outcome, a failure with its log, or still pending when unknown.
import { describe, expect, it } from "vitest";
import { previewResultOf } from "./preview-built.js";

const built = { systemPath: "/nix/store/new-system", kernel: "/nix/store/k2/bzImage", initrd: null, kernelModules: null };
const change = { what: "kernel", from: "/nix/store/k1/bzImage", to: "/nix/store/k2/bzImage" };

describe("previewResultOf", () => {
  it("records the outcome and changes the paths tell, never units", () => {
    expect(previewResultOf("p", "sha", { kind: "pushed", built }, { outcome: "reboot", reason: "reboot: kernel k1 → k2", changes: [change] })).toEqual({
      name: "p", sha256: "sha", outcome: "reboot", reason: "reboot: kernel k1 → k2", units: [], changes: [change], logTail: "", systemPath: "/nix/store/new-system",
    });
  });

  it("keeps a node pending, with the reason, when its disruption cannot be told", () => {
    const r = previewResultOf("p", "sha", { kind: "pushed", built }, { outcome: "unknown", reason: "the node has not reported what it runs yet", changes: [] });
    expect([r.outcome, r.reason]).toEqual(["pending", "built by a builder (/nix/store/new-system); the node has not reported what it runs yet"]);
  });

  it("turns a failed build into build-failed with the log, and a replaced one into cancelled", () => {
    expect(previewResultOf("p", "sha", { kind: "failed", error: "error: boom", log: "building…\nerror: boom" }, null)).toMatchObject({ outcome: "build-failed", reason: "error: boom", logTail: "building…\nerror: boom" });
    expect(previewResultOf("p", "sha", { kind: "cancelled", reason: "a newer preview (q) replaced it" }, null)).toMatchObject({ outcome: "cancelled", reason: "a newer preview (q) replaced it" });
  });
});
