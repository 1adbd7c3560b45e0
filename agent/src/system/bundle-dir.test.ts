// Bundle directories: exact replacement, safe paths, read back without build artifacts.
import { mkdtemp, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { readBundleDir, writeBundleDir } from "./bundle-dir.js";

let root = "";
beforeEach(async () => void (root = await mkdtemp(join(tmpdir(), "nk-bundle-"))));
afterEach(async () => rm(root, { recursive: true, force: true }));

describe("bundle dirs", () => {
  it("replaces the directory with exactly the new files", async () => {
    const dir = join(root, "b");
    await writeBundleDir(dir, [{ path: "old.nix", content: "old" }]);
    await writeBundleDir(dir, [
      { path: "flake.nix", content: "{ }" },
      { path: "nk/k3s.nix", content: "k3s" },
    ]);
    expect(await readBundleDir(dir)).toEqual([
      { path: "flake.nix", content: "{ }" },
      { path: "nk/k3s.nix", content: "k3s" },
    ]);
    expect(await readdir(root)).toEqual(["b"]);
  });

  it("refuses paths that leave the bundle", async () => {
    for (const path of ["../x", "/etc/passwd", "a//b", "a/./b"]) {
      await expect(writeBundleDir(join(root, "b"), [{ path, content: "" }])).rejects.toSatisfy((e: unknown) => isNkError(e, "INVALID_ARGUMENT"));
    }
  });

  it("leaves the build's result link out when reading", async () => {
    const dir = join(root, "b");
    await writeBundleDir(dir, [{ path: "flake.nix", content: "{ }" }]);
    await writeFile(join(root, "target"), "");
    await symlink(join(root, "target"), join(dir, "result"));
    expect((await readBundleDir(dir)).map((f) => f.path)).toEqual(["flake.nix"]);
  });
});
