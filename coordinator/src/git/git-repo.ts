// The coordinator's bare inventory repo: created on first start, read without a work tree, seeded by commitFiles.
import { mkdir, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { GitError, type SimpleGit } from "simple-git";
import { NkError } from "../../../shared/src/errors/index.js";
import { gitText, runGit, type GitExecOptions } from "./git-exec.js";
import { GitObjectReader, isObjectName } from "./git-object-reader.js";
import { gitFailure, gitPorcelain, porcelain } from "./git-porcelain.js";
import { removeStaleLocks } from "./stale-locks.js";
import { readTreeSnapshot, type TreeSnapshot } from "./tree-snapshot.js";

export const MAIN_REF = "refs/heads/main";
/** Where the upstream follower fetches to before validating. */
export const UPSTREAM_REF = "refs/nk/upstream";
/** Where a check of upstream's tip fetches to (UpstreamFollower.fetchTip), apart from the follower's own syncs. */
export const UPSTREAM_TIP_REF = "refs/nk/upstream-tip";
export const ZERO_SHA = "0000000000000000000000000000000000000000";

export interface CommitInfo {
  readonly sha: string;
  readonly author: string;
  readonly email: string;
  /** Author time, ms since the epoch. */
  readonly time: number;
  readonly subject: string;
}

/** Object directories of a push in progress (from the pre-receive hook's environment). */
export interface QuarantineEnv {
  readonly GIT_OBJECT_DIRECTORY?: string;
  readonly GIT_ALTERNATE_OBJECT_DIRECTORIES?: string;
  readonly GIT_QUARANTINE_PATH?: string;
}

export interface CommitOptions {
  readonly author?: { readonly name: string; readonly email: string };
  /** Seconds since the epoch; default now. */
  readonly time?: number;
}

const SHA = /^[0-9a-f]{40}$/;
/** How many commits isAncestor reads through cat-file before asking merge-base. */
const ANCESTOR_WALK = 32;
/** A commit object larger than this (a huge message) is left to merge-base. */
const MAX_COMMIT_BYTES = 64 * 1024;

/** The parent lines of a commit object's header (before the first blank line). */
function parentsOf(commit: Buffer): string[] {
  const end = commit.indexOf("\n\n");
  const parents: string[] = [];
  for (const line of commit.toString("utf8", 0, end < 0 ? commit.length : end).split("\n")) {
    if (line.startsWith("parent ")) parents.push(line.slice(7));
  }
  return parents;
}

/** Repo paths in a tree: relative, '/'-separated, no empty, '.', '..' or '.git' segments. */
function checkPath(path: string): string[] {
  const parts = path.split("/");
  if (parts.some((p) => p === "" || p === "." || p === ".." || p.toLowerCase() === ".git" || p.includes("\0"))) {
    throw new NkError("INVALID_ARGUMENT", `invalid repo path ${JSON.stringify(path)}`);
  }
  return parts;
}

interface DirNode {
  readonly dirs: Map<string, DirNode>;
  readonly blobs: Map<string, string>;
}

export class GitRepo {
  /** `<stateDir>/repo`: GIT_PROJECT_ROOT for git-http-backend; holds inventory.git and hooks/. */
  readonly root: string;
  readonly gitDir: string;
  readonly hooksDir: string;
  /** Lock files a crashed git left behind, removed when the repo was opened (to be logged). */
  staleLocksRemoved: string[] = [];
  /** Names and objects are read through one long-lived git process: each spawn forks the whole coordinator. */
  private readonly objects: GitObjectReader;

  private constructor(stateDir: string) {
    // Absolute: git runs in other folders (cwd), where a relative GIT_DIR would name another repo.
    this.root = join(resolve(stateDir), "repo");
    this.gitDir = join(this.root, "inventory.git");
    this.hooksDir = join(this.root, "hooks");
    this.objects = new GitObjectReader({ gitDir: this.gitDir });
  }

  /** Ends the object reader's git process (it also ends by itself when unused, or with the coordinator). */
  close(): void {
    this.objects.close();
  }

  /** A reader of the repo's objects; with a push's quarantine, a process of its own that the caller closes. */
  private reader(quarantine: QuarantineEnv): { reader: GitObjectReader; done: () => void } {
    const { env } = this.gitOptions(quarantine);
    if (Object.keys(env ?? {}).length === 0) return { reader: this.objects, done: () => undefined };
    const reader = new GitObjectReader({ gitDir: this.gitDir, ...(env && { env }) });
    return { reader, done: () => reader.close() };
  }

  /** Opens the repo under `stateDir`, creating it (default branch main) on first start. */
  static async open(stateDir: string): Promise<GitRepo> {
    const repo = new GitRepo(stateDir);
    await mkdir(repo.hooksDir, { recursive: true, mode: 0o700 });
    const exists = await stat(join(repo.gitDir, "HEAD")).then(() => true, () => false);
    // init and config print nothing, and simple-git waits 50 ms more after a command that printed nothing: runGit does not.
    if (!exists) await runGit(["init", "--bare", "--quiet", "--initial-branch=main", repo.gitDir]);
    else repo.staleLocksRemoved = await repo.removeStaleLocks();
    // Applied on every start so that a changed state dir path or an older repo gets the current settings.
    const settings: [string, string][] = [
      ["core.hooksPath", repo.hooksDir],
      ["core.logAllRefUpdates", "always"],
      ["http.receivepack", "true"],
      ["http.uploadpack", "true"],
      ["receive.fsckObjects", "true"],
      ["receive.denyNonFastForwards", "false"],
      ["receive.denyDeletes", "true"],
      // refs/nk/* are nk's own (e.g. the fetched upstream): neither advertised nor pushable.
      ["transfer.hideRefs", "refs/nk/"],
    ];
    const git = gitPorcelain({ baseDir: repo.root, gitDir: repo.gitDir });
    // One read, then a write only where a value differs: a process per setting was eight forks of the coordinator on
    // every start. git lists keys in lower case; a key set twice by hand is replaced by the one value.
    const current = exists ? (await porcelain("config", () => git.listConfig("local"))).all : {};
    for (const [key, value] of settings) {
      if (current[key.toLowerCase()] !== value) await runGit(["config", "--local", "--replace-all", key, value], repo.gitOptions());
    }
    return repo;
  }

  /** Removes ref and config locks left by a git that died mid-update (e.g. in a kill -9); returns their paths. */
  removeStaleLocks(): Promise<string[]> {
    return removeStaleLocks(this.gitDir);
  }

  /** Options for git commands on this repo, optionally reading a push's quarantined objects. */
  gitOptions(quarantine: QuarantineEnv = {}): GitExecOptions {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(quarantine)) if (typeof v === "string" && v) env[k] = v;
    return { gitDir: this.gitDir, env };
  }

  /** simple-git on this repo, optionally reading a push's quarantined objects. */
  porcelain(quarantine: QuarantineEnv = {}): SimpleGit {
    return gitPorcelain({ baseDir: this.root, gitDir: this.gitDir, ...this.gitOptions(quarantine) });
  }

  /** The commit `ref` names (a ref, short name or sha), or null when there is none. */
  async resolve(ref: string, quarantine: QuarantineEnv = {}): Promise<string | null> {
    const { reader, done } = this.reader(quarantine);
    try {
      return await this.commitOf(reader, ref, quarantine);
    } finally {
      done();
    }
  }

  /** The commit a name resolves to through `reader`, or null (also for a name that is no object name at all). */
  private async commitOf(reader: GitObjectReader, ref: string, quarantine: QuarantineEnv): Promise<string | null> {
    if (ref.includes("@{")) return this.revParse(ref, quarantine);
    if (!isObjectName(ref)) return null;
    const [info] = await reader.info([`${ref}^{commit}`]);
    return info?.type === "commit" ? info.sha : null;
  }

  /**
   * Reflog and upstream names (`main@{1}`, `@{upstream}`) through `rev-parse`: on some of them `cat-file` dies
   * ("no upstream configured") where `rev-parse --verify --quiet` just says there is no such commit.
   */
  private async revParse(ref: string, quarantine: QuarantineEnv): Promise<string | null> {
    if (ref.startsWith("-")) return null;
    const sha = await this.porcelain(quarantine)
      .revparse(["--verify", "--quiet", "--end-of-options", `${ref}^{commit}`])
      .catch((err: unknown) => {
        if (err instanceof GitError) return "";
        throw gitFailure("rev-parse", err);
      });
    return SHA.test(sha.trim()) ? sha.trim() : null;
  }

  /** The tree id of a commit (two commits with the same files share it). */
  async treeOf(rev: string): Promise<string> {
    const commit = rev.includes("@{") ? await this.revParse(rev, {}) : rev;
    const [info] = commit !== null && isObjectName(commit) ? await this.objects.info([`${commit}^{tree}`]) : [null];
    if (info?.type !== "tree") throw new NkError("REVISION_UNKNOWN", `no tree for ${JSON.stringify(rev)} in the inventory repo`);
    return info.sha;
  }

  /** Removes a ref (a preview's) if it exists; no hooks run. */
  async deleteRef(ref: string): Promise<void> {
    if ((await this.resolve(ref)) === null) return;
    await runGit(["update-ref", "-d", ref], this.gitOptions());
  }

  /**
   * Whether commit `a` is `b` or an ancestor of it; false also when either is not in this repo. Any other failure
   * of git throws: a "no" from a git that could not answer would let an older main count as newer.
   */
  async isAncestor(a: string, b: string): Promise<boolean> {
    if (!SHA.test(a) || !SHA.test(b)) return false;
    // The usual question (is the stored commit an ancestor of the one just fetched?) is answered within a few
    // commits: read through the open cat-file process, which spares a push's path a merge-base process.
    if (await this.nearAncestor(a, b)) return true;
    try {
      return (await runGit(["merge-base", "--is-ancestor", a, b], { ...this.gitOptions(), okCodes: [1] })).code === 0;
    } catch (err) {
      if ((await this.resolve(a)) === null || (await this.resolve(b)) === null) return false;
      throw err;
    }
  }

  /**
   * Whether `a` is `b` or found among `b`'s first ANCESTOR_WALK ancestors, by their parent lines. Only a yes is
   * final (the repo has no grafts or shallow history to hide a parent): a no, or a missing object, is left to merge-base.
   */
  private async nearAncestor(a: string, b: string): Promise<boolean> {
    const seen = new Set<string>([b]);
    let frontier = [b];
    while (frontier.length > 0 && seen.size <= ANCESTOR_WALK) {
      if (frontier.includes(a)) return true;
      const commits = await this.objects.contents(frontier, MAX_COMMIT_BYTES);
      const next: string[] = [];
      for (const commit of commits) {
        if (commit?.type !== "commit" || commit.data === null) return false;
        for (const parent of parentsOf(commit.data)) {
          if (seen.has(parent)) continue;
          seen.add(parent);
          next.push(parent);
        }
      }
      frontier = next;
    }
    return frontier.includes(a);
  }

  /** The commit on main, or null before the first push. */
  headRevision(): Promise<string | null> {
    return this.resolve(MAIN_REF);
  }

  /** The commits of several full ref names (refs/...), null for a ref that does not exist. A sync reads two per push. */
  async resolveRefs(refs: readonly string[]): Promise<Array<string | null>> {
    for (const ref of refs) if (!ref.startsWith("refs/") || !isObjectName(ref)) throw new NkError("INVALID_ARGUMENT", `not a full ref name: ${JSON.stringify(ref)}`);
    const infos = await this.objects.info(refs.map((ref) => `${ref}^{commit}`));
    return infos.map((info) => (info?.type === "commit" ? info.sha : null));
  }

  /** All text files of `rev`, with the files left out (too large, binary, links) and why. */
  async readSnapshot(rev: string, quarantine: QuarantineEnv = {}): Promise<TreeSnapshot> {
    const { reader, done } = this.reader(quarantine);
    try {
      const sha = await this.commitOf(reader, rev, quarantine);
      if (sha === null) throw new NkError("REVISION_UNKNOWN", `no commit ${JSON.stringify(rev)} in the inventory repo`);
      return await readTreeSnapshot(sha, reader);
    } finally {
      done();
    }
  }

  /** readSnapshot of a commit id that resolve() just returned: no second lookup of the name. */
  readResolvedSnapshot(commit: string): Promise<TreeSnapshot> {
    if (!SHA.test(commit)) throw new NkError("INVALID_ARGUMENT", `not a resolved commit id: ${JSON.stringify(commit)}`);
    return readTreeSnapshot(commit, this.objects);
  }

  /** All text files of `rev` by repo path (what validateRepo and the renderer take). */
  async readTree(rev: string): Promise<Map<string, string>> {
    const snapshot = await this.readSnapshot(rev);
    if (snapshot.refused !== undefined) throw new NkError("TOO_LARGE", `${snapshot.revision.slice(0, 12)}: ${snapshot.refused}`);
    return snapshot.files;
  }

  /** The newest `n` commits on main, newest first (empty before the first push). */
  async log(n: number, ref = MAIN_REF): Promise<CommitInfo[]> {
    if ((await this.resolve(ref)) === null) return [];
    const format = { sha: "%H", author: "%an", email: "%ae", at: "%at", subject: "%s" };
    const log = await porcelain("log", () => this.porcelain().log({ format, maxCount: Math.max(1, Math.floor(n)), [ref]: null, "--": null }));
    return log.all.map((c) => ({ sha: c.sha, author: c.author, email: c.email, time: Number(c.at || "0") * 1000, subject: c.subject }));
  }

  /**
   * Commits `files` as the whole tree of a new commit on main, without a work tree and without
   * hooks (for seeding, e.g. the demo; the caller adopts the returned revision itself). Fails if
   * main moved while the commit was being built.
   */
  async commitFiles(files: ReadonlyMap<string, string>, message: string, options: CommitOptions = {}): Promise<string> {
    const root: DirNode = { dirs: new Map(), blobs: new Map() };
    const paths = [...files.keys()].sort();
    const blobShas = await this.writeBlobs(paths.map((p) => files.get(p) ?? ""));
    paths.forEach((path, i) => {
      const parts = checkPath(path);
      let dir = root;
      for (const part of parts.slice(0, -1)) {
        if (dir.blobs.has(part)) throw new NkError("INVALID_ARGUMENT", `${path}: ${part} is both a file and a folder`);
        let next = dir.dirs.get(part);
        if (!next) dir.dirs.set(part, (next = { dirs: new Map(), blobs: new Map() }));
        dir = next;
      }
      const name = parts[parts.length - 1]!;
      if (dir.dirs.has(name)) throw new NkError("INVALID_ARGUMENT", `${path}: is both a file and a folder`);
      dir.blobs.set(name, blobShas[i]!);
    });
    const tree = await this.writeTree(root);
    const parent = await this.headRevision();
    const who = options.author ?? { name: "nk", email: "nk@localhost" };
    const when = `${options.time ?? Math.floor(Date.now() / 1000)} +0000`;
    const ident = { GIT_AUTHOR_NAME: who.name, GIT_AUTHOR_EMAIL: who.email, GIT_AUTHOR_DATE: when, GIT_COMMITTER_NAME: who.name, GIT_COMMITTER_EMAIL: who.email, GIT_COMMITTER_DATE: when };
    const git = this.gitOptions();
    const commit = await gitText(["commit-tree", tree, ...(parent ? ["-p", parent] : []), "-F", "-"], { ...git, env: { ...git.env, ...ident }, input: message.endsWith("\n") ? message : `${message}\n` });
    // Compare-and-swap on the old value: a push that landed meanwhile is not overwritten.
    await this.moveMain(commit, parent, message.split("\n")[0] ?? "commit");
    return commit;
  }

  /**
   * git's own housekeeping when it is due (`gc --auto`: packs loose objects); quick when there is nothing to do. In
   * the foreground: git before 2.46 lets that gc detach, and its repack and prune would then run beside the next
   * fetch. Only here: a push's own `gc --auto` (receive-pack's) may go on detaching, so the pusher does not wait.
   */
  async maintain(): Promise<void> {
    await runGit(["-c", "gc.autoDetach=false", "maintenance", "run", "--auto", "--quiet"], { ...this.gitOptions(), ownProcessGroup: true });
  }

  /** Points main at `sha` if it still is at `expected` (null: no main yet); no hooks run. */

  async moveMain(sha: string, expected: string | null, reason: string): Promise<void> {
    await runGit(["update-ref", "-m", `nk: ${reason}`, MAIN_REF, sha, expected ?? ZERO_SHA], this.gitOptions());
  }

  /** Writes blobs in one `git fast-import` run (not one process per file); returns their shas in order. */
  private async writeBlobs(contents: readonly string[]): Promise<string[]> {
    if (contents.length === 0) return [];
    const parts: Buffer[] = [];
    contents.forEach((text, i) => {
      const data = Buffer.from(text, "utf8");
      parts.push(Buffer.from(`blob\nmark :${i + 1}\ndata ${data.length}\n`), data, Buffer.from("\n"));
    });
    contents.forEach((_, i) => parts.push(Buffer.from(`get-mark :${i + 1}\n`)));
    const out = await gitText(["fast-import", "--quiet", "--done"], { ...this.gitOptions(), input: Buffer.concat([...parts, Buffer.from("done\n")]) });
    const shas = out.split("\n").map((l) => l.trim());
    if (shas.length !== contents.length || !shas.every((s) => SHA.test(s))) throw new NkError("IO", "git fast-import did not report every blob");
    return shas;
  }

  private async writeTree(dir: DirNode): Promise<string> {
    const lines: string[] = [];
    for (const [name, sub] of dir.dirs) lines.push(`040000 tree ${await this.writeTree(sub)}\t${name}`);
    for (const [name, sha] of dir.blobs) lines.push(`100644 blob ${sha}\t${name}`);
    return gitText(["mktree", "-z"], { ...this.gitOptions(), input: lines.map((l) => `${l}\0`).join("") });
  }
}
