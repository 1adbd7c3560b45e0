// Which fields differ between a live object and what an apply would make of it, ignoring what only the server writes.

type Json = Record<string, unknown>;

const SERVER_WRITTEN = new Set(["status", "metadata.managedFields", "metadata.resourceVersion", "metadata.generation", "metadata.creationTimestamp", "metadata.uid", "metadata.selfLink"]);

function isMap(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function leaves(obj: unknown, prefix: string[], out: Map<string, string>): void {
  if (SERVER_WRITTEN.has(prefix.join("."))) return;
  if (isMap(obj) && Object.keys(obj).length > 0) {
    for (const [k, v] of Object.entries(obj)) leaves(v, [...prefix, k], out);
    return;
  }
  out.set(prefix.map((p) => `.${p}`).join(""), JSON.stringify(obj));
}

/** ".spec.replicas"-style paths that differ (added, removed or changed); lists compare whole. */
export function changedFields(live: unknown, next: unknown): string[] {
  const a = new Map<string, string>();
  const b = new Map<string, string>();
  // Through JSON, so client-node's Date objects and undefined fields compare as their wire form.
  leaves(JSON.parse(JSON.stringify(live ?? {})) as unknown, [], a);
  leaves(JSON.parse(JSON.stringify(next ?? {})) as unknown, [], b);
  const keys = new Set([...a.keys(), ...b.keys()]);
  return [...keys].filter((k) => a.get(k) !== b.get(k)).sort();
}
