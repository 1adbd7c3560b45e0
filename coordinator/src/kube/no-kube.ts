// KubeDriver for clusters the coordinator cannot reach through Kubernetes (no kubeconfig configured).
import type { CordonResult, DrainOptions, DrainResult, KubeDriver, KubeNodeStatus, KubePod } from "./kube-driver.js";

const REASON = "no Kubernetes access configured";

/** Said at start and on every status view of a coordinator configured with `kube: none`. */
export const NO_KUBE_WARNING = "no Kubernetes access (kube: none): nodes are rebooted without a drain, and without a Kubernetes Ready check";

/**
 * Readiness is unknown (`ready: null`), cordon is a no-op and drain succeeds at once with nothing
 * evicted. Consumers treat null readiness as "not gated by Kubernetes": the lease manager then
 * judges a node "back" by the agent alone (new boot id, expected generation, its own checks)
 * plus the cluster checks, and grants on agent health only.
 */
export class NoKube implements KubeDriver {
  readonly enabled = false;

  async nodeStatus(name: string): Promise<KubeNodeStatus> {
    return unknownStatus(name);
  }

  async listNodes(): Promise<readonly KubeNodeStatus[]> {
    return [];
  }

  async listPods(): Promise<readonly KubePod[]> {
    return [];
  }

  async cordon(): Promise<CordonResult> {
    return { wasCordoned: false };
  }

  async uncordon(): Promise<CordonResult> {
    return { wasCordoned: false };
  }

  async drain(_name: string, _options: DrainOptions): Promise<DrainResult> {
    return { ok: true, evicted: [], wasCordoned: false, reason: `${REASON}: drain skipped` };
  }
}

export function unknownStatus(name: string): KubeNodeStatus {
  return { name, exists: null, ready: null, cordoned: false, cordonedBy: null, readyReason: REASON };
}
