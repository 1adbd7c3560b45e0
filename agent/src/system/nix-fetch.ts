// Realises a node's system from the binary cache instead of building it: only a closure signed by the trusted key is taken.
import { NkError } from "../../../shared/src/errors/index.js";
import { logOf, NIX, nixError } from "./command-output.js";
import type { CommandRunner } from "./command-runner.js";
import type { BuildResult } from "./system.js";

/** Where a node fetches closures and the one key it trusts for them. */
export interface CacheSource {
  readonly url: string;
  readonly publicKey: string;
}

/** /nix/store/<32 base32 chars>-<name>: anything else from the wire is not a store path. */
export const STORE_PATH = /^\/nix\/store\/[0-9abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+._?=-]+$/;

/** The exact argv: only `cache.publicKey` is trusted (replacing any configured keys), and signatures are required. */
export function fetchArgv(systemPath: string, cache: CacheSource): string[] {
  return [...NIX, "copy", "--from", cache.url, "--option", "trusted-public-keys", cache.publicKey, "--option", "require-sigs", "true", systemPath];
}

/**
 * Copies `systemPath`'s closure from the cache into the local store, then roots it at `<bundleDir>/result` as a
 * local build would (bundle pruning frees it). A refused signature is an expected failure, returned, not thrown.
 */
export async function fetchClosure(runner: CommandRunner, bundleDir: string, systemPath: string, cache: CacheSource, signal?: AbortSignal): Promise<BuildResult> {
  if (!STORE_PATH.test(systemPath)) throw new NkError("INVALID_ARGUMENT", `not a Nix store path: ${JSON.stringify(systemPath)}`);
  const opts = signal ? { signal } : {};
  const copy = await runner.run(fetchArgv(systemPath, cache), opts);
  if (copy.exitCode !== 0) {
    const keyName = cache.publicKey.slice(0, cache.publicKey.indexOf(":"));
    // "lacks a valid signature" (older Nix) or "lacks a signature by a trusted key" (newer).
    const error = /lacks a (valid )?signature/.test(copy.stderr)
      ? `refused ${systemPath} from ${cache.url}: not signed by the trusted key ${keyName}`
      : `cannot fetch ${systemPath} from ${cache.url}: ${nixError(copy, "nix copy")}`;
    return { ok: false, error, log: logOf(copy) };
  }
  const root = await runner.run(["nix-store", "--realise", systemPath, "--add-root", `${bundleDir}/result`], opts);
  if (root.exitCode !== 0) return { ok: false, error: `cannot root ${systemPath} at ${bundleDir}/result: ${nixError(root, "nix-store")}`, log: logOf(root) };
  return { ok: true, systemPath, log: logOf(copy) };
}
