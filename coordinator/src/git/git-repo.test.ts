// GitRepo against real git: creation, commits without a work tree, tree reading, refs and log.
import { rename, rm, stat } from "node:fs/promises";
import { join, relative } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isNkError } from "../../../shared/src/errors/index.js";
import { GitRepo } from "./git-repo.js";
import { gitText, runGit } from "./git-exec.js";
import { GitObjectReader } from "./git-object-reader.js";
import { MAX_INVENTORY_FILE_BYTES, MAX_TREE_FILE_BYTES, MAX_TREE_TOTAL_BYTES, readTreeSnapshot } from "./tree-snapshot.js";
import { gitCli, homelabFiles, tempDir } from "./test-fixtures.js";

describe("GitRepo", () => {
  let stateDir = "";
  beforeEach(async () => {
    stateDir = await tempDir("git-repo");
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it("creates a bare repo with main as default branch and the nk settings, once", async () => {
    const repo = await GitRepo.open(stateDir);
    expect(repo.gitDir).toBe(join(stateDir, "repo", "inventory.git"));
    expect((await gitCli(["--git-dir", repo.gitDir, "symbolic-ref", "HEAD"])).stdout.trim()).toBe("refs/heads/main");
    expect((await gitCli(["--git-dir", repo.gitDir, "config", "core.hooksPath"])).stdout.trim()).toBe(join(stateDir, "repo", "hooks"));
    expect((await gitCli(["--git-dir", repo.gitDir, "config", "http.receivepack"])).stdout.trim()).toBe("true");
    expect((await stat(repo.hooksDir)).isDirectory()).toBe(true);
    expect(await repo.headRevision()).toBeNull();
    expect(await repo.log(5)).toEqual([]);
    // Opening again keeps the history.
    const sha = await repo.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
    expect(await (await GitRepo.open(stateDir)).headRevision()).toBe(sha);
  });

  it("opens a state dir given as a relative path, again and again (git runs in other folders)", async () => {
    const rel = relative(process.cwd(), stateDir);
    const sha = await (await GitRepo.open(rel)).commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
    const again = await GitRepo.open(rel);
    expect(again.gitDir).toBe(join(stateDir, "repo", "inventory.git"));
    expect(await again.headRevision()).toBe(sha);
  });

  it("writes no setting on a restart when all are as they should be", async () => {
    const repo = await GitRepo.open(stateDir);
    // git config writes a new file and renames it into place: an unchanged inode means nothing was written.
    const config = join(repo.gitDir, "config");
    const before = (await stat(config)).ino;
    await GitRepo.open(stateDir);
    expect((await stat(config)).ino).toBe(before);
  });

  it("puts back on the next start a setting changed by hand, and leaves the others as they are", async () => {
    const repo = await GitRepo.open(stateDir);
    const config = (...args: string[]) => gitCli(["--git-dir", repo.gitDir, "config", ...args]);
    await config("receive.denyDeletes", "false");
    await config("core.hooksPath", "/elsewhere");
    await config("user.name", "kept");
    await config("--add", "transfer.hideRefs", "refs/other/");
    await GitRepo.open(stateDir);
    expect((await config("--get-all", "transfer.hideRefs")).stdout.trim()).toBe("refs/nk/");
    expect((await config("receive.denyDeletes")).stdout.trim()).toBe("true");
    expect((await config("core.hooksPath")).stdout.trim()).toBe(join(stateDir, "repo", "hooks"));
    expect((await config("user.name")).stdout.trim()).toBe("kept");
  });

  it("commits a Map as the whole tree and reads it back in one snapshot", async () => {
    const repo = await GitRepo.open(stateDir);
    const files = await homelabFiles();
    files.set("docs/notes/ünïcode.md", "héllo\n");
    const first = await repo.commitFiles(files, "seed from examples/homelab", { author: { name: "Demo", email: "demo@nk.test" }, time: 1_700_000_000 });
    expect(first).toMatch(/^[0-9a-f]{40}$/);
    expect(await repo.headRevision()).toBe(first);
    expect(await repo.readTree("main")).toEqual(files);

    const second = await repo.commitFiles(new Map([["inventory.yaml", "x: 1\n"]]), "replace everything");
    expect(await repo.readTree(second)).toEqual(new Map([["inventory.yaml", "x: 1\n"]]));
    expect(await repo.readTree(first)).toEqual(files);
    const log = await repo.log(10);
    expect(log.map((c) => [c.sha, c.subject])).toEqual([
      [second, "replace everything"],
      [first, "seed from examples/homelab"],
    ]);
    expect(log[1]).toMatchObject({ author: "Demo", email: "demo@nk.test", time: 1_700_000_000_000 });
    expect((await gitCli(["--git-dir", repo.gitDir, "rev-parse", `${second}^`])).stdout.trim()).toBe(first);
  });

  it("tells whether one commit is an ancestor of another (false for a commit it does not have, an error when git cannot answer)", async () => {
    const repo = await GitRepo.open(stateDir);
    const first = await repo.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "first");
    const second = await repo.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "second");
    expect(await repo.isAncestor(first, second)).toBe(true);
    expect(await repo.isAncestor(second, second)).toBe(true);
    expect(await repo.isAncestor(second, first)).toBe(false);
    expect(await repo.isAncestor("e".repeat(40), second)).toBe(false);
    expect(await repo.isAncestor("--all", second)).toBe(false);
    // A near ancestor is read through the open cat-file process, with no merge-base: it answers where a new git fails.
    await rename(join(repo.gitDir, "HEAD"), join(repo.gitDir, "HEAD.away"));
    expect(await repo.isAncestor(first, second)).toBe(true);
    // A git that cannot answer is not a "no".
    await expect(repo.isAncestor(second, first)).rejects.toThrow(/failed \(128\)/);
  });

  it("finds ancestors beyond the near walk and through a merge's second parent", async () => {
    const repo = await GitRepo.open(stateDir);
    const root = await repo.commitFiles(new Map([["inventory.yaml", "a: 0\n"]]), "root");
    let tip = root;
    for (let i = 1; i <= 40; i++) tip = await repo.commitFiles(new Map([["inventory.yaml", `a: ${i}\n`]]), `c${i}`);
    expect(await repo.isAncestor(root, tip)).toBe(true);
    expect(await repo.isAncestor(tip, root)).toBe(false);
    // A side branch from root, merged: root's side commit is reached through the merge's second parent.
    const env = { GIT_DIR: repo.gitDir, GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@nk.test", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@nk.test" };
    const tree = (await gitCli(["--git-dir", repo.gitDir, "rev-parse", `${root}^{tree}`])).stdout.trim();
    const side = (await gitCli(["--git-dir", repo.gitDir, "commit-tree", tree, "-p", root, "-m", "side"], { env })).stdout.trim();
    const merge = (await gitCli(["--git-dir", repo.gitDir, "commit-tree", tree, "-p", tip, "-p", side, "-m", "merge"], { env })).stdout.trim();
    expect(await repo.isAncestor(side, merge)).toBe(true);
    expect(await repo.isAncestor(merge, side)).toBe(false);
  });

  it("leaves out large, binary and linked files with a note", async () => {
    const repo = await GitRepo.open(stateDir);
    const sha = await repo.commitFiles(
      new Map([
        ["inventory.yaml", "a: 1\n"],
        ["big.txt", "x".repeat(MAX_TREE_FILE_BYTES + 1)],
        ["logo.bin", "PNG\0\0data"],
      ]),
      "mixed",
    );
    const snap = await repo.readSnapshot(sha);
    expect([...snap.files.keys()]).toEqual(["inventory.yaml"]);
    expect(snap.skipped).toEqual([
      { path: "big.txt", reason: `larger than ${MAX_TREE_FILE_BYTES} bytes (${MAX_TREE_FILE_BYTES + 1})` },
      { path: "logo.bin", reason: "binary file (contains NUL bytes)" },
    ]);
    // The follower's path, for a commit id it has just resolved: the same snapshot without a rev-parse.
    expect(await repo.readResolvedSnapshot(sha)).toEqual(snap);
    expect(() => repo.readResolvedSnapshot("main")).toThrow(/not a resolved commit id/);
  });

  it("reads an inventory.yaml above the per-file limit (a 10,000-node inventory is ~1.3 MB), up to its own limit", async () => {
    const repo = await GitRepo.open(stateDir);
    const inventory = `# ${"n".repeat(MAX_TREE_FILE_BYTES)}\n`;
    const sha = await repo.commitFiles(new Map([["inventory.yaml", inventory]]), "large inventory");
    const snap = await repo.readSnapshot(sha);
    expect(snap.files.get("inventory.yaml")).toBe(inventory);
    expect(snap.skipped).toEqual([]);
    const huge = await repo.commitFiles(new Map([["inventory.yaml", "x".repeat(MAX_INVENTORY_FILE_BYTES + 1)]]), "too large");
    expect((await repo.readSnapshot(huge)).skipped).toEqual([{ path: "inventory.yaml", reason: `larger than ${MAX_INVENTORY_FILE_BYTES} bytes (${MAX_INVENTORY_FILE_BYTES + 1})` }]);
  });

  it("refuses, before reading any blob, a tree whose files together exceed the whole-tree limit", async () => {
    const repo = await GitRepo.open(stateDir);
    // Each file is under the per-file limit and the same bytes: the limit counts paths, not distinct blobs.
    const chunk = "y".repeat(MAX_TREE_FILE_BYTES);
    const count = Math.floor(MAX_TREE_TOTAL_BYTES / MAX_TREE_FILE_BYTES) + 1;
    const sha = await repo.commitFiles(new Map(Array.from({ length: count }, (_, i) => [`f${i}.txt`, chunk])), "too much");
    const snap = await repo.readSnapshot(sha);
    expect(snap.files.size).toBe(0);
    expect(snap.refused).toBe(`the tree's ${count} readable files hold ${count * MAX_TREE_FILE_BYTES} bytes together; nk reads at most ${MAX_TREE_TOTAL_BYTES} (keep large files out of the inventory repo)`);
    const err: unknown = await repo.readTree(sha).catch((e: unknown) => e);
    expect(isNkError(err, "TOO_LARGE")).toBe(true);
  });

  it("refuses a tree with more entries than it reads, by count or by the size of the listing", async () => {
    const repo = await GitRepo.open(stateDir);
    const reader = new GitObjectReader({ gitDir: repo.gitDir });
    const sha = await repo.commitFiles(new Map(Array.from({ length: 91 }, (_, i) => [`d${i % 10}/f${i}`, ""])), "many");
    // 91 files in 10 folders: 101 entries; folders count, as walking them is work too.
    expect(await readTreeSnapshot(sha, reader, { entries: 100, totalBytes: MAX_TREE_TOTAL_BYTES })).toEqual({ revision: sha, files: new Map(), skipped: [], refused: "the tree has more than 100 entries; nk reads at most that many" });
    expect((await readTreeSnapshot(sha, reader, { entries: 101, totalBytes: MAX_TREE_TOTAL_BYTES })).files.size).toBe(91);
    // Long names fill the tree objects before the count is known: refused all the same, with the reading capped.
    const long = await repo.commitFiles(new Map(Array.from({ length: 3 }, (_, i) => [`${"p".repeat(250)}${i}/${"q".repeat(250)}`, ""])), "long");
    expect((await readTreeSnapshot(long, reader, { entries: 2, totalBytes: MAX_TREE_TOTAL_BYTES })).refused).toBe("the tree's listing is far larger than 2 entries need; nk reads at most that many");
    // A folder named twice at each level: 2^20 paths from 21 small trees, refused after the first few hundred.
    let tree = await gitText(["mktree"], { ...repo.gitOptions(), input: `100644 blob ${await gitText(["hash-object", "-w", "--stdin"], { ...repo.gitOptions(), input: "x" })}\tf\n` });
    for (let i = 0; i < 20; i++) tree = await gitText(["mktree"], { ...repo.gitOptions(), input: `040000 tree ${tree}\ta\n040000 tree ${tree}\tb\n` });
    const bomb = await gitText(["commit-tree", tree, "-m", "bomb"], { ...repo.gitOptions(), env: { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" } });
    expect((await readTreeSnapshot(bomb, reader, { entries: 500, totalBytes: MAX_TREE_TOTAL_BYTES })).refused).toBe("the tree has more than 500 entries; nk reads at most that many");
    expect((await repo.readSnapshot(sha)).files.size).toBe(91);
    // Five distinct subtrees of ~3 KB each: the count is within 10 entries, their listing together far beyond.
    const wide = await repo.commitFiles(new Map(Array.from({ length: 50 }, (_, i) => [`${"s".repeat(200)}${i % 5}/${"f".repeat(240)}${i}`, ""])), "wide");
    expect((await readTreeSnapshot(wide, reader, { entries: 10, totalBytes: MAX_TREE_TOTAL_BYTES })).refused).toBe("the tree's listing is far larger than 10 entries need; nk reads at most that many");
    reader.close();
  });

  it("reads a folder written with a non-canonical mode (040000) as a folder, and resolves reflog names", async () => {
    const repo = await GitRepo.open(stateDir);
    const opts = repo.gitOptions();
    const blob = await gitText(["hash-object", "-w", "--stdin"], { ...opts, input: "a: 1\n" });
    const sub = await gitText(["mktree"], { ...opts, input: `100644 blob ${blob}\tpart.yaml\n` });
    // git's own tools never write "040000"; older or other tools did, and git still reads such trees.
    const raw = Buffer.concat([Buffer.from("040000 sub\0"), Buffer.from(sub, "hex")]);
    const root = await gitText(["hash-object", "-t", "tree", "-w", "--stdin", "--literally"], { ...opts, input: raw });
    const ident = { GIT_AUTHOR_NAME: "t", GIT_AUTHOR_EMAIL: "t@example.invalid", GIT_COMMITTER_NAME: "t", GIT_COMMITTER_EMAIL: "t@example.invalid" };
    const commit = await gitText(["commit-tree", root, "-m", "odd mode"], { ...opts, env: ident });
    await repo.moveMain(commit, null, "odd mode");
    const snap = await repo.readSnapshot("main");
    expect([...snap.files.entries()]).toEqual([["sub/part.yaml", "a: 1\n"]]);
    expect(snap.skipped).toEqual([]);
    // cat-file dies on some reflog and upstream names; they go through rev-parse, which just finds none.
    expect(await repo.resolve("main@{0}")).toBe(commit);
    expect(await repo.resolve("main@{upstream}")).toBeNull();
    expect(await repo.resolve("main")).toBe(commit);
  });

  it("stops collecting git output at the limit and says so", async () => {
    const repo = await GitRepo.open(stateDir);
    await repo.commitFiles(new Map([["f", "1"]]), "a");
    const err: unknown = await runGit(["log", "main"], { ...repo.gitOptions(), maxOutputBytes: 10 }).catch((e: unknown) => e);
    expect(isNkError(err, "TOO_LARGE")).toBe(true);
    expect((err as Error).message).toBe("git log printed more than 10 bytes; nk reads no more than that");
  });

  it("resolves refs, short names and shas, and null for what does not exist", async () => {
    const repo = await GitRepo.open(stateDir);
    const sha = await repo.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "one");
    expect(await repo.resolve("main")).toBe(sha);
    expect(await repo.resolve("refs/heads/main")).toBe(sha);
    expect(await repo.resolve(sha.slice(0, 10))).toBe(sha);
    expect(await repo.resolve("nope")).toBeNull();
    expect(await repo.resolve("--output=/tmp/x")).toBeNull();
    const err: unknown = await repo.readTree("nope").catch((e: unknown) => e);
    expect(isNkError(err, "REVISION_UNKNOWN")).toBe(true);
  });

  it("resolves several full ref names in one go: commits, a tag's commit, null for a ref that does not exist", async () => {
    const repo = await GitRepo.open(stateDir);
    expect(await repo.resolveRefs(["refs/heads/main", "refs/nk/upstream"])).toEqual([null, null]);
    const first = await repo.commitFiles(new Map([["inventory.yaml", "a: 1\n"]]), "one");
    const second = await repo.commitFiles(new Map([["inventory.yaml", "a: 2\n"]]), "two");
    await runGit(["update-ref", "refs/nk/upstream", first], repo.gitOptions());
    await runGit(["-c", "user.name=t", "-c", "user.email=t@example.invalid", "tag", "-a", "-m", "annotated", "v1", first], repo.gitOptions());
    expect(await repo.resolveRefs(["refs/nk/upstream", "refs/heads/main", "refs/tags/v1", "refs/heads/nope"])).toEqual([first, second, first, null]);
  });

  it("refuses paths that escape or collide in the tree", async () => {
    const repo = await GitRepo.open(stateDir);
    for (const bad of ["../x", "a//b", ".git/config", "/abs", "a/./b"]) {
      const err: unknown = await repo.commitFiles(new Map([[bad, "x"]]), "bad").catch((e: unknown) => e);
      expect(isNkError(err, "INVALID_ARGUMENT"), bad).toBe(true);
    }
    const clash: unknown = await repo.commitFiles(new Map([["a", "x"], ["a/b", "y"]]), "clash").catch((e: unknown) => e);
    expect(isNkError(clash, "INVALID_ARGUMENT")).toBe(true);
    expect(await repo.headRevision()).toBeNull();
  });

  it("moveMain is a compare-and-swap", async () => {
    const repo = await GitRepo.open(stateDir);
    const a = await repo.commitFiles(new Map([["f", "1"]]), "a");
    const b = await repo.commitFiles(new Map([["f", "2"]]), "b");
    await expect(repo.moveMain(a, a, "stale expectation")).rejects.toThrow(/update-ref/);
    await repo.moveMain(a, b, "roll back");
    expect(await repo.headRevision()).toBe(a);
  });
});
