// RevisionHandOff: pre-receive's parsed inventory reaches post-receive for the same revision only; rejections journaled.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Inventory, RepoFiles } from "../../../shared/src/inventory/index.js";
import { homelabFiles, tempDir } from "../git/test-fixtures.js";
import type { TreeSnapshot } from "../git/index.js";
import { FileStore } from "../store/index.js";
import type { AdoptOutcome } from "./revision-adopter.js";
import { RevisionHandOff } from "./revision-hand-off.js";

let dir: string;
let store: FileStore;
beforeEach(async () => {
  dir = await tempDir("hand-off");
  store = await FileStore.open({ dir, clock: () => 1_000 });
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const A = "a".repeat(40);
const B = "b".repeat(40);

function setup(trees: Map<string, RepoFiles>) {
  const adopted: Array<{ revision: string; files: RepoFiles; startup?: boolean; validated?: Inventory; pushedBy?: string }> = [];
  const verdicts: boolean[] = [];
  const treesRead: string[] = [];
  const handOff = new RevisionHandOff({
    adopt: async (revision, files, options) => {
      adopted.push({ revision, files, ...options });
      return { ok: true, result: { changed: ["n1", "n2"], unchanged: 1 } } as unknown as AdoptOutcome;
    },
    readTree: async (revision) => {
      treesRead.push(revision);
      return trees.get(revision)!;
    },
    store,
    onPushValidated: (ok) => verdicts.push(ok),
  });
  return { handOff, adopted, verdicts, treesRead };
}

const snapshot = (revision: string, files: Map<string, string>): TreeSnapshot => ({ revision, files, skipped: [] });

describe("RevisionHandOff", () => {
  it("adopts a pushed revision with the inventory pre-receive parsed, and says what changed", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const s = setup(new Map([[A, files]]));
    const verdict = await s.handOff.preReceive({ oldSha: "0".repeat(40), newSha: A, ref: "refs/heads/main" }, async (rev) => snapshot(rev, files));
    expect(verdict.ok).toBe(true);
    expect(s.verdicts).toEqual([true]);
    const lines = await s.handOff.postReceive({ oldSha: "0".repeat(40), newSha: A, ref: "refs/heads/main", pusher: "alice" });
    expect(lines).toEqual([`nk: revision ${A.slice(0, 12)} adopted: 2 node(s) get a new bundle, 1 unchanged`]);
    expect(s.adopted).toHaveLength(1);
    expect(s.adopted[0]).toMatchObject({ revision: A, startup: false, pushedBy: "alice" });
    expect(s.adopted[0]!.validated?.cluster.name).toBeTruthy();
    // The validated files themselves: the tree is not read from git a second time.
    expect(s.adopted[0]!.files).toBe(files);
    expect(s.treesRead).toEqual([]);
  });

  it("parses inventory.yaml again only when it changed or the secrets did", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const s = setup(new Map());
    const push = async (rev: string, tree: Map<string, string>) => {
      await s.handOff.preReceive({ oldSha: "0".repeat(40), newSha: rev, ref: "refs/heads/main" }, async (r) => snapshot(r, tree));
      await s.handOff.postReceive({ oldSha: "0".repeat(40), newSha: rev, ref: "refs/heads/main" });
      return s.adopted.at(-1)!.validated;
    };
    const first = await push(A, files);
    const commonEdit = new Map([...files, ["common/extra.nix", "{ ... }: { }\n"]]);
    expect(await push(B, commonEdit)).toBe(first);
    const inventoryEdit = new Map([...files, ["inventory.yaml", `${files.get("inventory.yaml")}# a comment\n`]]);
    const third = await push("c".repeat(40), inventoryEdit);
    expect(third).toBeDefined();
    expect(third).not.toBe(first);
    // The secret is gone: the same text is checked again, and refused.
    await store.deleteSecret("k3s-token");
    const verdict = await s.handOff.preReceive({ oldSha: "0".repeat(40), newSha: "d".repeat(40), ref: "refs/heads/main" }, async (r) => snapshot(r, inventoryEdit));
    expect(verdict.ok).toBe(false);
    expect(verdict.lines.join("\n")).toContain("k3s-token");
  });

  it("hands nothing over to a different revision, nor twice", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const s = setup(new Map([[A, files], [B, files]]));
    await s.handOff.preReceive({ oldSha: "0".repeat(40), newSha: A, ref: "refs/heads/main" }, async (rev) => snapshot(rev, files));
    await s.handOff.postReceive({ oldSha: A, newSha: B, ref: "refs/heads/main" });
    await s.handOff.upstreamAccepted(A);
    expect(s.adopted.map((a) => [a.revision, a.validated !== undefined])).toEqual([[B, false], [A, false]]);
    expect(s.treesRead).toEqual([B, A]);
    await s.handOff.adoptStartup(B);
    expect(s.adopted.at(-1)).toMatchObject({ revision: B, startup: true });
  });

  it("rejects a push naming a secret the coordinator lacks (reserved nk.* names do not count) and journals it", async () => {
    const files = await homelabFiles();
    await store.setSecret("nk.k3s-token", Buffer.from("t"));
    const s = setup(new Map());
    const verdict = await s.handOff.preReceive({ oldSha: "0".repeat(40), newSha: A, ref: "refs/heads/main" }, async (rev) => snapshot(rev, files));
    expect(verdict.ok).toBe(false);
    expect(verdict.lines.join("\n")).toContain("k3s-token");
    expect(s.verdicts).toEqual([false]);
    const events = await store.readEvents();
    expect(events.map((e) => [e.kind, e.revision])).toEqual([["push-rejected", A]]);
  });

  it("validates an upstream revision the same way and journals its rejection", async () => {
    const files = await homelabFiles();
    await store.setSecret("k3s-token", Buffer.from("t"));
    const s = setup(new Map([[A, files]]));
    expect((await s.handOff.validateUpstream(snapshot(A, files))).ok).toBe(true);
    await s.handOff.upstreamAccepted(A);
    expect(s.adopted[0]!.validated).toBeDefined();
    await s.handOff.upstreamRejected(B, ["nk: inventory.yaml:3:1 cluster: missing", "x"]);
    expect((await store.readEvents()).map((e) => [e.kind, e.revision, e.message])).toEqual([["upstream-rejected", B, "nk: inventory.yaml:3:1 cluster: missing; x"]]);
  });
});
