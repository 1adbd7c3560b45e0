// BuildFarm over connected builders: jobs go out, a dead builder's job goes to another, results settle nodes, logs are kept.
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Inventory } from "../../../shared/src/inventory/index.js";
import { silentLogger } from "../../../shared/src/log/index.js";
import { DEFAULT_MANIFEST_SETTINGS } from "../../../shared/src/inventory/parse-manifest-settings.js";
import { exampleCluster, makeNode } from "../../../shared/src/render/test-inventory.js";
import type { NodeDesired } from "../inventory/index.js";
import { BuildArchive } from "./build-archive.js";
import { BuildFarm, type BuildJobMessage } from "./build-farm.js";

const nodes = [makeNode("n1", "172.30.190.11"), makeNode("n2", "172.30.190.12")];
const INV: Inventory = {
  cluster: { ...exampleCluster(), build: { mode: "builders", builders: [{ name: "n1", systems: ["x86_64-linux"] }, { name: "big", systems: ["x86_64-linux"] }], cache: { url: "file:///srv/c", publicKey: "cache-1:k" }, fallback: "local" } },
  manifests: DEFAULT_MANIFEST_SETTINGS,
  nodes,
};
const desired = (name: string, rev: string): NodeDesired => ({ node: nodes.find((n) => n.name === name)!, revision: rev, bundle: { node: name, sha256: `${name}${rev}`.padEnd(64, "0"), files: [{ path: "flake.nix", content: `# ${name} ${rev}` }] }, secretNames: [], adoptedAtMs: 0 });
const built = (n: string) => ({ systemPath: `/nix/store/${"b".repeat(32)}-nixos-system-${n}`, kernel: "/nix/store/k/bzImage", initrd: null, kernelModules: null });

function farm(archive?: BuildArchive): { f: BuildFarm; settled: string[] } {
  const settled: string[] = [];
  return { f: new BuildFarm({ jobsPerBuilder: 1, keepPerNode: 2, logBytes: 16, log: silentLogger(), onSettled: (n) => settled.push(n), ...(archive ? { archive } : {}) }), settled };
}

