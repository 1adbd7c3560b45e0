// The kinds of the built-in Kubernetes API nk knows without asking a server: group, resource name, scope.

export interface BuiltinKind {
  readonly group: string;
  readonly kind: string;
  /** The resource (plural) name in URLs, e.g. configmaps. */
  readonly plural: string;
  readonly namespaced: boolean;
  /** Served versions, newest first. */
  readonly versions: readonly string[];
}

type Row = readonly [group: string, kind: string, plural: string, namespaced: boolean, versions?: readonly string[]];

const ROWS: readonly Row[] = [
  ["", "Namespace", "namespaces", false],
  ["", "Node", "nodes", false],
  ["", "PersistentVolume", "persistentvolumes", false],
  ["", "ComponentStatus", "componentstatuses", false],
  ["", "ConfigMap", "configmaps", true],
  ["", "Secret", "secrets", true],
  ["", "Service", "services", true],
  ["", "ServiceAccount", "serviceaccounts", true],
  ["", "Pod", "pods", true],
  ["", "PodTemplate", "podtemplates", true],
  ["", "PersistentVolumeClaim", "persistentvolumeclaims", true],
  ["", "Endpoints", "endpoints", true],
  ["", "LimitRange", "limitranges", true],
  ["", "ResourceQuota", "resourcequotas", true],
  ["", "ReplicationController", "replicationcontrollers", true],
  ["", "Event", "events", true],
  ["apps", "Deployment", "deployments", true],
  ["apps", "StatefulSet", "statefulsets", true],
  ["apps", "DaemonSet", "daemonsets", true],
  ["apps", "ReplicaSet", "replicasets", true],
  ["apps", "ControllerRevision", "controllerrevisions", true],
  ["batch", "Job", "jobs", true],
  ["batch", "CronJob", "cronjobs", true],
  ["autoscaling", "HorizontalPodAutoscaler", "horizontalpodautoscalers", true, ["v2", "v1"]],
  ["policy", "PodDisruptionBudget", "poddisruptionbudgets", true],
  ["networking.k8s.io", "Ingress", "ingresses", true],
  ["networking.k8s.io", "IngressClass", "ingressclasses", false],
  ["networking.k8s.io", "NetworkPolicy", "networkpolicies", true],
  ["rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false],
  ["rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", false],
  ["rbac.authorization.k8s.io", "Role", "roles", true],
  ["rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true],
  ["apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", false],
  ["apiregistration.k8s.io", "APIService", "apiservices", false],
  ["admissionregistration.k8s.io", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", false],
  ["admissionregistration.k8s.io", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", false],
  ["admissionregistration.k8s.io", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", false],
  ["admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", false],
  ["storage.k8s.io", "StorageClass", "storageclasses", false],
  ["storage.k8s.io", "CSIDriver", "csidrivers", false],
  ["storage.k8s.io", "CSINode", "csinodes", false],
  ["storage.k8s.io", "VolumeAttachment", "volumeattachments", false],
  ["storage.k8s.io", "CSIStorageCapacity", "csistoragecapacities", true],
  ["scheduling.k8s.io", "PriorityClass", "priorityclasses", false],
  ["node.k8s.io", "RuntimeClass", "runtimeclasses", false],
  ["coordination.k8s.io", "Lease", "leases", true],
  ["discovery.k8s.io", "EndpointSlice", "endpointslices", true],
  ["events.k8s.io", "Event", "events", true],
  ["certificates.k8s.io", "CertificateSigningRequest", "certificatesigningrequests", false],
  ["flowcontrol.apiserver.k8s.io", "FlowSchema", "flowschemas", false],
  ["flowcontrol.apiserver.k8s.io", "PriorityLevelConfiguration", "prioritylevelconfigurations", false],
];

export const BUILTIN_KINDS: readonly BuiltinKind[] = ROWS.map(([group, kind, plural, namespaced, versions]) => ({ group, kind, plural, namespaced, versions: versions ?? ["v1"] }));

const BY_GROUP_KIND = new Map(BUILTIN_KINDS.map((k) => [`${k.kind}.${k.group}`, k]));
const BUILTIN_GROUPS = new Set(BUILTIN_KINDS.map((k) => k.group));

/** "apps/v1" → { group: "apps", version: "v1" }; "v1" → the core group "". */
export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function builtinKind(group: string, kind: string): BuiltinKind | undefined {
  return BY_GROUP_KIND.get(`${kind}.${group}`);
}

/** Groups whose kinds are all known here: a kind of such a group that is not listed does not exist. */
export function isBuiltinGroup(group: string): boolean {
  return BUILTIN_GROUPS.has(group);
}
