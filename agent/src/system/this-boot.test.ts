import { expect, it } from "vitest";
import { rememberThisBoot } from "./this-boot.js";

const paths = { kernel: "/nix/store/k-linux/bzImage", initrd: "/nix/store/i-initrd/initrd", kernelModules: "/nix/store/m-modules" };

it("reads the boot once for every caller, and again after a failed read", async () => {
  let reads = 0;
  let fail = true;
  const thisBoot = rememberThisBoot({
    bootId: async () => {
      reads++;
      if (fail) throw new Error("cannot read /proc/sys/kernel/random/boot_id");
      return "b1";
    },
    bootedSystem: async () => "/nix/store/s-system",
    bootedBootPaths: async () => paths,
  });
  await expect(thisBoot()).rejects.toThrow("boot_id");
  fail = false;
  const [a, b] = await Promise.all([thisBoot(), thisBoot()]);
  expect(a).toEqual({ bootId: "b1", bootedSystem: "/nix/store/s-system", bootedBoot: paths });
  expect(b).toBe(a);
  expect(await thisBoot()).toBe(a);
  expect(reads).toBe(2);
});
