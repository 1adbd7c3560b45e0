import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { bundleSha256, makeBundle, type BundleFile } from "./bundle.js";

// The definition every agent and coordinator version agrees on: length-prefixed UTF-8 bytes, files in path order.
function reference(files: readonly BundleFile[]): string {
  const hash = createHash("sha256");
  for (const file of [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))) {
    const path = Buffer.from(file.path, "utf8");
    const content = Buffer.from(file.content, "utf8");
    hash.update(`${path.length}:`).update(path).update(`${content.length}:`).update(content);
  }
  return hash.digest("hex");
}

describe("bundleSha256", () => {
  const files: BundleFile[] = [
    { path: "nk/users.nix", content: "{ users.users.ops = { description = \"Zoë Ünal — 運用\"; }; }\n" },
    { path: "flake.nix", content: "{ outputs = _: { }; }\n" },
    { path: "extra/empty.nix", content: "" },
  ];

  it("is the sha256 of the length-prefixed UTF-8 files in path order, whatever order they come in", () => {
    expect(bundleSha256(files)).toBe(reference(files));
    expect(bundleSha256([...files].reverse())).toBe(reference(files));
    // Fixed value: a change of the definition would make every agent rebuild (and disagree with older coordinators).
    expect(bundleSha256(files)).toBe("b7e28b6b90843b16d512f21f9279c2c45414940935d89586931c34faaaa3c541");
  });

  it("counts bytes, not UTF-16 units, so moving a character across a file boundary changes the sha", () => {
    const a = [{ path: "a", content: "é" }, { path: "b", content: "x" }];
    const b = [{ path: "a", content: "" }, { path: "b", content: "éx" }];
    expect(bundleSha256(a)).toBe(reference(a));
    expect(bundleSha256(a)).not.toBe(bundleSha256(b));
    expect(makeBundle("n1", a).sha256).toBe(reference(a));
  });
});
