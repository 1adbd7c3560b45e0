// Whether a shared store's rollout revision is newer than the commit a coordinator is about to adopt.
import type { GitRepo } from "./git-repo.js";

export interface StoreRevisionAheadOptions {
  /**
   * Upstream's tip, fetched when called (UpstreamFollower.fetchTip), or null when it cannot be fetched now. Called
   * after the store was read, so any commit a coordinator wrote there by then and upstream still holds is in its history.
   */
  readonly upstreamTip?: () => Promise<string | null>;
  /**
   * The commit is the repo's own main at start, not one just fetched from upstream: main may have been reset or
   * rewritten upstream while this coordinator was down, and writing it would take the cluster back to a dropped commit.
   */
  readonly startup?: boolean;
}

/**
 * True when the coordinator must write nothing for `revision` because the store names a newer one. A stored commit
 * `revision` descends from is older: false (at start, only while `revision` is still on upstream's branch). Otherwise
 * upstream's tip decides, fetched after the store was read: a stored commit in its history is newer (another
 * coordinator fetched it after this one's last sync, or this one started on an older main, or `revision` left
 * upstream's history), and one outside it was dropped by a force push, so refusing it would hold the cluster on the
 * replaced history for good (a branch reset to an earlier commit too). Without a tip, what this repo knows decides:
 * an unknown or descendant commit is newer, another history is not.
 */
export async function storeRevisionAhead(
  repo: Pick<GitRepo, "resolve" | "isAncestor">,
  revision: string,
  stored: string,
  options: StoreRevisionAheadOptions = {},
): Promise<boolean> {
  if (stored === revision) return false;
  const known = (await repo.resolve(stored)) !== null;
  if (known && (await repo.isAncestor(stored, revision))) {
    if (!options.startup) return false;
    const tip = options.upstreamTip ? await options.upstreamTip() : null;
    return tip !== null && !(await onBranch(repo, revision, tip));
  }
  const tip = options.upstreamTip ? await options.upstreamTip() : null;
  if (tip === null) return !known || repo.isAncestor(revision, stored);
  return onBranch(repo, stored, tip);
}

/** Whether `commit` is `tip` or in its history (false for a commit this repo does not have). */
async function onBranch(repo: Pick<GitRepo, "isAncestor">, commit: string, tip: string): Promise<boolean> {
  return commit === tip || repo.isAncestor(commit, tip);
}
