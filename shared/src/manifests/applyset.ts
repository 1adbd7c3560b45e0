// The Kubernetes ApplySet convention (KEP-3659, as kubectl apply --prune --applyset writes it): ids, labels, annotations.
import { createHash } from "node:crypto";
import { NK_VERSION } from "../version/index.js";
import { groupKind, type ObjectRef } from "./manifest-object.js";

/** On every member: the id of the set it belongs to. The only thing prune trusts. */
export const APPLYSET_PART_OF = "applyset.kubernetes.io/part-of";
/** On the parent: makes it an ApplySet parent. */
export const APPLYSET_ID = "applyset.kubernetes.io/id";
export const APPLYSET_TOOLING = "applyset.kubernetes.io/tooling";
export const APPLYSET_GROUP_KINDS = "applyset.kubernetes.io/contains-group-kinds";
export const APPLYSET_NAMESPACES = "applyset.kubernetes.io/additional-namespaces";

export const FIELD_MANAGER = "nk";
export const TOOLING = `nk/v${NK_VERSION}`;
/** The parent is a Secret (kubectl's default parent kind) in this namespace. */
export const PARENT_NAMESPACE = "kube-system";

/** base64url(sha256("<name>.<namespace>.<kind>.<group>")) between "applyset-" and "-v1", unpadded. */
export function applySetId(parent: ObjectRef): string {
  const hash = createHash("sha256").update([parent.name, parent.namespace ?? "", parent.kind, parent.group].join(".")).digest("base64url");
  return `applyset-${hash}-v1`;
}

/** The parent of a cluster's set: Secret kube-system/nk-<cluster>. */
export function parentRef(cluster: string): ObjectRef {
  return { group: "", kind: "Secret", namespace: PARENT_NAMESPACE, name: `nk-${cluster}` };
}

export interface SetScope {
  /** Sorted, unique "Kind.group" of every member kind. */
  readonly groupKinds: readonly string[];
  /** Sorted namespaces of members other than the parent's. */
  readonly namespaces: readonly string[];
}

export function scopeOf(members: readonly ObjectRef[]): SetScope {
  return {
    groupKinds: [...new Set(members.map(groupKind))].sort(),
    namespaces: [...new Set(members.map((m) => m.namespace).filter((n): n is string => n !== null && n !== PARENT_NAMESPACE))].sort(),
  };
}

/** Reads a scope back from a parent's annotations (absent annotations: an empty set). */
export function scopeFromAnnotations(annotations: Readonly<Record<string, string>> | undefined): SetScope {
  const list = (key: string): string[] => (annotations?.[key] ?? "").split(",").filter((s) => s !== "");
  return { groupKinds: list(APPLYSET_GROUP_KINDS), namespaces: list(APPLYSET_NAMESPACES) };
}

export function unionScope(a: SetScope, b: SetScope): SetScope {
  return { groupKinds: [...new Set([...a.groupKinds, ...b.groupKinds])].sort(), namespaces: [...new Set([...a.namespaces, ...b.namespaces])].sort() };
}

/** The parent Secret as nk applies it, recording the set's scope for the next prune. */
export function parentObject(cluster: string, scope: SetScope): Record<string, unknown> {
  const ref = parentRef(cluster);
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: ref.name,
      namespace: ref.namespace,
      labels: { [APPLYSET_ID]: applySetId(ref) },
      annotations: {
        [APPLYSET_TOOLING]: TOOLING,
        [APPLYSET_GROUP_KINDS]: scope.groupKinds.join(","),
        [APPLYSET_NAMESPACES]: scope.namespaces.join(","),
      },
    },
    type: "Opaque",
  };
}

/** A member as applied: the manifest plus the part-of label. */
export function withPartOf(body: Readonly<Record<string, unknown>>, id: string): Record<string, unknown> {
  const metadata = (body["metadata"] ?? {}) as Record<string, unknown>;
  const labels = (metadata["labels"] ?? {}) as Record<string, unknown>;
  return { ...body, metadata: { ...metadata, labels: { ...labels, [APPLYSET_PART_OF]: id } } };
}

/** Parses "Kind.group" (kubectl's notation; the first dot splits) back into a group and kind. */
export function parseGroupKind(text: string): { group: string; kind: string } {
  const dot = text.indexOf(".");
  return dot < 0 ? { group: "", kind: text } : { group: text.slice(dot + 1), kind: text.slice(0, dot) };
}
