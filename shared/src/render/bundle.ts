// A rendered bundle: the small file tree one node builds, identified by the sha256 of its files.
import { createHash } from "node:crypto";

export interface BundleFile {
  /** Relative, '/'-separated, no '..'. */
  readonly path: string;
  readonly content: string;
}

export interface Bundle {
  readonly node: string;
  /** Sorted by path (byte order), so hashing and serialising are deterministic. */
  readonly files: readonly BundleFile[];
  readonly sha256: string;
}

/** sha256 over every file's path and content, length-prefixed so no two trees collide by concatenation. */
export function bundleSha256(files: readonly BundleFile[]): string {
  const hash = createHash("sha256");
  for (const file of sortFiles(files)) {
    const path = Buffer.from(file.path, "utf8");
    const content = Buffer.from(file.content, "utf8");
    hash.update(`${path.length}:`).update(path).update(`${content.length}:`).update(content);
  }
  return hash.digest("hex");
}

export function sortFiles(files: readonly BundleFile[]): BundleFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function makeBundle(node: string, files: readonly BundleFile[]): Bundle {
  const sorted = sortFiles(files);
  return { node, files: sorted, sha256: bundleSha256(sorted) };
}
