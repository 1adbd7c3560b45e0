// What nkctl manifests asks the coordinator: the apply state (optionally with live status), a dry-run diff of any revision, apply now.
import { NkError } from "../../../shared/src/errors/index.js";
import { formatDiagnostic, validateRepo } from "../../../shared/src/inventory/index.js";
import { readManifests } from "../../../shared/src/manifests/index.js";
import type { GetManifestsResponse } from "../../../shared/src/proto/gen/nk/v1/admin.js";
import type { RepoReader } from "../inventory/revision-renderer.js";
import type { DiffEntry, ManifestDriver, ObjectStatus } from "./manifest-driver.js";
import type { ManifestSyncer } from "./manifest-syncer.js";
import type { ManifestsView } from "./manifests-view.js";

export interface ManifestsAdmin {
  get(live: boolean): Promise<GetManifestsResponse>;
  diff(ref: string): Promise<{ revision: string; entries: readonly DiffEntry[] }>;
  applyNow(): Promise<GetManifestsResponse>;
}

/** The view in wire form; live status (when read) adds exists/in-sync and fresher health per object. */
export function manifestsToWire(view: ManifestsView, live: readonly ObjectStatus[] | null): GetManifestsResponse {
  const byKey = new Map((live ?? []).map((s) => [s.key, s]));
  const objects = view.objects.map((o) => {
    const s = byKey.get(o.key);
    return { key: o.key, source: o.source, action: o.action, message: o.message, health: s?.health ?? o.health, healthDetail: s?.detail ?? o.healthDetail, exists: s?.exists ?? false, inSync: s?.inSync ?? false };
  });
  // Objects of the revision the last apply never reached (it stopped early) still show with their live status.
  for (const s of live ?? []) if (!view.objects.some((o) => o.key === s.key)) objects.push({ key: s.key, source: s.source, action: "pending", message: "", health: s.health, healthDetail: s.detail, exists: s.exists, inSync: s.inSync });
  return { mode: view.mode, state: view.state, revision: view.revision, appliedRevision: view.appliedRevision, error: view.error, lastAttemptMs: view.lastAttemptMs, nextRetryMs: view.nextRetryMs, failures: view.failures, objects, live: live !== null };
}

export function createManifestsAdmin(deps: { syncer: ManifestSyncer; driver: ManifestDriver; repo: RepoReader }): ManifestsAdmin {
  const { syncer, driver, repo } = deps;
  return {
    async get(live) {
      return manifestsToWire(syncer.snapshot(), live ? await syncer.liveStatus() : null);
    },
    async diff(ref) {
      if (!driver.enabled) throw new NkError("UNAVAILABLE", "no Kubernetes access configured (kubeconfigFile): nothing to diff against");
      const revision = await repo.resolve(ref || "main");
      if (!revision) throw new NkError("REVISION_UNKNOWN", `no such revision "${ref}" in the inventory repo`);
      const files = await repo.readTree(revision);
      const result = validateRepo(files);
      if (!result.inventory) throw new NkError("INVENTORY_INVALID", `revision ${revision.slice(0, 12)} does not validate:\n${result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic).join("\n")}`);
      const { objects } = readManifests(files, result.inventory.manifests);
      const entries = await driver.diff({ cluster: result.inventory.cluster.name, revision, objects, settings: result.inventory.manifests });
      return { revision, entries };
    },
    async applyNow() {
      if (!driver.enabled) throw new NkError("UNAVAILABLE", "no Kubernetes access configured (kubeconfigFile): manifests cannot be applied");
      return manifestsToWire(await syncer.applyNow(), null);
    },
  };
}
