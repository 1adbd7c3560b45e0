import { describe, expect, it } from "vitest";
import { makeBundle } from "./bundle.js";
import { diffBundles } from "./bundle-diff.js";

const bundle = (node: string, files: Record<string, string>) => makeBundle(node, Object.entries(files).map(([path, content]) => ({ path, content })));

describe("diffBundles", () => {
  it("says nothing for equal bundles and shows a unified diff per changed file", () => {
    const from = new Map([
      ["n1", bundle("n1", { "a.nix": "x\n", "b.nix": "same\n" })],
      ["n2", bundle("n2", { "a.nix": "y\n" })],
    ]);
    const to = new Map([
      ["n1", bundle("n1", { "a.nix": "x2\n", "b.nix": "same\n", "c.nix": "new\n" })],
      ["n2", bundle("n2", { "a.nix": "y\n" })],
      ["n3", bundle("n3", { "a.nix": "z\n" })],
    ]);
    const diffs = diffBundles(from, to);
    expect(diffs.map((d) => d.node)).toEqual(["n1", "n2", "n3"]);
    expect(diffs[1]).toEqual({ node: "n2", fromSha256: from.get("n2")!.sha256, toSha256: from.get("n2")!.sha256, unified: "" });
    expect(diffs[0]!.unified).toBe(
      "--- a/a.nix\n+++ b/a.nix\n@@ -1,1 +1,1 @@\n-x\n+x2\n--- /dev/null\n+++ b/c.nix\n@@ -0,0 +1,1 @@\n+new\n",
    );
    expect(diffs[2]!.fromSha256).toBe("");
    expect(diffs[2]!.unified).toContain("+++ b/a.nix");
    expect(diffBundles(from, to, "n2").map((d) => d.node)).toEqual(["n2"]);
  });
});
