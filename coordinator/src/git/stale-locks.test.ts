// Lock files left by a git that died mid-update go; fresh ones (a git at work right now) and other files stay.
import { mkdir, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GitRepo } from "./git-repo.js";
import { removeStaleLocks, STALE_LOCK_MS } from "./stale-locks.js";
import { tempDir } from "./test-fixtures.js";

describe("removeStaleLocks", () => {
  let stateDir = "";
  beforeEach(async () => {
    stateDir = await tempDir("stale-locks");
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  const lock = async (gitDir: string, rel: string, ageMs: number): Promise<void> => {
    await mkdir(join(gitDir, rel, ".."), { recursive: true });
    await writeFile(join(gitDir, rel), "0123456789abcdef0123456789abcdef01234567\n");
    const at = (Date.now() - ageMs) / 1000;
    await utimes(join(gitDir, rel), at, at);
  };

  it("removes old ref and config locks only", async () => {
    const repo = await GitRepo.open(stateDir);
    const old = STALE_LOCK_MS + 5_000;
    await lock(repo.gitDir, "HEAD.lock", old);
    await lock(repo.gitDir, "refs/heads/main.lock", old);
    await lock(repo.gitDir, "packed-refs.lock", old);
    await lock(repo.gitDir, "refs/nk/upstream.lock", 0);
    await lock(repo.gitDir, "objects/pack/tmp_pack.lock", old);
    expect((await removeStaleLocks(repo.gitDir)).sort()).toEqual(["HEAD.lock", "packed-refs.lock", "refs/heads/main.lock"]);
    expect(await readdir(join(repo.gitDir, "refs", "heads"))).toEqual([]);
    // A fresh lock belongs to a git at work; lock-like names outside the ref store are not nk's to judge.
    expect(await readdir(join(repo.gitDir, "refs", "nk"))).toEqual(["upstream.lock"]);
    expect(await readdir(join(repo.gitDir, "objects", "pack"))).toContain("tmp_pack.lock");
    expect(await removeStaleLocks(repo.gitDir)).toEqual([]);
  });

  it("are cleared when the repo is opened, so a crashed push does not block commits", async () => {
    const first = await GitRepo.open(stateDir);
    await first.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
    await lock(first.gitDir, "HEAD.lock", STALE_LOCK_MS + 1_000);
    await lock(first.gitDir, "refs/heads/main.lock", STALE_LOCK_MS + 1_000);
    const repo = await GitRepo.open(stateDir);
    expect(repo.staleLocksRemoved.sort()).toEqual(["HEAD.lock", "refs/heads/main.lock"]);
    await expect(repo.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second")).resolves.toMatch(/^[0-9a-f]{40}$/);
  });
});
