// The fake apiserver's objects with server-side apply semantics: field managers, conflicts, force, dry run, deletes.
import { ApiResources, crdStatus, isCrdSpecComplete, type ResourceType } from "./api-resources.js";
import { deepEqual, deleteAt, dotted, fieldsV1, isPlainObject, leafPaths, pathKey, setAt, valueAt, keyPath, type Json } from "./field-paths.js";
import { simulatedStatus } from "./simulated-status.js";

interface Manager {
  operation: "Apply" | "Update";
  apiVersion: string;
  paths: Set<string>;
  time: string;
}

interface Stored {
  type: ResourceType;
  obj: Json;
  managers: Map<string, Manager>;
}

export type Reply = readonly [code: number, body: Json];

export interface WriteOptions {
  readonly manager: string;
  readonly dryRun: boolean;
  readonly force?: boolean;
}

export function statusReply(code: number, reason: string, message: string, details?: Json): Reply {
  return [code, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code, ...(details ? { details } : {}) }];
}

const INITIAL_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export class ObjectStore {
  readonly resources = new ApiResources();
  private readonly objects = new Map<string, Stored>();
  /** CRD name → reads left before it is Established (the apiextensions controller's delay, counted, not timed). */
  private readonly establishing = new Map<string, number>();
  /** Status a test pinned (e.g. a Deployment that never becomes available), by object key. */
  private readonly pinnedStatus = new Map<string, Json>();
  private resourceVersion = 100;
  private nextUid = 1;

  constructor(private readonly establishAfterReads = 1) {
    for (const name of INITIAL_NAMESPACES) this.put(this.resources.byKind("", "Namespace")!, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, "kube-apiserver", "Update");
  }

  private key(type: ResourceType, namespace: string | null, name: string): string {
    return `${type.group}/${type.plural}/${type.namespaced ? namespace : ""}/${name}`;
  }

  get(type: ResourceType, namespace: string | null, name: string): Json | undefined {
    const stored = this.objects.get(this.key(type, namespace, name));
    if (stored && type.kind === "CustomResourceDefinition") this.noteCrdRead(stored);
    return stored ? this.render(stored) : undefined;
  }

  pinStatus(type: ResourceType, namespace: string | null, name: string, status: Json): void {
    const key = this.key(type, namespace, name);
    this.pinnedStatus.set(key, status);
    const stored = this.objects.get(key);
    if (stored) stored.obj["status"] = structuredClone(status);
  }

  list(type: ResourceType, namespace: string | null, matches: (labels: Record<string, string> | undefined) => boolean): Json[] {
    return [...this.objects.values()]
      .filter((s) => s.type === type || (s.type.group === type.group && s.type.plural === type.plural))
      .filter((s) => namespace === null || (s.obj["metadata"] as Json)["namespace"] === namespace)
      .filter((s) => matches((s.obj["metadata"] as Json)["labels"] as Record<string, string> | undefined))
      .map((s) => this.render(s));
  }

  /** Server-side apply (PATCH application/apply-patch+yaml). */
  apply(type: ResourceType, namespace: string | null, name: string, config: Json, options: WriteOptions): Reply {
    const bad = this.checkIdentity(type, namespace, name, config);
    if (bad) return bad;
    const stored = this.objects.get(this.key(type, namespace, name));
    const paths = new Set(leafPaths(config).map(pathKey));
    if (!stored) {
      const missing = this.missingNamespace(type, namespace);
      if (missing) return missing;
      const obj = this.fresh(type, namespace, name, config);
      if (options.dryRun) return [201, this.render({ type, obj, managers: new Map([[options.manager, this.manager("Apply", config, paths)]]) })];
      return [201, this.render(this.put(type, obj, options.manager, "Apply", paths))];
    }
    const conflicts: { manager: string; key: string }[] = [];
    for (const [other, m] of stored.managers) {
      if (other === options.manager) continue;
      for (const key of paths) if (m.paths.has(key) && !deepEqual(valueAt(stored.obj, keyPath(key)), valueAt(config, keyPath(key)))) conflicts.push({ manager: other, key });
    }
    if (conflicts.length > 0 && options.force !== true) {
      const causes = conflicts.map((c) => ({ reason: "FieldManagerConflict", message: `conflict with "${c.manager}" using ${stored.managers.get(c.manager)!.apiVersion}`, field: dotted(c.key) }));
      const summary = conflicts.map((c) => `- conflict with "${c.manager}" using ${stored.managers.get(c.manager)!.apiVersion}: ${dotted(c.key)}`).join("\n");
      return statusReply(409, "Conflict", `Apply failed with ${conflicts.length} conflict${conflicts.length === 1 ? "" : "s"}: ${conflicts.map((c) => `conflict with "${c.manager}": ${dotted(c.key)}`).join(", ")}\n${summary}`, { causes });
    }
    const next: Stored = { type, obj: structuredClone(stored.obj), managers: new Map([...stored.managers].map(([k, m]) => [k, { ...m, paths: new Set(m.paths) }])) };
    for (const c of conflicts) next.managers.get(c.manager)!.paths.delete(c.key);
    const previous = next.managers.get(options.manager)?.paths ?? new Set<string>();
    for (const key of previous) {
      const ownedElsewhere = [...next.managers].some(([n, m]) => n !== options.manager && m.paths.has(key));
      if (!paths.has(key) && !ownedElsewhere) deleteAt(next.obj, keyPath(key));
    }
    for (const key of paths) {
      const value = valueAt(config, keyPath(key));
      // An empty map merges into what is there (it owns the map, not its entries), as structured merge does.
      if (isPlainObject(value) && Object.keys(value).length === 0 && isPlainObject(valueAt(next.obj, keyPath(key)))) continue;
      setAt(next.obj, keyPath(key), value);
    }
    next.managers.set(options.manager, this.manager("Apply", config, paths));
    return this.commit(stored, next, options.dryRun);
  }

  /** POST: create with an Update entry for the manager (kubectl create, a controller, a person). */
  create(type: ResourceType, namespace: string | null, obj: Json, options: WriteOptions): Reply {
    const name = String((obj["metadata"] as Json | undefined)?.["name"] ?? "");
    const bad = this.checkIdentity(type, namespace, name, obj);
    if (bad) return bad;
    if (this.objects.has(this.key(type, namespace, name))) return statusReply(409, "AlreadyExists", `${type.plural}${type.group ? `.${type.group}` : ""} "${name}" already exists`);
    const missing = this.missingNamespace(type, namespace);
    if (missing) return missing;
    const fresh = this.fresh(type, namespace, name, obj);
    if (options.dryRun) return [201, fresh];
    return [201, this.render(this.put(type, fresh, options.manager, "Update", new Set(leafPaths(obj).map(pathKey))))];
  }

  /** PATCH application/merge-patch+json: an Update that takes ownership of what it sets, with no conflicts. */
  mergePatch(type: ResourceType, namespace: string | null, name: string, patch: Json, options: WriteOptions): Reply {
    const stored = this.objects.get(this.key(type, namespace, name));
    if (!stored) return notFound(type, name);
    const next: Stored = { type, obj: structuredClone(stored.obj), managers: new Map([...stored.managers].map(([k, m]) => [k, { ...m, paths: new Set(m.paths) }])) };
    const touched = leafPaths(patch).map(pathKey);
    for (const key of touched) {
      const value = valueAt(patch, keyPath(key));
      if (value === null) deleteAt(next.obj, keyPath(key));
      else setAt(next.obj, keyPath(key), value);
      for (const [n, m] of next.managers) if (n !== options.manager) m.paths.delete(key);
    }
    const own = next.managers.get(options.manager)?.paths ?? new Set<string>();
    for (const key of touched) if (valueAt(patch, keyPath(key)) !== null) own.add(key);
    next.managers.set(options.manager, { operation: "Update", apiVersion: String(stored.obj["apiVersion"]), paths: own, time: new Date().toISOString() });
    return this.commit(stored, next, options.dryRun);
  }

  delete(type: ResourceType, namespace: string | null, name: string, dryRun: boolean): Reply {
    const key = this.key(type, namespace, name);
    const stored = this.objects.get(key);
    if (!stored) return notFound(type, name);
    const body = this.render(stored);
    if (dryRun) return [200, body];
    this.objects.delete(key);
    // The namespace controller and the CRD finalizer remove what lived inside.
    if (type.group === "" && type.kind === "Namespace") for (const [k, s] of this.objects) if ((s.obj["metadata"] as Json)["namespace"] === name) this.objects.delete(k);
    if (type.kind === "CustomResourceDefinition") {
      const served = this.resources.unregister(name);
      this.establishing.delete(name);
      if (served) for (const [k, s] of this.objects) if (s.type.group === served.group && s.type.plural === served.plural) this.objects.delete(k);
    }
    return [200, body];
  }

  private checkIdentity(type: ResourceType, namespace: string | null, name: string, obj: Json): Reply | null {
    const meta = isPlainObject(obj["metadata"]) ? obj["metadata"] : {};
    if (obj["kind"] !== undefined && obj["kind"] !== type.kind) return statusReply(400, "BadRequest", `the kind in the body (${String(obj["kind"])}) does not match the resource ${type.plural}`);
    if (meta["name"] !== undefined && meta["name"] !== name) return statusReply(400, "BadRequest", `the name of the object (${String(meta["name"])}) does not match the name on the URL (${name})`);
    if (type.namespaced && meta["namespace"] !== undefined && meta["namespace"] !== namespace) return statusReply(400, "BadRequest", "the namespace of the provided object does not match the namespace sent on the request");
    return null;
  }

  private missingNamespace(type: ResourceType, namespace: string | null): Reply | null {
    if (!type.namespaced || namespace === null) return null;
    const ns = this.resources.byKind("", "Namespace")!;
    return this.objects.has(this.key(ns, null, namespace)) ? null : statusReply(404, "NotFound", `namespaces "${namespace}" not found`, { name: namespace, kind: "namespaces" });
  }

  private fresh(type: ResourceType, namespace: string | null, name: string, config: Json): Json {
    const obj = structuredClone(config);
    delete obj["status"];
    const meta = (isPlainObject(obj["metadata"]) ? obj["metadata"] : {}) as Json;
    obj["metadata"] = { ...meta, name, ...(type.namespaced ? { namespace } : {}), uid: `uid-${this.nextUid++}`, creationTimestamp: new Date().toISOString(), generation: 1 };
    return obj;
  }

  private manager(operation: "Apply" | "Update", config: Json, paths: Set<string>): Manager {
    return { operation, apiVersion: String(config["apiVersion"] ?? "v1"), paths, time: new Date().toISOString() };
  }

  private put(type: ResourceType, obj: Json, manager: string, operation: "Apply" | "Update", paths?: Set<string>): Stored {
    const stored: Stored = { type, obj, managers: new Map([[manager, this.manager(operation, obj, paths ?? new Set(leafPaths(obj).map(pathKey)))]]) };
    (obj["metadata"] as Json)["resourceVersion"] = String(++this.resourceVersion);
    this.afterWrite(stored);
    this.objects.set(this.key(type, (obj["metadata"] as Json)["namespace"] as string | null, String((obj["metadata"] as Json)["name"])), stored);
    return stored;
  }

  /** Stores `next` unless nothing changed (an apply that changes nothing keeps the resourceVersion, as the API does). */
  private commit(before: Stored, next: Stored, dryRun: boolean): Reply {
    for (const [n, m] of next.managers) if (m.paths.size === 0) next.managers.delete(n);
    const changed = !deepEqual(strip(before.obj), strip(next.obj));
    const owners = !deepEqual([...before.managers].map(([n, m]) => [n, [...m.paths].sort()]), [...next.managers].map(([n, m]) => [n, [...m.paths].sort()]));
    if (!changed && !owners) return [200, this.render(before)];
    const meta = next.obj["metadata"] as Json;
    if (!deepEqual(withoutMetaAndStatus(before.obj), withoutMetaAndStatus(next.obj))) meta["generation"] = Number(meta["generation"] ?? 1) + 1;
    if (dryRun) return [200, this.render(next)];
    meta["resourceVersion"] = String(++this.resourceVersion);
    this.afterWrite(next);
    this.objects.set(this.key(next.type, meta["namespace"] as string | null, String(meta["name"])), next);
    return [200, this.render(next)];
  }

  /** What controllers would write: a CRD starts Installing; workloads get their simulated status. */
  private afterWrite(stored: Stored): void {
    const meta = stored.obj["metadata"] as Json;
    const name = String(meta["name"]);
    if (stored.type.kind === "CustomResourceDefinition" && stored.type.group === "apiextensions.k8s.io") {
      const served = this.resources.byKind(String((stored.obj["spec"] as Json | undefined)?.["group"]), String(((stored.obj["spec"] as Json | undefined)?.["names"] as Json | undefined)?.["kind"]));
      if (served?.crd === name) this.resources.register(name, stored.obj);
      else if (isCrdSpecComplete(stored.obj)) {
        this.establishing.set(name, this.establishAfterReads);
        stored.obj["status"] = crdStatus(false);
        if (this.establishAfterReads <= 0) this.establish(stored);
      }
      return;
    }
    const pinned = this.pinnedStatus.get(this.key(stored.type, (meta["namespace"] as string | undefined) ?? null, name));
    const status = pinned ?? simulatedStatus(stored.type.group, stored.type.kind, stored.obj);
    if (status) stored.obj["status"] = structuredClone(status);
  }

  private noteCrdRead(stored: Stored): void {
    const name = String((stored.obj["metadata"] as Json)["name"]);
    const left = this.establishing.get(name);
    if (left === undefined) return;
    if (left > 0) this.establishing.set(name, left - 1);
    else this.establish(stored);
  }

  private establish(stored: Stored): void {
    const name = String((stored.obj["metadata"] as Json)["name"]);
    this.establishing.delete(name);
    stored.obj["status"] = crdStatus(true);
    this.resources.register(name, stored.obj);
  }

  private render(stored: Stored): Json {
    const obj = structuredClone(stored.obj);
    const managedFields = [...stored.managers].map(([manager, m]) => ({ manager, operation: m.operation, apiVersion: m.apiVersion, time: m.time, fieldsType: "FieldsV1", fieldsV1: fieldsV1(m.paths) }));
    obj["metadata"] = { ...(obj["metadata"] as Json), managedFields };
    if (obj["apiVersion"] === undefined) obj["apiVersion"] = stored.type.group === "" ? stored.type.versions[0] : `${stored.type.group}/${stored.type.versions[0]}`;
    if (obj["kind"] === undefined) obj["kind"] = stored.type.kind;
    return obj;
  }
}

function notFound(type: ResourceType, name: string): Reply {
  return statusReply(404, "NotFound", `${type.plural}${type.group ? `.${type.group}` : ""} "${name}" not found`, { name, group: type.group, kind: type.plural });
}

function strip(obj: Json): Json {
  const meta = { ...(obj["metadata"] as Json) };
  delete meta["resourceVersion"];
  delete meta["generation"];
  return { ...obj, metadata: meta };
}

function withoutMetaAndStatus(obj: Json): Json {
  const rest = { ...obj };
  delete rest["metadata"];
  delete rest["status"];
  return rest;
}
