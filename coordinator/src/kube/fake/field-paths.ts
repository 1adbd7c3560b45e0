// Field sets of server-side apply (the fake's model of managedFields): leaf paths, values at them, FieldsV1 encoding.

export type Json = Record<string, unknown>;
/** A leaf path, e.g. ["data","key"]; lists are atomic leaves (the fake does not merge lists by key). */
export type FieldPath = readonly string[];

/** Fields no manager owns: the object's identity and what the server writes itself. */
const SERVER_OWNED = new Set(["apiVersion", "kind", "status", "metadata.name", "metadata.namespace", "metadata.uid", "metadata.resourceVersion", "metadata.generation", "metadata.creationTimestamp", "metadata.managedFields", "metadata.deletionTimestamp"]);

export function isPlainObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

export function keyPath(key: string): FieldPath {
  return JSON.parse(key) as string[];
}

/** Every leaf of `config` (scalars, lists and empty maps), minus server-owned fields. */
export function leafPaths(config: Json, prefix: string[] = []): FieldPath[] {
  const out: FieldPath[] = [];
  for (const [key, value] of Object.entries(config)) {
    const path = [...prefix, key];
    if (SERVER_OWNED.has(path.join("."))) continue;
    if (isPlainObject(value) && Object.keys(value).length > 0) out.push(...leafPaths(value, path));
    else out.push(path);
  }
  return out;
}

export function valueAt(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const key of path) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[key];
  }
  return cur;
}

export function setAt(obj: Json, path: FieldPath, value: unknown): void {
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(cur[key])) cur[key] = {};
    cur = cur[key] as Json;
  }
  cur[path[path.length - 1]!] = structuredClone(value);
}

/** Removes a leaf and the maps it leaves empty. */
export function deleteAt(obj: Json, path: FieldPath): void {
  const parents: Json[] = [obj];
  let cur = obj;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(cur[key])) return;
    cur = cur[key] as Json;
    parents.push(cur);
  }
  delete cur[path[path.length - 1]!];
  for (let i = parents.length - 1; i > 0; i--) {
    if (Object.keys(parents[i]!).length > 0) break;
    delete parents[i - 1]![path[i - 1]!];
  }
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && deepEqual(a[k], b[k]));
  }
  return false;
}

/** The FieldsV1 form the API shows in managedFields: {"f:data":{"f:key":{}}}. */
export function fieldsV1(paths: Iterable<string>): Json {
  const root: Json = {};
  for (const key of paths) {
    let cur = root;
    for (const part of keyPath(key)) {
      const k = `f:${part}`;
      if (!isPlainObject(cur[k])) cur[k] = {};
      cur = cur[k] as Json;
    }
  }
  return root;
}

/** ".data.key", as the API names a conflicting field. */
export function dotted(key: string): string {
  return keyPath(key).map((p) => `.${p}`).join("");
}
