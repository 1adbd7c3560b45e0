// Whether a shared store's rollout revision is newer than the commit a coordinator is about to adopt.
import type { GitRepo } from "./git-repo.js";

/**
 * True when the coordinator must write nothing for `revision` because the store names a newer one:
 * a commit unknown here (another coordinator fetched it after this one's last sync, so this one's next
 * sync brings it) or a commit `revision` is an ancestor of (this coordinator started on an older main).
 * A stored commit on another history that `revision` does not descend from (upstream was force-pushed)
 * is not ahead: refusing it would hold the cluster on the replaced history for good.
 */
export async function storeRevisionAhead(repo: Pick<GitRepo, "resolve" | "isAncestor">, revision: string, stored: string): Promise<boolean> {
  if (stored === revision) return false;
  if ((await repo.resolve(stored)) === null) return true;
  if (await repo.isAncestor(stored, revision)) return false;
  return repo.isAncestor(revision, stored);
}
