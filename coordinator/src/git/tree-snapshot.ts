// Reads every blob of a commit's tree in two git processes: `ls-tree -r -z -l` then one `cat-file --batch`.
import { NkError } from "../../../shared/src/errors/index.js";
import { INVENTORY_FILE } from "../../../shared/src/inventory/index.js";
import { runGit, type GitExecOptions } from "./git-exec.js";

/** Files larger than this are not read (an inventory has no business holding them). */
export const MAX_TREE_FILE_BYTES = 1024 * 1024;
/** inventory.yaml itself may be larger: 10,000 nodes take ~1.3 MB; validateRepo's own limit is 8 MiB. */
export const MAX_INVENTORY_FILE_BYTES = 8 * 1024 * 1024;

export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

/** The text files of one commit, plus the files left out and why. */
export interface TreeSnapshot {
  readonly revision: string;
  readonly files: Map<string, string>;
  readonly skipped: readonly SkippedFile[];
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

/**
 * Reads the tree of `revision` (a commit sha). `git` carries GIT_DIR and, during a push, the
 * quarantine object directories so that objects not yet accepted are readable.
 */
export async function readTreeSnapshot(revision: string, git: GitExecOptions): Promise<TreeSnapshot> {
  const listed = await runGit(["ls-tree", "-r", "-z", "-l", "--full-tree", `${revision}^{tree}`], git);
  const files = new Map<string, string>();
  const skipped: SkippedFile[] = [];
  const wanted: Entry[] = [];
  for (const e of parseLsTree(listed.stdout)) {
    const limit = e.path === INVENTORY_FILE ? MAX_INVENTORY_FILE_BYTES : MAX_TREE_FILE_BYTES;
    if (e.type !== "blob") skipped.push({ path: e.path, reason: `${e.type === "commit" ? "submodule" : e.type} entries are not read` });
    else if (e.mode === "120000") skipped.push({ path: e.path, reason: "symbolic links are not followed" });
    else if (e.size > limit) skipped.push({ path: e.path, reason: `larger than ${limit} bytes (${e.size})` });
    else wanted.push(e);
  }
  if (wanted.length === 0) return { revision, files, skipped };
  const shas = [...new Set(wanted.map((e) => e.sha))];
  const batch = await runGit(["cat-file", "--batch"], { ...git, input: shas.map((s) => `${s}\n`).join("") });
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
