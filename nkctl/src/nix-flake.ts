// Locks one flake reference with the operator's Nix: `nix flake metadata --json`, with no global registry.
import { execFile } from "node:child_process";
import { NkError } from "../../shared/src/errors/index.js";
import type { FlakeAttrs, LockedInput } from "../../shared/src/lock/index.js";

/** Flakes are experimental in Nix 2.8 and later releases alike; an empty registry keeps short names from resolving over the network. */
export const NIX_FLAGS = ["--extra-experimental-features", "nix-command flakes", "--option", "flake-registry", ""] as const;

export interface NixLocked extends LockedInput {
  /** The reference pinned to what was locked, for --override-input. */
  readonly lockedUrl: string;
}

/** The exact argv of `nix flake metadata` for `url`; `overrideNixpkgs` stands in for a flake's own nixpkgs input (bundles make it follow theirs). */
export function metadataArgs(url: string, overrideNixpkgs?: string): string[] {
  return [...NIX_FLAGS, "flake", "metadata", "--json", "--no-write-lock-file", ...(overrideNixpkgs ? ["--override-input", "nixpkgs", overrideNixpkgs] : []), url];
}

function run(nix: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(nix, args, { maxBuffer: 64 * 1024 * 1024, env: process.env }, (err, stdout, stderr) => {
      if (err && (err as NodeJS.ErrnoException).code === "ENOENT") {
        reject(new NkError("UNAVAILABLE", `${nix} not found: nkctl pin locks with the operator's Nix (install Nix, e.g. Debian's nix-bin)`));
        return;
      }
      // Nix's warnings (e.g. about the nixbld group) are not the error.
      const message = stderr.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("warning: ")).join("\n");
      if (err) reject(new NkError("IO", `nix ${args.slice(NIX_FLAGS.length).join(" ")} failed: ${message || err.message}`));
      else resolve(stdout);
    });
  });
}

function attrs(value: unknown, what: string): FlakeAttrs {
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new NkError("IO", `nix flake metadata printed no ${what}`);
  return value as FlakeAttrs;
}

/** Fetches `url` (into the Nix store) and returns how Nix locks it. */
export async function lockWithNix(url: string, options: { nix?: string; overrideNixpkgs?: string } = {}): Promise<NixLocked> {
  const out = await run(options.nix ?? "nix", metadataArgs(url, options.overrideNixpkgs));
  const meta = JSON.parse(out) as { locked?: unknown; original?: unknown; url?: unknown };
  const lockedUrl = typeof meta.url === "string" ? meta.url : url;
  return { original: attrs(meta.original, "original"), locked: attrs(meta.locked, "locked"), lockedUrl };
}
