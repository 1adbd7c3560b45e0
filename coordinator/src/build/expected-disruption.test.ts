// A node's disruption told from a builder's paths against the node's booted ones, never guessed.
import { describe, expect, it } from "vitest";
import type { BootPaths } from "../../../shared/src/wire/index.js";
import { expectedDisruption, UNITS_UNKNOWN, type NodeRunning } from "./expected-disruption.js";

const K1 = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-linux-6.6.30/bzImage";
const K2 = "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-linux-6.6.32/bzImage";
const I1 = "/nix/store/cccccccccccccccccccccccccccccccc-initrd-linux-6.6.30/initrd";
const M1 = "/nix/store/dddddddddddddddddddddddddddddddd-linux-6.6.30-modules";
const boot: BootPaths = { kernel: K1, initrd: I1, kernelModules: M1 };
const node: NodeRunning = { currentSystem: "/nix/store/old-system", bootedSystem: "/nix/store/old-system", bootedBoot: boot };
const built = (over: Partial<BootPaths> = {}) => ({ systemPath: "/nix/store/new-system", ...boot, ...over });

describe("expectedDisruption", () => {
  it("reboots when the kernel differs from the booted one, naming both versions", () => {
    expect(expectedDisruption(built({ kernel: K2 }), node, "auto")).toEqual({
      outcome: "reboot",
      reason: "reboot: kernel linux-6.6.30 → linux-6.6.32",
      changes: [{ what: "kernel", from: K1, to: K2 }],
    });
  });

  it("is a switch with unknown units when the boot paths are the same, and a no-op for the running system", () => {
    expect(expectedDisruption(built(), node, "auto")).toEqual({ outcome: "switch", reason: `switch: kernel, initrd and kernel modules unchanged; ${UNITS_UNKNOWN}`, changes: [] });
    expect(expectedDisruption({ ...built(), systemPath: node.currentSystem }, node, "auto")).toMatchObject({ outcome: "no-op", reason: "the built system is the one running" });
  });

  it("follows the reboot policy: always reboots, never switches with the reboot pending", () => {
    expect(expectedDisruption(built(), node, "always")).toMatchObject({ outcome: "reboot", reason: "reboot: the reboot policy is always" });
    expect(expectedDisruption(built({ kernelModules: null }), node, "never")).toEqual({
      outcome: "switch",
      reason: `switch: reboot pending (policy never): kernel-modules linux-6.6.30-modules → ; ${UNITS_UNKNOWN}`,
      changes: [{ what: "kernel-modules", from: M1, to: "" }],
    });
  });

  it("says unknown when the node did not say what it boots, unless a builder built its booted system", () => {
    expect(expectedDisruption(built(), null, "auto").outcome).toBe("unknown");
    const older = { ...node, bootedBoot: null };
    expect(expectedDisruption(built({ kernel: K2 }), older, "auto")).toMatchObject({ outcome: "unknown" });
    expect(expectedDisruption(built({ kernel: K2 }), older, "auto", boot)).toMatchObject({ outcome: "reboot" });
  });
});
