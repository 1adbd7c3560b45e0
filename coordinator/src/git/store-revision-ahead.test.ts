// storeRevisionAhead against real repos: what this repo knows decides without upstream's tip; with it (fetched from a
// real upstream repo), a force push that reset or replaced the branch no longer holds the cluster on the dropped commit.
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitRepo, UPSTREAM_TIP_REF } from "./git-repo.js";
import { storeRevisionAhead } from "./store-revision-ahead.js";
import { gitCli, tempDir } from "./test-fixtures.js";
import { UpstreamFollower } from "./upstream-follower.js";

const AUTHOR = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" };

let dir: string;
let repo: GitRepo;
beforeEach(async () => {
  dir = await tempDir("ahead");
  repo = await GitRepo.open(join(dir, "local"));
});
afterEach(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

/** A commit of `of`'s tree with no parent: what a force push with rewritten history leaves. */
async function rewrite(on: GitRepo, of: string): Promise<string> {
  const tree = (await gitCli(["--git-dir", on.gitDir, "rev-parse", `${of}^{tree}`])).stdout.trim();
  return (await gitCli(["--git-dir", on.gitDir, "commit-tree", tree, "-m", "rewritten"], { env: AUTHOR })).stdout.trim();
}

it("says which stored revisions are newer from what this repo knows, without upstream's tip", async () => {
  const first = await repo.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
  const second = await repo.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
  const rewritten = await rewrite(repo, second);
  expect(await storeRevisionAhead(repo, second, second)).toBe(false);
  // The store is behind: this commit descends from it.
  expect(await storeRevisionAhead(repo, second, first)).toBe(false);
  // This coordinator runs an older main than the store's.
  expect(await storeRevisionAhead(repo, first, second)).toBe(true);
  // Fetched by another coordinator after this one's last sync.
  expect(await storeRevisionAhead(repo, second, "f".repeat(40))).toBe(true);
  // Upstream was force-pushed: the stored commit is on the replaced history, and refusing would hold it there.
  expect(await storeRevisionAhead(repo, rewritten, second)).toBe(false);
  // A tip that cannot be fetched now decides nothing: the same answers.
  const noTip = { upstreamTip: async () => null };
  expect(await storeRevisionAhead(repo, first, second, noTip)).toBe(true);
  expect(await storeRevisionAhead(repo, second, "f".repeat(40), noTip)).toBe(true);
});

describe("with upstream's tip fetched from a real upstream repo", () => {
  let upstream: GitRepo;
  let follower: UpstreamFollower;
  let fetches: number;
  let first: string;
  let second: string;
  const tip = { upstreamTip: async () => (fetches++, follower.fetchTip()) };
  const resetUpstream = (to: string) => gitCli(["--git-dir", upstream.gitDir, "update-ref", "refs/heads/main", to]);

  beforeEach(async () => {
    upstream = await GitRepo.open(join(dir, "upstream"));
    first = await upstream.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
    follower = new UpstreamFollower({ repo, url: upstream.gitDir, intervalMs: 0, validate: async () => ({ ok: true, lines: [] }), onAccepted: () => undefined });
    fetches = 0;
  });
  afterEach(async () => {
    await follower.stop();
    await upstream.close();
  });

  it("fetches the tip into its own ref, leaving main and the sync's ref alone", async () => {
    expect(await follower.sync()).toMatchObject({ status: "adopted", revision: first });
    second = await upstream.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    expect(await follower.fetchTip()).toBe(second);
    expect(await repo.resolveRefs([UPSTREAM_TIP_REF, "refs/heads/main"])).toEqual([second, first]);
    // The next sync still sees upstream move, and adopts it.
    expect(await follower.sync()).toMatchObject({ status: "adopted", revision: second });
  });

  it("holds back an older main when another coordinator stored a commit upstream has (unknown here until the tip is fetched)", async () => {
    await follower.sync();
    second = await upstream.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    expect(await repo.resolve(second)).toBeNull();
    expect(await storeRevisionAhead(repo, first, second, tip)).toBe(true);
    expect(fetches).toBe(1);
    // Known now, and still on upstream's history.
    expect(await storeRevisionAhead(repo, first, second, tip)).toBe(true);
    // An older stored commit asks upstream nothing.
    expect(await storeRevisionAhead(repo, second, first, tip)).toBe(false);
    expect(fetches).toBe(2);
  });

  it("holds back an older main when the stored commit, unknown here, is upstream's tip's ancestor", async () => {
    await follower.sync();
    second = await upstream.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    const third = await upstream.commitFiles(new Map([["inventory.yaml", "a: 3\n"]]), "third");
    expect(await storeRevisionAhead(repo, first, second, tip)).toBe(true);
    expect(await repo.resolveRefs([UPSTREAM_TIP_REF])).toEqual([third]);
  });

  it("at start, writes nothing for a main upstream dropped, though the store names its parent", async () => {
    second = await upstream.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    await follower.sync();
    // This coordinator was down while main was reset from `second` to `first` and the others wrote `first`.
    await resetUpstream(first);
    expect(await storeRevisionAhead(repo, second, first, { ...tip, startup: true })).toBe(true);
    // Just fetched (not at start), or with no tip to ask, the parent is older as before.
    expect(await storeRevisionAhead(repo, second, first, tip)).toBe(false);
    expect(await storeRevisionAhead(repo, second, first, { upstreamTip: async () => null, startup: true })).toBe(false);
    // A main still on upstream's branch is written at start over an older stored commit.
    await resetUpstream(second);
    expect(await storeRevisionAhead(repo, second, first, { ...tip, startup: true })).toBe(false);
  });

  it("writes the commit a branch was reset to, over the stored commit the reset dropped", async () => {
    second = await upstream.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    await follower.sync();
    // The operator takes main back: `git reset --hard HEAD~1 && git push --force`. Every coordinator had `second`.
    await resetUpstream(first);
    expect(await storeRevisionAhead(repo, first, second)).toBe(true);
    expect(await storeRevisionAhead(repo, first, second, tip)).toBe(false);
  });

  it("writes over a stored commit no one can fetch any more (force-pushed away, the coordinators that had it started afresh)", async () => {
    const elsewhere = await GitRepo.open(join(dir, "elsewhere"));
    const dropped = await elsewhere.commitFiles(new Map([["inventory.yaml", "a: 3\n"]]), "dropped");
    await elsewhere.close();
    await follower.sync();
    expect(await storeRevisionAhead(repo, first, dropped)).toBe(true);
    expect(await storeRevisionAhead(repo, first, dropped, tip)).toBe(false);
  });

  it("holds back a main that left upstream's history when the stored commit is upstream's", async () => {
    await follower.sync();
    const replaced = await rewrite(repo, first);
    second = await upstream.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    // This coordinator's main is a commit of a history upstream no longer has; the store names upstream's newer tip.
    expect(await storeRevisionAhead(repo, replaced, second)).toBe(true);
    expect(await storeRevisionAhead(repo, replaced, second, tip)).toBe(true);
    await resetUpstream(first);
    // The store names a commit upstream dropped, and this main is off upstream's history too: the store is not ahead.
    expect(await storeRevisionAhead(repo, replaced, second, tip)).toBe(false);
  });
});
