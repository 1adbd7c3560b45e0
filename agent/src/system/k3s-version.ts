// The k3s version a NixOS system runs, read from the name of the k3s package its closure links.
import { memoPerStorePath } from "./store-path-memo.js";

/** `/nix/store/<hash>-k3s-1.30.4+k3s1/bin/k3s` → "1.30.4+k3s1"; null for any other path. */
export function k3sVersionOfStorePath(path: string): string | null {
  return /^\/nix\/store\/[0-9a-z]{32}-k3s-(\d+\.\d+\.\d+[^/]*)(?:\/|$)/.exec(path.trim())?.[1] ?? null;
}

/**
 * `read` remembered per store path (a store path never changes), so heartbeats do not run a command each; a failed
 * read counts as unknown and is tried again next time.
 */
export function memoK3sVersion(read: (systemPath: string) => Promise<string | null>): (systemPath: string) => Promise<string | null> {
  const remembered = memoPerStorePath(read);
  return (systemPath) => remembered(systemPath).catch(() => null);
}
