// Maps Kubernetes Node and Pod objects to what nk decides on: readiness, cordon, which pods a drain evicts.
import type { V1Node, V1Pod } from "@kubernetes/client-node";
import type { KubeNodeStatus } from "./kube-driver.js";

/** Set while nk holds a node cordoned; an operator's own cordon never carries it. */
export const CORDONED_BY = "nk.dev/cordoned-by";

export function nodeStatusOf(node: V1Node): KubeNodeStatus {
  const name = node.metadata?.name ?? "";
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  const cordoned = node.spec?.unschedulable === true;
  const cordonedBy = cordoned ? (node.metadata?.annotations?.[CORDONED_BY] ?? null) : null;
  if (ready === undefined) return { name, exists: true, ready: false, cordoned, cordonedBy, readyReason: "no Ready condition reported" };
  const detail = [ready.reason, ready.message].filter((s) => s !== undefined && s !== "").join(": ");
  return {
    name,
    exists: true,
    ready: ready.status === "True",
    cordoned,
    cordonedBy,
    readyReason: detail === "" ? `Ready=${ready.status}` : detail,
  };
}

export function missingNode(name: string): KubeNodeStatus {
  return { name, exists: false, ready: false, cordoned: false, cordonedBy: null, readyReason: "node not registered in Kubernetes" };
}

export function podKey(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ""}/${pod.metadata?.name ?? ""}`;
}

/** Static pods: the kubelet runs them from files; the API object is only a mirror and cannot be evicted. */
export function isMirrorPod(pod: V1Pod): boolean {
  return pod.metadata?.annotations?.["kubernetes.io/config.mirror"] !== undefined;
}

export function isDaemonSetPod(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.controller === true && o.kind === "DaemonSet");
}

function isFinished(pod: V1Pod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

function hasController(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.controller === true);
}

export interface DrainPlan {
  readonly evict: readonly V1Pod[];
  readonly skipped: readonly string[];
  /** Running pods without a controller: evicting them loses them, so they need `force`. */
  readonly unmanaged: readonly string[];
}

/**
 * Like `kubectl drain --ignore-daemonsets --delete-emptydir-data`: DaemonSet and mirror pods stay,
 * pods with emptyDir volumes are evicted (their scratch data goes with them), finished pods are
 * evicted, and running pods without a controller are refused unless forced.
 */
export function planDrain(pods: readonly V1Pod[], force: boolean): DrainPlan {
  const evict: V1Pod[] = [];
  const skipped: string[] = [];
  const unmanaged: string[] = [];
  for (const pod of pods) {
    if (isMirrorPod(pod) || isDaemonSetPod(pod)) skipped.push(podKey(pod));
    else if (!force && !hasController(pod) && !isFinished(pod)) unmanaged.push(podKey(pod));
    else evict.push(pod);
  }
  return { evict, skipped, unmanaged };
}
