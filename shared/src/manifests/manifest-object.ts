// One Kubernetes object from manifests/: its identity (group, kind, namespace, name), where it came from, its body.

export interface ObjectRef {
  readonly group: string;
  readonly kind: string;
  /** Null for cluster-scoped objects (and for custom kinds whose scope is only known to the server). */
  readonly namespace: string | null;
  readonly name: string;
}

export interface ManifestObject extends ObjectRef {
  readonly apiVersion: string;
  /** Repo path and 1-based line of the document (or List item) the object came from. */
  readonly file: string;
  readonly line: number;
  /** The object as written, with the default namespace filled in where the kind is known to be namespaced. */
  readonly body: Readonly<Record<string, unknown>>;
}

/** "Kind" for the core group, else "Kind.group" (kubectl's group-kind notation). */
export function groupKind(ref: Pick<ObjectRef, "group" | "kind">): string {
  return ref.group === "" ? ref.kind : `${ref.kind}.${ref.group}`;
}

/** A unique, readable key: "Deployment.apps web/frontend", "Namespace web". */
export function refKey(ref: ObjectRef): string {
  return `${groupKind(ref)} ${ref.namespace === null ? "" : `${ref.namespace}/`}${ref.name}`;
}

export function sameRef(a: ObjectRef, b: ObjectRef): boolean {
  return a.group === b.group && a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}
