// The disruption decision: reboot policy × reboot need × restarted units.
import { describe, expect, it } from "vitest";
import { decideDisruption } from "./disruption.js";

const units = ["k3s.service", "containerd.service"];

describe("decideDisruption", () => {
  it.each([
    { policy: "auto", rebootNeeded: true, restarts: [], lease: "reboot", pending: false },
    { policy: "auto", rebootNeeded: false, restarts: ["k3s.service"], lease: "service-restart", pending: false },
    { policy: "auto", rebootNeeded: false, restarts: ["k3s"], lease: "service-restart", pending: false },
    { policy: "auto", rebootNeeded: false, restarts: ["nginx.service", "sshd.service"], lease: null, pending: false },
    { policy: "always", rebootNeeded: false, restarts: [], lease: "reboot", pending: false },
    { policy: "never", rebootNeeded: true, restarts: [], lease: null, pending: true },
    { policy: "never", rebootNeeded: true, restarts: ["containerd.service"], lease: "service-restart", pending: true },
  ] as const)("$policy, reboot needed $rebootNeeded, restarts $restarts → $lease", ({ policy, rebootNeeded, restarts, lease, pending }) => {
    const d = decideDisruption({ policy, rebootNeeded, restartsUnits: restarts, disruptiveUnits: units });
    expect(d.lease).toBe(lease);
    expect(d.rebootPending).toBe(pending);
    expect(d.reason.length).toBeGreaterThan(0);
  });

  it("names the disruptive units in the reason", () => {
    const d = decideDisruption({ policy: "auto", rebootNeeded: false, restartsUnits: ["k3s.service", "a.service"], disruptiveUnits: units });
    expect(d.reason).toBe("switch restarts k3s.service");
  });
});
