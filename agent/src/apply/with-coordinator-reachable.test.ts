// withCoordinatorReachable: a healthy node that cannot reach the coordinator is not healthy; local failures win.
import { describe, expect, it } from "vitest";
import type { HealthProbe } from "./runner-ports.js";
import { withCoordinatorReachable } from "./with-coordinator-reachable.js";

const local = (healthy: boolean): HealthProbe => ({ probe: async () => ({ healthy, reason: healthy ? "" : "k3s.service is not active" }) });
const signal = new AbortController().signal;

describe("withCoordinatorReachable", () => {
  it("passes when the node is healthy and the coordinator answers, asking with the system being verified", async () => {
    const asked: string[] = [];
    const probe = withCoordinatorReachable(local(true), async (path) => void asked.push(path));
    expect(await probe.probe("/nix/store/sys-2", [], signal)).toEqual({ healthy: true, reason: "" });
    expect(asked).toEqual(["/nix/store/sys-2"]);
  });

  it("fails with the coordinator's error when it cannot be reached", async () => {
    const probe = withCoordinatorReachable(local(true), async () => Promise.reject(new Error("14 UNAVAILABLE: connection refused")));
    expect(await probe.probe("/nix/store/sys-2", [], signal)).toEqual({ healthy: false, reason: "coordinator unreachable: 14 UNAVAILABLE: connection refused" });
  });

  it("reports the local failure without asking the coordinator", async () => {
    let asked = 0;
    const probe = withCoordinatorReachable(local(false), async () => void asked++);
    expect(await probe.probe("/nix/store/sys-2", [], signal)).toEqual({ healthy: false, reason: "k3s.service is not active" });
    expect(asked).toBe(0);
  });
});
