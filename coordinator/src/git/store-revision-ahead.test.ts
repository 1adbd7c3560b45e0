// storeRevisionAhead against a real repo: unknown and newer stored commits are ahead; older ones and a replaced history are not.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, expect, it } from "vitest";
import { GitRepo } from "./git-repo.js";
import { storeRevisionAhead } from "./store-revision-ahead.js";
import { gitCli, tempDir } from "./test-fixtures.js";

let dir: string;
let repo: GitRepo;
beforeEach(async () => {
  dir = await tempDir("ahead");
  repo = await GitRepo.open(dir);
});
afterEach(async () => {
  await repo.close();
  await rm(dir, { recursive: true, force: true });
});

it("says which stored revisions are newer than the one to adopt", async () => {
  const first = await repo.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
  const second = await repo.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
  // What a force push leaves: a commit with no common history.
  const tree = (await gitCli(["--git-dir", repo.gitDir, "rev-parse", `${second}^{tree}`])).stdout.trim();
  const rewritten = (await gitCli(["--git-dir", repo.gitDir, "commit-tree", tree, "-m", "rewritten"], { env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@t", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@t" } })).stdout.trim();
  expect(await storeRevisionAhead(repo, second, second)).toBe(false);
  // The store is behind: this commit descends from it.
  expect(await storeRevisionAhead(repo, second, first)).toBe(false);
  // This coordinator runs an older main than the store's.
  expect(await storeRevisionAhead(repo, first, second)).toBe(true);
  // Fetched by another coordinator after this one's last sync.
  expect(await storeRevisionAhead(repo, second, "f".repeat(40))).toBe(true);
  // Upstream was force-pushed: the stored commit is on the replaced history, and refusing would hold it there.
  expect(await storeRevisionAhead(repo, rewritten, second)).toBe(false);
});
