// Generic object calls through @kubernetes/client-node: resolve a kind by discovery, read, server-side apply, list, delete.
import { ApisApi, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from "@kubernetes/client-node";
import { ObjectSerializer } from "@kubernetes/client-node/dist/serializer.js";
import { builtinKind, FIELD_MANAGER, type ObjectRef } from "../../../shared/src/manifests/index.js";
import { statusCode } from "../kube/kube-errors.js";

export interface ResolvedKind {
  readonly apiVersion: string;
  readonly namespaced: boolean;
}

export type Obj = KubernetesObject & Record<string, unknown>;

/** client-node types a body by "<Version><Kind>"; unknown kinds pass through as written. */
function serializationType(apiVersion: string, kind: string): string {
  const version = apiVersion.includes("/") ? apiVersion.split("/")[1]! : apiVersion;
  return `${version.charAt(0).toUpperCase()}${version.slice(1)}${kind}`;
}

/** Exposes client-node's discovery (cached per API version, asked again for a kind it has not seen). */
class DiscoveringObjectApi extends KubernetesObjectApi {
  kindResource(apiVersion: string, kind: string): ReturnType<KubernetesObjectApi["resource"]> {
    return this.resource(apiVersion, kind);
  }
}

export class KubeObjects {
  private readonly api: DiscoveringObjectApi;
  private readonly apis: ApisApi;

  constructor(config: KubeConfig) {
    this.api = config.makeApiClient(DiscoveringObjectApi);
    this.apis = config.makeApiClient(ApisApi);
  }

  /** Scope and API version of a kind the server serves now; null when it does not (yet): no CRD, or not Established. */
  async resolve(apiVersion: string, kind: string): Promise<ResolvedKind | null> {
    try {
      const resource = await this.api.kindResource(apiVersion, kind);
      return resource ? { apiVersion, namespaced: resource.namespaced } : null;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw err;
    }
  }

  /** The preferred version of a group the server serves (for members of kinds git no longer names). */
  async preferredApiVersion(group: string, kind: string): Promise<string | null> {
    const builtin = builtinKind(group, kind);
    if (builtin) return group === "" ? builtin.versions[0]! : `${group}/${builtin.versions[0]!}`;
    const groups = await this.apis.getAPIVersions();
    return groups.groups.find((g) => g.name === group)?.preferredVersion?.groupVersion ?? null;
  }

  private spec(apiVersion: string, ref: ObjectRef): KubernetesObject {
    return { apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace !== null ? { namespace: ref.namespace } : {}) } };
  }

  async read(apiVersion: string, ref: ObjectRef): Promise<Obj | null> {
    try {
      return (await this.api.read(this.spec(apiVersion, ref) as KubernetesObject & { metadata: { name: string } })) as Obj;
    } catch (err) {
      if (statusCode(err) === 404) return null;
      throw err;
    }
  }

  /**
   * PATCH application/apply-patch+yaml with fieldManager=nk. The body goes through client-node's typed
   * serializer, which writes only fields it models under their wire names; deserializing first keeps
   * fields like a CRD schema's x-kubernetes-* that a raw object would lose on the way.
   */
  async apply(body: Readonly<Record<string, unknown>>, options: { force: boolean; dryRun: boolean }): Promise<Obj> {
    const type = serializationType(String(body["apiVersion"]), String(body["kind"]));
    const typed = ObjectSerializer.deserialize(structuredClone(body), type) as KubernetesObject;
    return (await this.api.patch(typed, undefined, options.dryRun ? "All" : undefined, FIELD_MANAGER, options.force ? true : undefined, PatchStrategy.ServerSideApply)) as Obj;
  }

  async list(apiVersion: string, kind: string, namespace: string | null, labelSelector: string): Promise<Obj[]> {
    const list = await this.api.list(apiVersion, kind, namespace ?? undefined, undefined, undefined, undefined, undefined, labelSelector);
    return list.items as Obj[];
  }

  /** Deletes with background propagation (dependents go after); false when it was already gone. */
  async delete(apiVersion: string, ref: ObjectRef): Promise<boolean> {
    try {
      await this.api.delete(this.spec(apiVersion, ref), undefined, undefined, undefined, undefined, "Background");
      return true;
    } catch (err) {
      if (statusCode(err) === 404) return false;
      throw err;
    }
  }
}
