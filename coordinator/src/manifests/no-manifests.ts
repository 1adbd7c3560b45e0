// The manifest driver without Kubernetes access: nothing is applied, and status says why.
import type { ApplyReport, DiffEntry, ManifestDriver, ManifestRequest, ObjectStatus } from "./manifest-driver.js";

/** Without Kubernetes access nothing is applied; the reason is what status shows. */
export class NoManifests implements ManifestDriver {
  readonly enabled = false;
  static readonly REASON = "no Kubernetes access configured: manifests are validated but not applied";

  async apply(request: ManifestRequest): Promise<ApplyReport> {
    return { revision: request.revision, ok: false, objects: [], error: NoManifests.REASON };
  }

  async diff(): Promise<readonly DiffEntry[]> {
    return [];
  }

  async status(): Promise<readonly ObjectStatus[]> {
    return [];
  }
}
