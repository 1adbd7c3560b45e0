// GitObjectReader against real git: one process answers many calls, follows ref updates and new packs, recovers.
import { rm } from "node:fs/promises";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { gitText, runGit } from "./git-exec.js";
import { GitObjectReader } from "./git-object-reader.js";
import { GitRepo } from "./git-repo.js";
import { tempDir } from "./test-fixtures.js";

describe("GitObjectReader", () => {
  let stateDir = "";
  let repo: GitRepo;
  let reader: GitObjectReader;
  beforeEach(async () => {
    stateDir = await tempDir("object-reader");
    repo = await GitRepo.open(stateDir);
    reader = new GitObjectReader({ gitDir: repo.gitDir });
  });
  afterEach(async () => {
    reader.close();
    repo.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  const pidOf = (r: GitObjectReader): number | undefined => (r as unknown as { child: { pid: number } | null }).child?.pid;

  it("resolves names and reads objects through one process, skipping one over its limit without holding it", async () => {
    expect(await reader.info(["refs/heads/main^{commit}"])).toEqual([null]);
    const pid = pidOf(reader);
    expect(pid).toBeGreaterThan(0);
    const big = "b".repeat(300_000);
    const sha = await repo.commitFiles(new Map([["big.txt", big], ["small.txt", "hello\n"]]), "one");
    const [commit, tree, missing] = await reader.info(["refs/heads/main^{commit}", "main^{tree}", "0123456789012345678901234567890123456789"]);
    expect(commit).toMatchObject({ sha, type: "commit" });
    expect(tree?.type).toBe("tree");
    expect(missing).toBeNull();
    const bigSha = await gitText(["rev-parse", "main:big.txt"], repo.gitOptions());
    const smallSha = await gitText(["rev-parse", "main:small.txt"], repo.gitOptions());
    // The big blob streams past in many chunks between two small answers; both neighbours stay intact.
    const [a, b, c] = await reader.contents([smallSha, bigSha, smallSha], 1000);
    expect(a).toEqual({ sha: smallSha, type: "blob", size: 6, data: Buffer.from("hello\n") });
    expect(b).toEqual({ sha: bigSha, type: "blob", size: 300_000, data: null });
    expect(c).toEqual(a);
    const [whole] = await reader.contents([bigSha], 1_000_000);
    expect(whole?.data?.toString()).toBe(big);
    expect(pidOf(reader)).toBe(pid);
  });

  it("sees refs moved and objects added by other git processes (loose, packed, after gc)", async () => {
    const first = await repo.commitFiles(new Map([["f", "1"]]), "one");
    expect((await reader.info(["refs/heads/main"]))[0]?.sha).toBe(first);
    await runGit(["pack-refs", "--all"], repo.gitOptions());
    const second = await repo.commitFiles(new Map([["f", "2"]]), "two");
    expect((await reader.info(["refs/heads/main"]))[0]?.sha).toBe(second);
    await runGit(["gc", "--quiet", "--prune=now"], repo.gitOptions());
    const third = await repo.commitFiles(new Map([["f", "3"]]), "three");
    await runGit(["gc", "--quiet", "--prune=now"], repo.gitOptions());
    const [head, blob] = await reader.contents(["refs/heads/main", "main:f"], 1000);
    expect(head?.sha).toBe(third);
    expect(blob?.data?.toString()).toBe("3");
  });

  it("refuses names that would break the one-command-per-line protocol or read as options", async () => {
    for (const bad of ["main\ninfo HEAD", "a b", "-p", ""]) {
      const err: unknown = await reader.info([bad]).catch((e: unknown) => e);
      expect(isNkError(err, "INVALID_ARGUMENT"), JSON.stringify(bad)).toBe(true);
    }
    expect(await repo.resolve("main\nHEAD")).toBeNull();
  });

  it("fails the calls waiting on a git that died, and starts a new one for the next call", async () => {
    const sha = await repo.commitFiles(new Map([["f", "1"]]), "one");
    await reader.info(["main"]);
    const pid = pidOf(reader)!;
    process.kill(pid, "SIGKILL");
    // Either the death is seen before the call (a new process answers) or during it (the call fails): never a hang.
    const outcome = await reader.info(["main"]).then((r) => r[0]?.sha, (err: Error) => err.message);
    expect([sha, expect.stringMatching(/git cat-file exited/)]).toContainEqual(outcome);
    expect((await reader.info(["main"]))[0]?.sha).toBe(sha);
    expect(pidOf(reader)).not.toBe(pid);
  });

  it("ends its process when unused, starts one again when asked, and refuses calls once closed", async () => {
    const idle = new GitObjectReader({ gitDir: repo.gitDir, idleMs: 50 });
    const sha = await repo.commitFiles(new Map([["f", "1"]]), "one");
    expect((await idle.info(["main"]))[0]?.sha).toBe(sha);
    await vi.waitFor(() => expect(pidOf(idle)).toBeUndefined(), { timeout: 5_000, interval: 20 });
    expect((await idle.info(["main"]))[0]?.sha).toBe(sha);
    idle.close();
    const err: unknown = await idle.info(["main"]).catch((e: unknown) => e);
    expect((err as Error).message).toBe("the git object reader was closed");
  });

  it("bounds a batch's wait: a git that stops answering is killed and the call fails", async () => {
    const slow = new GitObjectReader({ gitDir: repo.gitDir, timeoutMs: 200 });
    await repo.commitFiles(new Map([["f", "1"]]), "one");
    await slow.info(["main"]);
    const pid = pidOf(slow)!;
    process.kill(pid, "SIGSTOP");
    const err: unknown = await slow.info(["main"]).catch((e: unknown) => e);
    expect((err as Error).message).toBe("git cat-file did not answer within 200 ms");
    process.kill(pid, "SIGCONT");
    expect((await slow.info(["main"]))[0]?.type).toBe("commit");
    slow.close();
  });

  it("never reads a killed git's last output as the next call's answers", async () => {
    const quick = new GitObjectReader({ gitDir: repo.gitDir, timeoutMs: 100 });
    const sha = await repo.commitFiles(new Map([["big", "z".repeat(1024 * 1024)]]), "one");
    const blob = await gitText(["rev-parse", "main:big"], repo.gitOptions());
    // 500 MiB streaming past (skipped, not held): the timeout ends it mid-stream, with output still in the pipe.
    const err: unknown = await quick.contents(Array.from({ length: 500 }, () => blob), 10).catch((e: unknown) => e);
    expect((err as Error).message).toBe("git cat-file did not answer within 100 ms");
    for (let i = 0; i < 3; i++) expect(await quick.info(["refs/heads/main"])).toEqual([{ sha, type: "commit", size: expect.any(Number) }]);
    quick.close();
  });
});
