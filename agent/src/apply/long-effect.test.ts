// failureEvent: a background effect that throws reports the same failure event its own result would have.
import { describe, expect, it } from "vitest";
import { failureEvent } from "./long-effect.js";

describe("failureEvent", () => {
  it("names the bundle, lease or system the failed effect was about", () => {
    expect(failureEvent({ type: "build", bundleDir: "/b", sha256: "s1", prebuilt: null }, "out of disk", 7)).toEqual({ type: "build-failed", now: 7, sha256: "s1", error: "out of disk" });
    expect(failureEvent({ type: "drain", fencingToken: 4 }, "eviction refused", 7)).toEqual({ type: "drain-failed", now: 7, fencingToken: 4, error: "eviction refused" });
    expect(failureEvent({ type: "run-health", systemPath: "/nix/store/s", checks: [], deadlineAt: 9 }, "k3s down", 7)).toEqual({ type: "health-failed", now: 7, systemPath: "/nix/store/s", reason: "k3s down" });
  });

  it("reports any activation (switch, reboot, rollback) as activation-failed", () => {
    expect(failureEvent({ type: "switch", systemPath: "/nix/store/s", sha256: "s1" }, "unit failed", 7)).toEqual({ type: "activation-failed", now: 7, systemPath: "/nix/store/s", error: "unit failed" });
  });
});