describe("BuildFarm", () => {
  it("keeps finished builds and their logs across a restart, the newest per node, and does not build them again", async () => {
    const dir = await mkdtemp(join(tmpdir(), "nk-build-archive-"));
    const archive = new BuildArchive(dir);
    try {
      const { f } = farm(archive);
      f.revisionAdopted(INV, [], [desired("n1", "r1"), desired("n2", "r1")]);
      f.connect("n1", () => undefined);
      f.report("n1", "r1", "n1", { ok: true, built: built("n1") }, "log of n1 at r1");
      f.report("n1", "r1", "n2", { ok: false, error: "error: boom" }, "n2 failed here");
      const build = (rev: string) => {
        f.revisionAdopted(INV, [desired("n1", rev)], []);
        f.report("n1", rev, "n1", { ok: true, built: built("n1") }, `log of n1 at ${rev}`);
      };
      build("r2");
      expect(await f.buildLog("n1", "r1")).toEqual({ revision: "r1", state: "pushed", log: "log of n1 at r1" });
      build("r3");
      build("r4");
      // Two kept per node: r1's job and log are gone (also on disk), r3 and r4 stay.
      expect(await f.buildLog("n1", "r1")).toBeNull();
      await archive.idle();
      expect((await readdir(join(dir, "logs", "n1"))).sort()).toEqual(["r3.log", "r4.log"]);

      const sent: string[] = [];
      const { f: again } = farm(new BuildArchive(dir));
      await again.load();
      again.revisionAdopted(INV, [], [desired("n1", "r4"), desired("n2", "r1")]);
      again.connect("n1", (j) => sent.push(j.node));
      expect(sent).toEqual([]);
      expect(again.decision(desired("n1", "r4"))).toMatchObject({ kind: "prebuilt" });
      expect(again.decision(desired("n2", "r1"))).toEqual({ kind: "halted", reason: "the build of revision r1 for n2 failed on builder n1: error: boom" });
      expect(await again.buildLog("n1")).toEqual({ revision: "r4", state: "pushed", log: "log of n1 at r4" });
      expect(await again.buildLog("n1", "r3")).toEqual({ revision: "r3", state: "pushed", log: "log of n1 at r3" });
      expect(await again.buildLog("n2")).toEqual({ revision: "r1", state: "failed", log: "n2 failed here" });
    } finally {
      await archive.idle();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("sends jobs with the bundle and the cache, holds the nodes back until pushed, then lets them fetch", async () => {
    const { f, settled } = farm();
    const all = [desired("n1", "r1"), desired("n2", "r1")];
    f.revisionAdopted(INV, [], all);
    expect(f.decision(all[0]!)).toEqual({ kind: "waiting", state: "queued" });
    const got: BuildJobMessage[] = [];
    f.connect("n1", (j) => got.push(j));
    expect(got).toEqual([{ revision: "r1", node: "n1", bundleSha256: all[0]!.bundle.sha256, files: all[0]!.bundle.files, cacheUrl: "file:///srv/c" }]);
    f.report("n1", "r1", "n1", { ok: true, built: built("n1") }, "a long build log, cut to its tail");
    expect(settled).toEqual(["n1"]);
    expect(f.decision(all[0]!)).toEqual({ kind: "prebuilt", prebuilt: { systemPath: built("n1").systemPath, cacheUrl: "file:///srv/c", cachePublicKey: "cache-1:k", fallbackLocal: true } });
    expect(got.map((j) => j.node)).toEqual(["n1", "n2"]);
    expect(await f.buildLog("n1")).toEqual({ revision: "r1", state: "pushed", log: " cut to its tail" });
    expect(f.counts("r1")).toEqual({ queued: 0, building: 1, pushed: 1, failed: 0 });
    f.revisionAdopted(INV, [desired("n1", "r2")], []);
    expect(f.currentCounts()).toEqual({ queued: 1, building: 1, pushed: 0, failed: 0 });
  });

  it("gives a disconnected builder's job to another builder and halts a node whose build failed", () => {
    const { f, settled } = farm();
    f.revisionAdopted(INV, [], [desired("n2", "r1")]);
    const onN1: string[] = [];
    const disconnect = f.connect("n1", (j) => onN1.push(j.node));
    expect(onN1).toEqual(["n2"]);
    disconnect();
    const onBig: string[] = [];
    f.connect("big", (j) => onBig.push(j.node));
    expect(onBig).toEqual(["n2"]);
    f.report("n1", "r1", "n2", { ok: true, built: built("n2") }, "late");
    expect(f.decision(desired("n2", "r1"))).toEqual({ kind: "waiting", state: "building" });
    f.report("big", "r1", "n2", { ok: false, error: "error: attribute 'k3s' missing" }, "log");
    expect(settled).toEqual(["n2"]);
    expect(f.decision(desired("n2", "r1"))).toEqual({ kind: "halted", reason: "the build of revision r1 for n2 failed on builder big: error: attribute 'k3s' missing" });
  });

  it("builds previews after desired jobs, reports them to the plan, and drops a replaced or cancelled one", () => {
    const previews: string[] = [];
    const f = new BuildFarm({ jobsPerBuilder: 1, keepPerNode: 2, logBytes: 64, log: silentLogger(), onSettled: () => undefined, onPreviewBuilt: (name, node, _sha, o) => previews.push(`${name}/${node}:${o.kind}`) });
    f.revisionAdopted(INV, [], [desired("n1", "r1")]);
    expect(f.buildsPreviews()).toBe(true);
    f.buildPreview("p", "pv", [desired("n2", "pv")]);
    const sent: string[] = [];
    f.connect("n1", (j) => sent.push(`${j.revision}/${j.node}`));
    // The desired job goes first; the preview waits for the capacity it leaves.
    expect(sent).toEqual(["r1/n1"]);
    f.report("n1", "r1", "n1", { ok: true, built: built("n1") }, "");
    expect(sent).toEqual(["r1/n1", "pv/n2"]);
    f.report("n1", "pv", "n2", { ok: true, built: built("n2") }, "");
    expect(previews).toEqual(["p/n2:pushed"]);
    // Previews are not desired builds: the status and the kept jobs do not show them.
    expect(f.views()!.map((v) => `${v.revision}/${v.node}`)).toEqual(["r1/n1"]);
    f.buildPreview("p", "pv2", [desired("n2", "pv2")]);
    f.buildPreview("q", "qv", [desired("n2", "qv")]);
    expect(previews).toEqual(["p/n2:pushed", "p/n2:cancelled"]);
    f.cancelPreview("q");
    f.report("n1", "pv2", "n2", { ok: true, built: built("n2") }, "");
    expect(previews).toEqual(["p/n2:pushed", "p/n2:cancelled"]);
  });

  it("refuses a builder the inventory does not list, and leaves local mode alone", () => {
    const { f } = farm();
    f.revisionAdopted(INV, [], [desired("n1", "r1")]);
    expect(() => f.connect("n2", () => undefined)).toThrow("n2 is not a builder (cluster.build.builders)");
    const local = farm().f;
    local.revisionAdopted({ ...INV, cluster: exampleCluster() }, [], [desired("n1", "r1")]);
    expect(local.decision(desired("n1", "r1"))).toEqual({ kind: "local" });
  });
});
