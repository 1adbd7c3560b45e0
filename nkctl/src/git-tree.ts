// Reads the inventory files of one git revision: `git ls-tree -r -z` then one `git cat-file --batch`.
import { execFile } from "node:child_process";
import { stat } from "node:fs/promises";
import { NkError } from "../../shared/src/errors/index.js";
import type { RepoFiles } from "../../shared/src/inventory/index.js";
import { isInventoryPath } from "./repo-files.js";

export interface GitTree {
  /** The full commit id the revision resolved to. */
  readonly revision: string;
  readonly files: RepoFiles;
}

interface GitRun {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function git(repo: string, args: readonly string[], input?: string): Promise<GitRun> {
  return new Promise((resolve, reject) => {
    const child = execFile("git", ["-C", repo, ...args], { encoding: "buffer", maxBuffer: 1024 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (err && typeof err.code === "string") {
        reject(new NkError("IO", err.code === "ENOENT" ? "git not found: install git" : `cannot run git: ${err.message}`, { cause: err }));
        return;
      }
      resolve({ code, stdout, stderr: stderr.toString("utf8").trim() });
    });
    // EPIPE if git exits early; its exit status tells the story.
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(input ?? "");
  });
}

/** Resolves a revision to its commit id; REVISION_UNKNOWN when git does not know it. */
export async function resolveRevision(repo: string, rev: string): Promise<string> {
  if (rev === "" || rev.startsWith("-")) throw new NkError("INVALID_ARGUMENT", `"${rev}" is not a revision`);
  const info = await stat(repo).catch(() => null);
  if (info === null) throw new NkError("INVALID_ARGUMENT", `${repo} does not exist (name a git checkout of the inventory)`);
  if (!info.isDirectory()) throw new NkError("INVALID_ARGUMENT", `${repo} is a file, not a git checkout of the inventory`);
  const run = await git(repo, ["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]);
  if (run.code === 0) return run.stdout.toString("utf8").trim();
  if (run.code === 1 && run.stderr === "") throw new NkError("REVISION_UNKNOWN", `no such revision "${rev}" in ${repo}`);
  if (/not a git repository/.test(run.stderr)) throw new NkError("INVALID_ARGUMENT", `${repo} is not a git repository (a revision is read from a git checkout of the inventory)`);
  throw new NkError("IO", `git rev-parse ${rev} in ${repo} failed: ${run.stderr || `exit status ${run.code}`}`);
}

/**
 * Pushes `commit` to the remote's refs/heads/preview/<name> (forced: a preview name may point anywhere); resolves with
 * git's stderr (the coordinator's `remote:` lines), rejects with them when the push is refused.
 */
export async function pushPreview(repo: string, remote: string, commit: string, name: string): Promise<string> {
  if (remote === "" || remote.startsWith("-")) throw new NkError("INVALID_ARGUMENT", `"${remote}" is not a git remote`);
  // A remote's name (not a URL) must exist: git's own answer ("does not appear to be a git repository") reads like a refusal.
  if (!/[:/]/.test(remote) && (await git(repo, ["remote", "get-url", remote])).code !== 0) {
    throw new NkError("INVALID_ARGUMENT", `${repo} has no git remote "${remote}": add the coordinator's repo (git remote add ${remote} https://<coordinator>:7080/git/inventory.git) or name another with --remote`);
  }
  const run = await git(repo, ["push", "--porcelain", remote, `+${commit}:refs/heads/preview/${name}`]);
  if (run.code !== 0) throw new NkError("INVALID_ARGUMENT", `git push to ${remote} refused the preview:\n${run.stderr}`);
  return run.stderr;
}

function parseBatch(out: Buffer): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  let pos = 0;
  while (pos < out.length) {
    const eol = out.indexOf(0x0a, pos);
    const m = eol < 0 ? null : /^([0-9a-f]+) blob (\d+)$/.exec(out.toString("utf8", pos, eol));
    if (!m) throw new NkError("IO", "unexpected git cat-file output");
    const start = eol + 1;
    objects.set(m[1]!, out.subarray(start, start + Number(m[2])));
    pos = start + Number(m[2]) + 1;
  }
  return objects;
}

/** The inventory files of `rev` in the repository at `repo` (symlinks and submodules are not read). */
export async function readGitTree(repo: string, rev: string): Promise<GitTree> {
  const revision = await resolveRevision(repo, rev);
  const listed = await git(repo, ["ls-tree", "-r", "-z", "--full-tree", revision]);
  if (listed.code !== 0) throw new NkError("IO", `git ls-tree ${revision} failed: ${listed.stderr}`);
  const wanted: { sha: string; path: string }[] = [];
  for (const record of listed.stdout.toString("utf8").split("\0")) {
    const m = /^(\d+) (\w+) ([0-9a-f]+)\t(.*)$/s.exec(record);
    if (!m || m[2] !== "blob" || m[1] === "120000" || !isInventoryPath(m[4]!)) continue;
    wanted.push({ sha: m[3]!, path: m[4]! });
  }
  const files = new Map<string, string>();
  if (wanted.length === 0) return { revision, files };
  const batch = await git(repo, ["cat-file", "--batch"], `${[...new Set(wanted.map((w) => w.sha))].join("\n")}\n`);
  if (batch.code !== 0) throw new NkError("IO", `git cat-file failed: ${batch.stderr}`);
  const objects = parseBatch(batch.stdout);
  for (const w of wanted) {
    const content = objects.get(w.sha);
    if (content === undefined) throw new NkError("IO", `git cat-file did not return ${w.path}`);
    files.set(w.path, content.toString("utf8"));
  }
  return { revision, files };
}
