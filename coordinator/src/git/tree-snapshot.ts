// Reads every text file of a commit's tree through one git object reader: the trees, the blobs' sizes, the blobs.
import { NkError } from "../../../shared/src/errors/index.js";
import { INVENTORY_FILE } from "../../../shared/src/inventory/index.js";
import type { GitObjectReader } from "./git-object-reader.js";

/** Files larger than this are not read (an inventory has no business holding them). */
export const MAX_TREE_FILE_BYTES = 1024 * 1024;
/** inventory.yaml itself may be larger: 10,000 nodes take ~1.3 MB; validateRepo's own limit is 8 MiB. */
export const MAX_INVENTORY_FILE_BYTES = 8 * 1024 * 1024;
/** All files read from one tree together: a 10,000-node inventory with its .nix files is a few MB. */
export const MAX_TREE_TOTAL_BYTES = 32 * 1024 * 1024;
/** Entries (files, links, submodules and folders) in one tree: walking folders is work too. */
export const MAX_TREE_ENTRIES = 50_000;

export interface TreeLimits {
  readonly totalBytes: number;
  readonly entries: number;
}

const DEFAULT_LIMITS: TreeLimits = { totalBytes: MAX_TREE_TOTAL_BYTES, entries: MAX_TREE_ENTRIES };
// A tree entry is ~30 bytes plus its name (up to 255 in most file systems); far more per entry allowed is a hostile tree.
const TREE_BYTES_PER_ENTRY = 320;

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
  readonly sha: string;
  readonly path: string;
}

interface TreeEntry {
  readonly mode: string;
  readonly name: string;
  readonly sha: string;
}

/** A tree object's entries: "<mode> <name>\0<binary id>" each, in git's order. */
export function parseTree(data: Buffer, idBytes = 20): TreeEntry[] {
  const entries: TreeEntry[] = [];
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const nul = data.indexOf(0, space + 1);
    if (space < 0 || nul < 0 || nul + 1 + idBytes > data.length) throw new NkError("IO", "malformed git tree object");
    entries.push({ mode: data.toString("latin1", pos, space), name: data.toString("utf8", space + 1, nul), sha: data.toString("hex", nul + 1, nul + 1 + idBytes) });
    pos = nul + 1 + idBytes;
  }
  return entries;
}

function refused(revision: string, why: string): TreeSnapshot {
  return { revision, files: new Map(), skipped: [], refused: why };
}

/** What an entry is, from its mode's file-type bits: git accepts non-canonical modes (e.g. "040000") in trees. */
function typeOf(mode: string): "tree" | "commit" | "link" | "blob" {
  const kind = parseInt(mode, 8) & 0o170000;
  if (kind === 0o040000) return "tree";
  if (kind === 0o160000) return "commit";
  if (kind === 0o120000) return "link";
  return "blob";
}

/**
 * Reads the tree of `revision` (a commit sha) through `reader`, which during a push also sees the quarantined
 * objects. Memory stays bounded whatever was pushed: each file, all files together, the number of entries and the
 * size of the tree objects are capped, and a tree over a whole-tree cap is refused before any blob is read.
 */
