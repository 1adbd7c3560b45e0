import { expect, it } from "vitest";
import { k3sVersionOfStorePath, memoK3sVersion } from "./k3s-version.js";

it("reads the version from a k3s store path and nothing else", () => {
  expect(k3sVersionOfStorePath("/nix/store/0123456789abcdefghijklmnopqrstuv-k3s-1.31.4+k3s1/bin/k3s\n")).toBe("1.31.4+k3s1");
  expect(k3sVersionOfStorePath("/nix/store/0123456789abcdefghijklmnopqrstuv-k3s-1.30.0")).toBe("1.30.0");
  expect(k3sVersionOfStorePath("/nix/store/0123456789abcdefghijklmnopqrstuv-k3s-airgap-images-1.31.4/bin/k3s")).toBeNull();
  expect(k3sVersionOfStorePath("/nix/store/0123456789abcdefghijklmnopqrstuv-system-path/bin/k3s")).toBeNull();
  expect(k3sVersionOfStorePath("")).toBeNull();
});

it("reads each store path once, and again after a failed read", async () => {
  const reads: string[] = [];
  let fail = true;
  const read = memoK3sVersion(async (path) => {
    reads.push(path);
    if (fail) throw new Error("readlink: transient");
    return path.endsWith("a") ? "1.31.4+k3s1" : null;
  });
  expect(await read("/nix/store/a")).toBeNull();
  fail = false;
  expect(await read("/nix/store/a")).toBe("1.31.4+k3s1");
  expect(await read("/nix/store/a")).toBe("1.31.4+k3s1");
  expect(await read("/nix/store/b")).toBeNull();
  expect(await read("/nix/store/b")).toBeNull();
  expect(reads).toEqual(["/nix/store/a", "/nix/store/a", "/nix/store/b"]);
});
