// Reads every blob of a commit's tree in two git processes: `ls-tree -r -z -l` then one `cat-file --batch`.
import { NkError, isNkError } from "../../../shared/src/errors/index.js";
import { INVENTORY_FILE } from "../../../shared/src/inventory/index.js";
import { runGit, type GitExecOptions } from "./git-exec.js";

/** Files larger than this are not read (an inventory has no business holding them). */
export const MAX_TREE_FILE_BYTES = 1024 * 1024;
/** inventory.yaml itself may be larger: 10,000 nodes take ~1.3 MB; validateRepo's own limit is 8 MiB. */
export const MAX_INVENTORY_FILE_BYTES = 8 * 1024 * 1024;
/** All files read from one tree together: a 10,000-node inventory with its .nix files is a few MB. */
export const MAX_TREE_TOTAL_BYTES = 32 * 1024 * 1024;
/** Entries (files, links, submodules) in one tree. */
export const MAX_TREE_ENTRIES = 50_000;

export interface TreeLimits {
  readonly totalBytes: number;
  readonly entries: number;
}

const DEFAULT_LIMITS: TreeLimits = { totalBytes: MAX_TREE_TOTAL_BYTES, entries: MAX_TREE_ENTRIES };
// ls-tree prints ~100 bytes per entry, up to ~4 KiB with a long path; far more means far too many entries.
const LS_TREE_BYTES_PER_ENTRY = 320;

export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

/** The text files of one commit, plus the files left out and why. */
export interface TreeSnapshot {
  readonly revision: string;
  readonly files: Map<string, string>;
  readonly skipped: readonly SkippedFile[];
  /** Set when the tree is over a whole-tree limit: then nothing was read (files is empty). */
  readonly refused?: string;
}

interface Entry {
  readonly mode: string;
  readonly type: string;
  readonly sha: string;
  readonly size: number;
  readonly path: string;
}

function parseLsTree(out: Buffer): Entry[] {
  const entries: Entry[] = [];
  for (const record of out.toString("utf8").split("\0")) {
    if (!record) continue;
    // "<mode> SP <type> SP <sha> SP+ <size> TAB <path>" (size is right-aligned, "-" for non-blobs).
    const m = /^(\d+) (\w+) ([0-9a-f]+) +(\S+)\t(.*)$/s.exec(record);
    if (!m) throw new NkError("IO", `unexpected git ls-tree output: ${JSON.stringify(record.slice(0, 200))}`);
    entries.push({ mode: m[1]!, type: m[2]!, sha: m[3]!, size: m[4] === "-" ? 0 : Number(m[4]), path: m[5]! });
  }
  return entries;
}

/** Splits `cat-file --batch` output ("<sha> <type> <size>\n<content>\n" per object) into contents by sha. */
export function parseCatFileBatch(out: Buffer): Map<string, Buffer> {
  const objects = new Map<string, Buffer>();
  let pos = 0;
  while (pos < out.length) {
    const eol = out.indexOf(0x0a, pos);
    if (eol < 0) throw new NkError("IO", "truncated git cat-file output");
    const header = out.toString("utf8", pos, eol);
    const m = /^([0-9a-f]+) (\w+) (\d+)$/.exec(header);
    if (!m) throw new NkError("IO", `unexpected git cat-file output: ${JSON.stringify(header.slice(0, 200))}`);
    const size = Number(m[3]);
    const start = eol + 1;
    if (start + size > out.length) throw new NkError("IO", "truncated git cat-file output");
    objects.set(m[1]!, out.subarray(start, start + size));
    pos = start + size + 1;
  }
  return objects;
}

function refused(revision: string, why: string): TreeSnapshot {
  return { revision, files: new Map(), skipped: [], refused: why };
}

/**
 * Reads the tree of `revision` (a commit sha). `git` carries GIT_DIR and, during a push, the
 * quarantine object directories so that objects not yet accepted are readable. Memory stays
 * bounded whatever was pushed: each file, all files together and the number of entries are
 * capped, and a tree over a whole-tree cap is refused before any blob is read.
 */
export async function readTreeSnapshot(revision: string, git: GitExecOptions, limits: TreeLimits = DEFAULT_LIMITS): Promise<TreeSnapshot> {
  let listed;
  try {
    listed = await runGit(["ls-tree", "-r", "-z", "-l", "--full-tree", `${revision}^{tree}`], { ...git, maxOutputBytes: limits.entries * LS_TREE_BYTES_PER_ENTRY });
  } catch (err) {
    if (isNkError(err, "TOO_LARGE")) return refused(revision, `the tree lists far more than ${limits.entries} entries; nk reads at most that many`);
    throw err;
  }
  const entries = parseLsTree(listed.stdout);
  if (entries.length > limits.entries) return refused(revision, `the tree has ${entries.length} entries; nk reads at most ${limits.entries}`);
  const files = new Map<string, string>();
  const skipped: SkippedFile[] = [];
  const wanted: Entry[] = [];
  for (const e of entries) {
    const limit = e.path === INVENTORY_FILE ? MAX_INVENTORY_FILE_BYTES : MAX_TREE_FILE_BYTES;
    if (e.type !== "blob") skipped.push({ path: e.path, reason: `${e.type === "commit" ? "submodule" : e.type} entries are not read` });
    else if (e.mode === "120000") skipped.push({ path: e.path, reason: "symbolic links are not followed" });
    else if (e.size > limit) skipped.push({ path: e.path, reason: `larger than ${limit} bytes (${e.size})` });
    else wanted.push(e);
  }
  if (wanted.length === 0) return { revision, files, skipped };
  // Counted per entry, not per blob: every path becomes its own string and is validated on its own.
  const total = wanted.reduce((sum, e) => sum + e.size, 0);
  const shas = new Map(wanted.map((e) => [e.sha, e.size]));
  if (total > limits.totalBytes) {
    return refused(revision, `the tree's ${wanted.length} readable files hold ${total} bytes together; nk reads at most ${limits.totalBytes} (keep large files out of the inventory repo)`);
  }
  // Headers add ~60 bytes per object to the contents.
  const batch = await runGit(["cat-file", "--batch"], { ...git, input: [...shas.keys()].map((s) => `${s}\n`).join(""), maxOutputBytes: [...shas.values()].reduce((a, b) => a + b, 0) + 128 * shas.size });
  const objects = parseCatFileBatch(batch.stdout);
  for (const e of wanted) {
    const content = objects.get(e.sha);
    if (content === undefined) throw new NkError("IO", `git cat-file did not return ${e.sha} (${e.path})`);
    if (content.includes(0)) skipped.push({ path: e.path, reason: "binary file (contains NUL bytes)" });
    else files.set(e.path, content.toString("utf8"));
  }
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return { revision, files, skipped };
}
