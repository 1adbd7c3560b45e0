// The exact nk source this coordinator runs, as a flake tarball nodes fetch from it, with the narHash that locks it.
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { NK_VERSION } from "../../../shared/src/version/index.js";
import { narHash, type SourceFile } from "./nar-hash.js";
import { sourceTarball } from "./source-tarball.js";

/** What makes up the nk flake (what flake.nix and nixos-module/package.nix read); tests, docs and examples are not part of it. */
export const SOURCE_PATHS = ["flake.nix", "package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json", "bin", "nixos-module", "shared/src", "agent/src", "coordinator/src", "nkctl/src", "proto"] as const;

export interface ServedSource {
  /** e.g. nk-0.1.0-1a2b3c4d5e6f.tar.gz: the content is in the name, so a new build never hides behind an old URL. */
  readonly fileName: string;
  readonly tarball: Buffer;
  readonly narHash: string;
  readonly version: string;
}

/** The installed package keeps a copy of its flake source in source/ (nixos-module/package.nix); a checkout is its own. */
export function defaultSourceRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8 && !existsSync(join(dir, "package.json")); i++) dir = dirname(dir);
  return existsSync(join(dir, "source", "flake.nix")) ? join(dir, "source") : dir;
}

async function walk(root: string, rel: string, out: SourceFile[]): Promise<void> {
  const info = await stat(join(root, rel)).catch(() => null);
  if (!info) return;
  if (info.isFile()) {
    out.push({ path: rel, content: await readFile(join(root, rel)), executable: (info.mode & 0o100) !== 0 });
    return;
  }
  if (!info.isDirectory()) return;
  for (const name of (await readdir(join(root, rel))).sort()) await walk(root, `${rel}/${name}`, out);
}

export async function readSourceFiles(root: string): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const path of SOURCE_PATHS) await walk(root, path, files);
  return files;
}

export async function loadServedSource(root = defaultSourceRoot(), version = NK_VERSION): Promise<ServedSource> {
  const files = await readSourceFiles(root);
  if (!files.some((f) => f.path === "flake.nix")) throw new Error(`${root} holds no nk flake source (no flake.nix)`);
  const hash = narHash(files);
  const id = createHash("sha256").update(hash).digest("hex").slice(0, 12);
  return { fileName: `nk-${version}-${id}.tar.gz`, tarball: sourceTarball(`nk-${version}`, files), narHash: hash, version };
}

/** Where nodes fetch it: <public URL>/nk/source/<file>. */
export function sourceUrl(publicUrl: string, source: ServedSource): string {
  return `${publicUrl.replace(/\/+$/, "")}/nk/source/${source.fileName}`;
}
