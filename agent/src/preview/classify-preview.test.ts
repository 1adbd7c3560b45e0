// Preview classification: no-op, switch (units), restart (k3s/containerd), reboot with the changes named.
import { describe, expect, it } from "vitest";
import { classifyPreview, describeChange, storeName } from "./classify-preview.js";

const CUR = "/nix/store/cccccccccccccccccccccccccccccccc-nixos-system-n1-a";
const NEW = "/nix/store/nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn-nixos-system-n1-b";
const K1 = "/nix/store/00000000000000000000000000000001-linux-6.6.30/bzImage";
const K2 = "/nix/store/00000000000000000000000000000002-linux-6.6.32/bzImage";
const base = { currentSystem: CUR, builtSystem: NEW, changes: [], restartsUnits: [], policy: "auto" as const, disruptiveUnits: ["k3s.service", "containerd.service"] };

describe("classifyPreview", () => {
  it("no-op when the built system is the running one", () => {
    expect(classifyPreview({ ...base, builtSystem: CUR, restartsUnits: ["sshd.service"] })).toEqual({ outcome: "no-op", reason: "the built system is the one running", units: [], changes: [] });
  });

  it("reboot names the kernel change old → new from the store paths", () => {
    const c = classifyPreview({ ...base, changes: [{ what: "kernel", from: K1, to: K2 }], restartsUnits: ["k3s.service"] });
    expect(c.outcome).toBe("reboot");
    expect(c.reason).toBe("reboot: kernel linux-6.6.30 → linux-6.6.32");
    expect(c.changes).toEqual([{ what: "kernel", from: K1, to: K2 }]);
  });

  it("reboot for initrd, modules and inhibitors, each named", () => {
    const c = classifyPreview({
      ...base,
      changes: [
        { what: "initrd", from: "/nix/store/00000000000000000000000000000001-initrd-linux-6.6.30/initrd", to: "/nix/store/00000000000000000000000000000003-initrd-linux-6.6.30/initrd" },
        { what: "switch-inhibitors", from: "/nix/store/00000000000000000000000000000004-systemd-256", to: "/nix/store/00000000000000000000000000000005-systemd-257" },
      ],
    });
    expect(c.reason).toBe("reboot: initrd rebuilt (initrd-linux-6.6.30); switch-inhibitors systemd-256 → systemd-257");
  });

  it("policy always reboots even without a boot change; policy never switches with the reboot pending", () => {
    expect(classifyPreview({ ...base, policy: "always" })).toMatchObject({ outcome: "reboot", reason: "reboot policy is always" });
    const never = classifyPreview({ ...base, policy: "never", changes: [{ what: "kernel", from: K1, to: K2 }], restartsUnits: ["nscd.service"] });
    expect(never).toMatchObject({ outcome: "switch", reason: "switch restarts nscd.service; reboot pending (policy never): kernel linux-6.6.30 → linux-6.6.32" });
  });

  it("restart when the switch restarts k3s or containerd; switch (with its units) otherwise", () => {
    expect(classifyPreview({ ...base, restartsUnits: ["nscd.service", "k3s.service"] })).toEqual({ outcome: "restart", reason: "switch restarts k3s.service", units: ["k3s.service", "nscd.service"], changes: [] });
    expect(classifyPreview({ ...base, restartsUnits: ["sshd.service", "nscd.service"] })).toEqual({ outcome: "switch", reason: "switch restarts nscd.service, sshd.service", units: ["nscd.service", "sshd.service"], changes: [] });
    expect(classifyPreview(base)).toMatchObject({ outcome: "switch", reason: "switch restarts no units" });
  });

  it("store names drop the hash and the file inside", () => {
    expect(storeName(K2)).toBe("linux-6.6.32");
    expect(storeName("/run/booted-system/kernel")).toBe("/run/booted-system/kernel");
    expect(describeChange({ what: "kernel-modules", from: "a", to: "b" })).toBe("kernel-modules a → b");
  });
});
