// nk/checks.json: the node's own checks and the cluster command checks routed to it, as canonical JSON.
import { describe, expect, it } from "vitest";
import type { Bundle } from "./bundle.js";
import { nodeChecks, nodeChecksJson, renderCluster, renderNode } from "./index.js";
import { exampleInventory, exampleRepoFiles, lockFilesFor, withCluster } from "./test-inventory.js";

function file(bundle: Bundle | undefined, path: string): string {
  const f = bundle?.files.find((x) => x.path === path);
  if (!f) throw new Error(`no ${path} in bundle of ${bundle?.node}`);
  return f.content;
}

describe("checks.json", () => {
  it("lists the node's checks and the cluster command checks it may run, as sorted-key JSON", () => {
    const bundles = renderCluster(exampleInventory(), exampleRepoFiles());
    const n1 = file(bundles.get("n1"), "nk/checks.json");
    expect(JSON.parse(n1)).toEqual({
      cluster: [{ command: ["ceph", "health"], expect: "HEALTH_OK", name: "ceph", timeoutSeconds: 30 }],
      node: [],
    });
    expect(n1.endsWith("}\n")).toBe(true);
    expect(n1).toContain('\n  "cluster": [\n    {\n      "command": [');
    expect(JSON.parse(file(bundles.get("n5"), "nk/checks.json"))).toEqual({
      cluster: [],
      node: [{ command: ["test", "-e", "/dev/sda"], expect: "", name: "nvme-present", timeoutSeconds: 30 }],
    });
  });

  it("routes cluster checks by target and leaves http and prometheus checks to the coordinator", () => {
    const inv = exampleInventory();
    const cmd = (name: string, on: "any-server" | "all-servers" | "all" | { node: string }) => ({
      name,
      spec: { kind: "command" as const, command: [name], expect: "" },
      on,
      timeoutSeconds: 5,
    });
    const checks = [
      cmd("z-all", "all"),
      cmd("b-servers", "all-servers"),
      cmd("a-only-n4", { node: "n4" }),
      { name: "api", spec: { kind: "http" as const, url: "https://x/readyz", expectStatus: 200 }, on: "any-server" as const, timeoutSeconds: 5 },
    ];
    const changed = withCluster(inv, { rollout: { ...inv.cluster.rollout, checks } });
    const names = (node: string) => nodeChecks(changed, changed.nodes.find((n) => n.name === node)!).cluster.map((c) => c.name);
    expect(names("n1")).toEqual(["b-servers", "z-all"]);
    expect(names("n4")).toEqual(["a-only-n4", "z-all"]);
    expect(names("n5")).toEqual(["z-all"]);
    const n4 = changed.nodes[3]!;
    expect(file(renderNode(changed, n4, lockFilesFor(changed)), "nk/checks.json")).toBe(nodeChecksJson(changed, n4));
  });
});