export async function readTreeSnapshot(revision: string, reader: GitObjectReader, limits: TreeLimits = DEFAULT_LIMITS): Promise<TreeSnapshot> {
  const [root] = await reader.info([`${revision}^{tree}`]);
  if (!root) throw new NkError("REVISION_UNKNOWN", `no tree for ${JSON.stringify(revision)} in the inventory repo`);
  const idBytes = root.sha.length / 2;
  // The trees, one round trip per level; each distinct tree is read once.
  const trees = new Map<string, TreeEntry[]>();
  const treeBudget = limits.entries * TREE_BYTES_PER_ENTRY;
  let treeBytes = 0;
  let level = [root.sha];
  while (level.length > 0) {
    if (trees.size + level.length > limits.entries) return refused(revision, `the tree has more than ${limits.entries} entries; nk reads at most that many`);
    // The level's sizes first: its trees together must fit what is left of the budget before any is read.
    const sizes = await reader.info(level);
    for (const [i, info] of sizes.entries()) {
      if (!info) throw new NkError("IO", `git did not return tree ${level[i]}`);
      if (info.type !== "tree") throw new NkError("IO", `tree entry ${level[i]} is a ${info.type}, not a tree`);
      treeBytes += info.size;
    }
    if (treeBytes > treeBudget) return refused(revision, `the tree's listing is far larger than ${limits.entries} entries need; nk reads at most that many`);
    const objects = await reader.contents(level, treeBudget);
    const next = new Set<string>();
    for (const [i, object] of objects.entries()) {
      if (!object?.data || object.type !== "tree") throw new NkError("IO", `git did not return tree ${level[i]}`);
      const entries = parseTree(object.data, idBytes);
      trees.set(object.sha, entries);
      for (const e of entries) if (typeOf(e.mode) === "tree" && !trees.has(e.sha)) next.add(e.sha);
    }
    level = [...next];
  }
  // Every path in git's order (as `ls-tree -r` lists them), counted per path: a subtree used twice counts twice.
  const entries: Entry[] = [];
  let visited = 0;
  // Depth-first without recursion: a hostile push may nest thousands of folders.
  const stack: Array<{ readonly list: readonly TreeEntry[]; readonly prefix: string; at: number }> = [{ list: trees.get(root.sha)!, prefix: "", at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const e = top.list[top.at++];
    if (!e) {
      stack.pop();
      continue;
    }
    // Folders count too: a tree that names one subtree twice at each level would otherwise be a walk of 2^depth.
    if (++visited > limits.entries) return refused(revision, `the tree has more than ${limits.entries} entries; nk reads at most that many`);
    if (typeOf(e.mode) === "tree") stack.push({ list: trees.get(e.sha)!, prefix: `${top.prefix}${e.name}/`, at: 0 });
    else entries.push({ mode: e.mode, sha: e.sha, path: `${top.prefix}${e.name}` });
  }
  const files = new Map<string, string>();
  const skipped: SkippedFile[] = [];
  const candidates = entries.filter((e) => {
    const type = typeOf(e.mode);
    if (type === "commit") skipped.push({ path: e.path, reason: "submodule entries are not read" });
    else if (type === "link") skipped.push({ path: e.path, reason: "symbolic links are not followed" });
    else return true;
    return false;
  });
  const unique = [...new Set(candidates.map((e) => e.sha))];
  const infos = await reader.info(unique);
  const sizes = new Map(unique.map((sha, i) => [sha, infos[i]?.size]));
  const wanted: Entry[] = [];
  for (const e of candidates) {
    const size = sizes.get(e.sha);
    if (size === undefined) throw new NkError("IO", `git cat-file did not return ${e.sha} (${e.path})`);
    const limit = e.path === INVENTORY_FILE ? MAX_INVENTORY_FILE_BYTES : MAX_TREE_FILE_BYTES;
    if (size > limit) skipped.push({ path: e.path, reason: `larger than ${limit} bytes (${size})` });
    else wanted.push(e);
  }
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  if (wanted.length === 0) return { revision, files, skipped };
  // Counted per entry, not per blob: every path becomes its own string and is validated on its own.
  const total = wanted.reduce((sum, e) => sum + sizes.get(e.sha)!, 0);
  if (total > limits.totalBytes) {
    return refused(revision, `the tree's ${wanted.length} readable files hold ${total} bytes together; nk reads at most ${limits.totalBytes} (keep large files out of the inventory repo)`);
  }
  const shas = [...new Set(wanted.map((e) => e.sha))];
  const blobs = await reader.contents(shas, MAX_INVENTORY_FILE_BYTES);
  const bySha = new Map(shas.map((sha, i) => [sha, blobs[i]?.data ?? null]));
  for (const e of wanted) {
    const content = bySha.get(e.sha);
    if (!content) throw new NkError("IO", `git cat-file did not return ${e.sha} (${e.path})`);
    if (content.includes(0)) skipped.push({ path: e.path, reason: "binary file (contains NUL bytes)" });
    else files.set(e.path, content.toString("utf8"));
  }
  skipped.sort((a, b) => a.path.localeCompare(b.path));
  return { revision, files, skipped };
}
