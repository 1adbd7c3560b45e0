// Pure planning: the order objects are applied in (CRDs and Namespaces first) and which members a prune deletes, in reverse.
import type { ManifestSettings } from "../inventory/model.js";
import { builtinKind } from "./builtin-kinds.js";
import { groupKind, refKey, type ObjectRef } from "./manifest-object.js";

/**
 * Kinds others depend on come first (the order Helm installs in): definitions and namespaces, then
 * policy, identities and configuration, storage, RBAC, services, workloads, ingress and webhooks.
 * Custom resources (kinds not built in) come after every built-in kind, once their CRDs exist.
 */
const KIND_ORDER: readonly string[] = [
  "CustomResourceDefinition.apiextensions.k8s.io",
  "Namespace",
  "PriorityClass.scheduling.k8s.io",
  "NetworkPolicy.networking.k8s.io",
  "ResourceQuota",
  "LimitRange",
  "PodDisruptionBudget.policy",
  "ServiceAccount",
  "Secret",
  "ConfigMap",
  "StorageClass.storage.k8s.io",
  "CSIDriver.storage.k8s.io",
  "PersistentVolume",
  "PersistentVolumeClaim",
  "ClusterRole.rbac.authorization.k8s.io",
  "ClusterRoleBinding.rbac.authorization.k8s.io",
  "Role.rbac.authorization.k8s.io",
  "RoleBinding.rbac.authorization.k8s.io",
  "Service",
  "DaemonSet.apps",
  "Pod",
  "ReplicationController",
  "ReplicaSet.apps",
  "Deployment.apps",
  "HorizontalPodAutoscaler.autoscaling",
  "StatefulSet.apps",
  "Job.batch",
  "CronJob.batch",
  "IngressClass.networking.k8s.io",
  "Ingress.networking.k8s.io",
  "APIService.apiregistration.k8s.io",
  "MutatingWebhookConfiguration.admissionregistration.k8s.io",
  "ValidatingWebhookConfiguration.admissionregistration.k8s.io",
];
const RANK = new Map(KIND_ORDER.map((k, i) => [k, i]));

/** Position of a kind in apply order: listed kinds, then other built-in kinds, then custom resources. */
export function kindRank(ref: Pick<ObjectRef, "group" | "kind">): number {
  const listed = RANK.get(groupKind(ref));
  if (listed !== undefined) return listed;
  return builtinKind(ref.group, ref.kind) ? KIND_ORDER.length : KIND_ORDER.length + 1;
}

/** Whether the kind is a custom resource (served only once its CRD is Established). */
export function isCustomKind(ref: Pick<ObjectRef, "group" | "kind">): boolean {
  return kindRank(ref) > KIND_ORDER.length;
}

function compareRefs(a: ObjectRef, b: ObjectRef): number {
  const ka = refKey(a);
  const kb = refKey(b);
  return kindRank(a) - kindRank(b) || (ka < kb ? -1 : ka > kb ? 1 : 0);
}

/** Apply order: by kind rank, then by key, so every run (and every coordinator) applies in one order. */
export function orderForApply<T extends ObjectRef>(objects: readonly T[]): T[] {
  return [...objects].sort(compareRefs);
}

/** A live member of the set (carries the part-of label with this set's id). */
export interface LiveMember extends ObjectRef {
  readonly uid: string;
}

export interface PrunePlan<M extends LiveMember = LiveMember> {
  /** Members no longer in git, in reverse apply order (custom resources before their CRDs, namespaces last). */
  readonly delete: readonly M[];
  /** Members no longer in git that `protect` keeps. */
  readonly kept: readonly M[];
}

export function isProtected(ref: ObjectRef, settings: Pick<ManifestSettings, "protectNamespaces" | "protectKinds">): boolean {
  const gk = groupKind(ref);
  // "Kind" protects that kind in every group; "Kind.group" only in that group.
  if (settings.protectKinds.includes(gk) || settings.protectKinds.includes(ref.kind)) return true;
  if (ref.namespace !== null && settings.protectNamespaces.includes(ref.namespace)) return true;
  return ref.group === "" && ref.kind === "Namespace" && settings.protectNamespaces.includes(ref.name);
}

/**
 * Members to delete: live members that git no longer names, minus protected ones. `live` comes from
 * label-selected lists, so an object nk never applied (no part-of label) cannot appear in it.
 */
export function planPrune<M extends LiveMember>(desired: readonly ObjectRef[], live: readonly M[], settings: Pick<ManifestSettings, "protectNamespaces" | "protectKinds">): PrunePlan<M> {
  const wanted = new Set(desired.map(refKey));
  const gone = live.filter((m) => !wanted.has(refKey(m)));
  const ordered = orderForApply(gone).reverse();
  return { delete: ordered.filter((m) => !isProtected(m, settings)), kept: ordered.filter((m) => isProtected(m, settings)) };
}
