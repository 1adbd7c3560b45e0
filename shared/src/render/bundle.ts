// A rendered bundle: the small file tree one node builds, identified by the sha256 of its files.
import { hash } from "node:crypto";

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

/**
 * sha256 over every file's path and content, length-prefixed (UTF-8 bytes) so no two trees collide by concatenation.
 * One string, hashed in one call: a push hashes every node's bundle, and a Buffer per file plus a hash object per
 * bundle cost more than the hashing itself (issue 24: ~0.17 s of a 1,000-node push).
 */
export function bundleSha256(files: readonly BundleFile[]): string {
  let text = "";
  for (const file of sortFiles(files)) text += `${Buffer.byteLength(file.path)}:${file.path}${Buffer.byteLength(file.content)}:${file.content}`;
  return hash("sha256", text, "hex");
}

export function sortFiles(files: readonly BundleFile[]): BundleFile[] {
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

export function makeBundle(node: string, files: readonly BundleFile[]): Bundle {
  const sorted = sortFiles(files);
  return { node, files: sorted, sha256: bundleSha256(sorted) };
}
