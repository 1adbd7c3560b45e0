// The NAR hash Nix gives a source tree (its narHash): the tree serialised as a Nix ARchive, then sha256.
import { createHash, type Hash } from "node:crypto";

/** One regular file of a tree, by '/'-separated path relative to its root. */
export interface SourceFile {
  readonly path: string;
  readonly content: Buffer;
  readonly executable: boolean;
}

interface Dir {
  readonly dirs: Map<string, Dir>;
  readonly files: Map<string, SourceFile>;
}

function str(hash: Hash, s: string | Buffer): void {
  const bytes = typeof s === "string" ? Buffer.from(s, "utf8") : s;
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(bytes.length));
  hash.update(len).update(bytes);
  const pad = (8 - (bytes.length % 8)) % 8;
  if (pad) hash.update(Buffer.alloc(pad));
}

function tree(files: readonly SourceFile[]): Dir {
  const root: Dir = { dirs: new Map(), files: new Map() };
  for (const f of files) {
    const parts = f.path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let next = dir.dirs.get(part);
      if (!next) dir.dirs.set(part, (next = { dirs: new Map(), files: new Map() }));
      dir = next;
    }
    dir.files.set(parts.at(-1)!, f);
  }
  return root;
}

// Entries in byte order of their names, as Nix writes them.
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

function dump(hash: Hash, dir: Dir): void {
  for (const t of ["(", "type", "directory"]) str(hash, t);
  for (const name of [...dir.dirs.keys(), ...dir.files.keys()].sort(byteOrder)) {
    for (const t of ["entry", "(", "name", name, "node"]) str(hash, t);
    const sub = dir.dirs.get(name);
    if (sub) dump(hash, sub);
    else {
      const f = dir.files.get(name)!;
      for (const t of ["(", "type", "regular", ...(f.executable ? ["executable", ""] : []), "contents"]) str(hash, t);
      str(hash, f.content);
      str(hash, ")");
    }
    str(hash, ")");
  }
  str(hash, ")");
}

/** sha256 of the NAR of a directory holding `files`, as Nix's SRI form ("sha256-" and base64). */
export function narHash(files: readonly SourceFile[]): string {
  const hash = createHash("sha256");
  str(hash, "nix-archive-1");
  dump(hash, tree(files));
  return `sha256-${hash.digest("base64")}`;
}
