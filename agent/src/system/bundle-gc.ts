// Which bundle directories (and with them their `result` GC roots) an agent may remove: the rule both drivers share.

/** What must survive a prune: bundles by sha256 (applied, in flight) and any bundle whose build is one of these systems. */
export interface BundleKeep {
  readonly sha256s: readonly string[];
  /** Current, booted, last good and rollback systems. */
  readonly systems: readonly string[];
}

export interface BundleEntry {
  /** The directory's name under the bundle root (a sha256, or a leftover `<sha256>.tmp-<pid>`). */
  readonly name: string;
  /** Where its `result` link points, or null when it has none (a failed or unfinished build). */
  readonly system: string | null;
}

/** The entries to remove, in name order: everything not kept by sha256 or by the system it built. */
export function bundlesToRemove(entries: readonly BundleEntry[], keep: BundleKeep): string[] {
  const shas = new Set(keep.sha256s);
  const systems = new Set(keep.systems);
  return entries
    .filter((e) => !shas.has(e.name) && (e.system === null || !systems.has(e.system)))
    .map((e) => e.name)
    .sort();
}
