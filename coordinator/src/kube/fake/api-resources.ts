// The fake's API surface: built-in resources plus those of Established CRDs, and the discovery documents for them.
import { BUILTIN_KINDS } from "../../../../shared/src/manifests/index.js";
import { isPlainObject, type Json } from "./field-paths.js";

export interface ResourceType {
  readonly group: string;
  readonly versions: readonly string[];
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  /** Name of the CustomResourceDefinition that serves it. */
  readonly crd?: string;
}

export class ApiResources {
  private readonly custom = new Map<string, ResourceType>();

  all(): ResourceType[] {
    return [...BUILTIN_KINDS, ...this.custom.values()];
  }

  /** The resource served at /api(s)/<group>/<version>/<plural>, if any. */
  byPlural(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((r) => r.group === group && r.plural === plural && r.versions.includes(version));
  }

  byKind(group: string, kind: string): ResourceType | undefined {
    return this.all().find((r) => r.group === group && r.kind === kind);
  }

  /** Called once a CRD is Established: its served versions become reachable. */
  register(crdName: string, crd: Json): void {
    const spec = crd["spec"] as { group: string; scope?: string; names: { kind: string; plural: string }; versions?: { name: string; served?: boolean }[] };
    const versions = (spec.versions ?? []).filter((v) => v.served !== false).map((v) => v.name);
    this.custom.set(crdName, { group: spec.group, versions, kind: spec.names.kind, plural: spec.names.plural, namespaced: spec.scope !== "Cluster", crd: crdName });
  }

  unregister(crdName: string): ResourceType | undefined {
    const type = this.custom.get(crdName);
    this.custom.delete(crdName);
    return type;
  }

  /** GET /api (core versions), /apis (group list), /api/v1 and /apis/<g>/<v> (resource lists); null: 404. */
  discovery(path: readonly string[]): Json | null {
    const [root, a, b] = path;
    if (root === "api" && a === undefined) return { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [] };
    if (root === "apis" && a === undefined) {
      const groups = new Map<string, Set<string>>();
      for (const r of this.all()) if (r.group !== "") for (const v of r.versions) (groups.get(r.group) ?? groups.set(r.group, new Set()).get(r.group)!).add(v);
      return {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: [...groups].map(([name, versions]) => ({ name, versions: [...versions].map((v) => ({ groupVersion: `${name}/${v}`, version: v })), preferredVersion: { groupVersion: `${name}/${[...versions][0]}`, version: [...versions][0] } })),
      };
    }
    const group = root === "api" ? "" : a!;
    const version = root === "api" ? a! : b;
    if (version === undefined || (root === "api" && b !== undefined)) return null;
    const resources = this.all().filter((r) => r.group === group && r.versions.includes(version));
    if (resources.length === 0) return null;
    const verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: group === "" ? version : `${group}/${version}`,
      resources: resources.map((r) => ({ name: r.plural, singularName: r.kind.toLowerCase(), namespaced: r.namespaced, kind: r.kind, verbs })),
    };
  }
}

/** The CRD's conditions as the apiextensions controller sets them. */
export function crdStatus(established: boolean): Json {
  const now = new Date().toISOString();
  return {
    conditions: [
      { type: "NamesAccepted", status: "True", reason: "NoConflicts", message: "no conflicts found", lastTransitionTime: now },
      established
        ? { type: "Established", status: "True", reason: "InitialNamesAccepted", message: "the initial names have been accepted", lastTransitionTime: now }
        : { type: "Established", status: "False", reason: "Installing", message: "the initial names have been accepted", lastTransitionTime: now },
    ],
  };
}

export function isCrdSpecComplete(crd: Json): boolean {
  const spec = crd["spec"];
  return isPlainObject(spec) && typeof spec["group"] === "string" && isPlainObject(spec["names"]) && typeof spec["names"]["plural"] === "string" && typeof spec["names"]["kind"] === "string";
}
