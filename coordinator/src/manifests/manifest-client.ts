// ManifestDriver over the real Kubernetes API (@kubernetes/client-node), from the coordinator's kubeconfig.
import type { KubeConfig } from "@kubernetes/client-node";
import { systemDrainClock, type DrainClock } from "../kube/drain-clock.js";
import { applyManifests, defaultApplyTuning, type ApplyTuning } from "./apply-manifests.js";
import { diffManifests, manifestStatus } from "./inspect-manifests.js";
import { KubeObjects } from "./kube-objects.js";
import type { ApplyReport, DiffEntry, ManifestDriver, ManifestRequest, ObjectStatus } from "./manifest-driver.js";

export class ManifestClient implements ManifestDriver {
  readonly enabled = true;
  private readonly kube: KubeObjects;
  private readonly clock: DrainClock;
  private readonly tuning: ApplyTuning;

  constructor(config: KubeConfig, options: { clock?: DrainClock; tuning?: Partial<ApplyTuning> } = {}) {
    this.kube = new KubeObjects(config);
    this.clock = options.clock ?? systemDrainClock;
    this.tuning = { ...defaultApplyTuning, ...options.tuning };
  }

  apply(request: ManifestRequest): Promise<ApplyReport> {
    return applyManifests({ kube: this.kube, clock: this.clock, tuning: this.tuning }, request);
  }

  diff(request: ManifestRequest): Promise<readonly DiffEntry[]> {
    return diffManifests(this.kube, request);
  }

  status(request: ManifestRequest): Promise<readonly ObjectStatus[]> {
    return manifestStatus(this.kube, request);
  }
}
