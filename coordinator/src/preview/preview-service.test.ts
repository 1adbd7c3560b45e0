// PreviewService on a real bare repo and catalog: plans only the nodes whose bundle changes, takes their results,
// names the plan for a main push of the same tree, and drops plan, ref and builds at expiry.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { validateRepo } from "../../../shared/src/inventory/index.js";
import { silentLogger } from "../../../shared/src/log/index.js";
import { NodeFeed } from "../fleet/index.js";
import { GitRepo } from "../git/index.js";
import { gitCli, homelabFiles, tempDir } from "../git/test-fixtures.js";
import { DesiredCatalog } from "../inventory/index.js";
import { BuildFarm } from "../build/build-farm.js";
import { PlanBook } from "./plan-book.js";
import { PreviewService, type PreviewMessage } from "./preview-service.js";

const TTL = 60_000;
let dir = "";
let repo: GitRepo;
let now = 1_000;
let svc: PreviewService;
let book: PlanBook;
let catalog: DesiredCatalog;
let feed: NodeFeed<PreviewMessage>;
const sent: Array<{ node: string; message: PreviewMessage }> = [];

beforeEach(async () => {
  dir = await tempDir("preview-service");
  repo = await GitRepo.open(dir);
  const files = await homelabFiles();
  const main = await repo.commitFiles(files, "main");
  catalog = new DesiredCatalog();
  catalog.adopt(main, validateRepo(files).inventory!, files);
  feed = new NodeFeed<PreviewMessage>();
  sent.length = 0;
  for (const node of ["n1", "n2", "n3", "n4", "n5"]) feed.watch(node, (message) => sent.push({ node, message }));
  book = new PlanBook(null);
  svc = new PreviewService({ book, catalog, feed, repo, events: { readEvents: async () => [] }, ttlMs: TTL, now: () => now, log: silentLogger() });
});
afterEach(async () => {
  svc.stop();
  await rm(dir, { recursive: true, force: true });
});

/** A commit with nodes/n5.nix edited, on main (moved back afterwards) and at refs/heads/preview/<name>. */
async function previewCommit(name: string): Promise<string> {
  const files = await homelabFiles();
  files.set("nodes/n5.nix", `${files.get("nodes/n5.nix")}# preview\n`);
  const before = (await repo.headRevision())!;
  const sha = await repo.commitFiles(files, "n5 only");
  await repo.moveMain(before, sha, "back");
  await gitCli(["--git-dir", repo.gitDir, "update-ref", `refs/heads/preview/${name}`, sha]);
  return sha;
}

describe("PreviewService", () => {
  it("sends a build-only request only to the node whose bundle changes, and collects its result", async () => {
    const sha = await previewCommit("n5");
    const lines = await svc.preview("n5", sha);
    expect(lines).toEqual([`nk: preview n5 at ${sha.slice(0, 12)}: 1 node(s) build it (1 connected now), 4 unchanged; nothing is applied`, "nk: see the plan with: nkctl plan show n5"]);
    expect(sent.map((s) => `${s.node}:${s.message.cancel}`)).toEqual(["n5:false"]);
    const request = sent[0]!.message;
    expect(request.desired?.revision).toBe(sha);
    expect(svc.pendingFor("n5")).toMatchObject({ name: "n5", cancel: false });
    expect(svc.pendingFor("n1")).toBeNull();

    const sha256 = request.desired!.bundle.sha256;
    await svc.report("n5", { name: "n5", sha256: "0".repeat(64), outcome: "reboot", reason: "stale", units: [], changes: [], logTail: "", systemPath: "" });
    expect(svc.view("n5").complete).toBe(false);
    await svc.report("n5", { name: "n5", sha256, outcome: "switch", reason: "switch restarts no units", units: [], changes: [], logTail: "", systemPath: "/nix/store/x" });
    const view = svc.view("n5");
    expect(view.complete).toBe(true);
    expect(view.nodes.map((n) => `${n.node}:${n.outcome}`)).toEqual(["n1:no-op", "n2:no-op", "n3:no-op", "n4:no-op", "n5:switch"]);
    expect(svc.pendingFor("n5")).toBeNull();
    expect(await svc.summaryForMain(sha)).toEqual([`nk: this tree was previewed: ${view.summary}`]);
    expect(await svc.summaryForMain((await repo.headRevision())!)).toEqual([]);
  });

  it("drops an expired plan, its ref, and tells its nodes to remove their builds", async () => {
    const sha = await previewCommit("old");
    await svc.preview("old", sha);
    now += TTL - 1;
    expect(await svc.expire()).toEqual([]);
    now += 1;
    expect(await svc.expire()).toEqual(["old"]);
    expect(book.list()).toEqual([]);
    expect(await repo.resolve("refs/heads/preview/old")).toBeNull();
    expect(sent.map((s) => `${s.node}:${s.message.cancel}`)).toEqual(["n5:false", "n1:true", "n2:true", "n3:true", "n4:true", "n5:true"]);
    await expect(svc.delete("old")).resolves.toBe(false);
    expect(() => svc.view("old")).toThrow(/no preview plan "old"/);
  });

  it("in builders mode: the builders build it, no node hears of it, and the built paths classify the node", async () => {
    let recorded: Promise<void> = Promise.resolve();
    const boot = { kernel: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-linux-6.6.30/bzImage", initrd: "/nix/store/i/initrd", kernelModules: "/nix/store/m-modules" };
    const farm = new BuildFarm({
      jobsPerBuilder: 1, keepPerNode: 2, logBytes: 1024, log: silentLogger(), onSettled: () => undefined,
      running: () => ({ currentSystem: "/nix/store/old", bootedSystem: "/nix/store/old", bootedBoot: boot }),
      onPreviewBuilt: (name, node, sha256, outcome) => void (recorded = viaBuilders.builtOnBuilders(name, node, sha256, outcome)),
    });
    const inventory = catalog.inventory!;
    farm.revisionAdopted({ ...inventory, cluster: { ...inventory.cluster, build: { mode: "builders", builders: [{ name: "n1", systems: ["x86_64-linux"] }], cache: { url: "file:///c", publicKey: "c:k" }, fallback: "local" } } }, [], []);
    const viaBuilders = new PreviewService({ book, catalog, feed, repo, events: { readEvents: async () => [] }, ttlMs: TTL, now: () => now, builders: farm, log: silentLogger() });
    const sha = await previewCommit("b");
    expect(await viaBuilders.preview("b", sha)).toEqual([`nk: preview b at ${sha.slice(0, 12)}: the builders build 1 node(s), 4 unchanged; no node builds anything, nothing is applied`, "nk: see the plan with: nkctl plan show b"]);
    expect(viaBuilders.pendingFor("n5")).toBeNull();
    const jobs: string[] = [];
    farm.connect("n1", (j) => jobs.push(`${j.revision}/${j.node}`));
    expect(jobs).toEqual([`${sha}/n5`]);
    farm.report("n1", sha, "n5", { ok: true, built: { systemPath: "/nix/store/new", ...boot, kernel: "/nix/store/bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-linux-6.6.32/bzImage" } }, "");
    await recorded;
    const n5 = viaBuilders.view("b").nodes.find((n) => n.node === "n5")!;
    expect([n5.outcome, n5.reason]).toEqual(["reboot", "reboot: kernel linux-6.6.30 → linux-6.6.32"]);
    expect(viaBuilders.view("b").complete).toBe(true);
    await viaBuilders.delete("b");
    expect(sent).toEqual([]);
  });
});
