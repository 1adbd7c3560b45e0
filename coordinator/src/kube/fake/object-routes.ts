// HTTP routing of the fake apiserver's generic resources: discovery, get, list, create, apply, merge patch, delete.
import { parse as parseYaml } from "yaml";
import { isPlainObject, type Json } from "./field-paths.js";
import { parseLabelSelector } from "./label-selector.js";
import { statusReply, type ObjectStore, type Reply } from "./object-store.js";

export const APPLY_PATCH = "application/apply-patch+yaml";
const MERGE_PATCH = "application/merge-patch+json";

function body(text: string, contentType: string): Json | null {
  try {
    const value = (contentType.startsWith(APPLY_PATCH) ? parseYaml(text) : JSON.parse(text)) as unknown;
    return isPlainObject(value) ? value : null;
  } catch {
    return null;
  }
}

/** Answers a request under /api or /apis, or null when the path is not a generic resource path. */
export function routeObjects(store: ObjectStore, method: string, url: URL, text: string, contentType: string): Reply | null {
  const parts = url.pathname.split("/").filter((p) => p !== "").map(decodeURIComponent);
  const root = parts[0];
  if (root !== "api" && root !== "apis") return null;
  const group = root === "api" ? "" : (parts[1] ?? "");
  const version = root === "api" ? parts[1] : parts[2];
  const rest = parts.slice(root === "api" ? 2 : 3);
  if (version === undefined || rest.length === 0) {
    if (method !== "GET") return statusReply(405, "MethodNotAllowed", `${method} is not allowed on ${url.pathname}`);
    const doc = store.resources.discovery(parts);
    return doc ? [200, doc] : statusReply(404, "NotFound", "the server could not find the requested resource");
  }
  // /namespaces/<ns>/<plural>[/<name>] for namespaced resources; /namespaces/<name> is a Namespace itself.
  const scoped = rest[0] === "namespaces" && rest.length >= 3;
  const namespace = scoped ? rest[1]! : null;
  const [plural, name, sub] = scoped ? rest.slice(2) : rest;
  const type = store.resources.byPlural(group, version, plural!);
  if (!type || sub !== undefined) return statusReply(404, "NotFound", "the server could not find the requested resource");
  if (type.namespaced !== (namespace !== null) && name !== undefined) return statusReply(404, "NotFound", "the server could not find the requested resource");
  const q = url.searchParams;
  const dryRun = q.get("dryRun") === "All";
  if (q.has("dryRun") && !dryRun) return statusReply(400, "BadRequest", `invalid dry run option: ${q.get("dryRun")}; the only valid value is All`);
  const manager = q.get("fieldManager") ?? "";

  if (name === undefined) {
    if (method === "GET") {
      let matches: (labels: Record<string, string> | undefined) => boolean;
      try {
        matches = parseLabelSelector(q.get("labelSelector") ?? "");
      } catch (err) {
        return statusReply(400, "BadRequest", `unable to parse requirement: ${(err as Error).message}`);
      }
      const items = store.list(type, namespace, matches);
      const custom = type.crd !== undefined;
      return [200, { kind: `${type.kind}List`, apiVersion: group === "" ? version : `${group}/${version}`, metadata: { resourceVersion: "1" }, items: custom ? items : items.map(({ apiVersion: _a, kind: _k, ...rest }) => rest) }];
    }
    if (method === "POST") {
      const obj = body(text, contentType);
      if (!obj) return statusReply(400, "BadRequest", "the request body is not a JSON object");
      return store.create(type, namespace, obj, { manager: manager || "unknown", dryRun });
    }
    return statusReply(405, "MethodNotAllowed", `${method} is not allowed on a collection`);
  }
  if (method === "GET") {
    const obj = store.get(type, namespace, name);
    return obj ? [200, obj] : statusReply(404, "NotFound", `${type.plural}${group ? `.${group}` : ""} "${name}" not found`, { name, group, kind: type.plural });
  }
  if (method === "DELETE") return store.delete(type, namespace, name, dryRun);
  if (method === "PATCH") {
    const obj = body(text, contentType);
    if (!obj) return statusReply(400, "BadRequest", "the patch is not an object");
    if (contentType.startsWith(APPLY_PATCH)) {
      if (manager === "") return statusReply(400, "BadRequest", "PATCH requests with apply content type require a fieldManager");
      const force = q.get("force");
      return store.apply(type, namespace, name, obj, { manager, dryRun, force: force === "true" });
    }
    if (q.has("force")) return statusReply(400, "BadRequest", "force may only be specified with an apply patch");
    if (contentType.startsWith(MERGE_PATCH)) return store.mergePatch(type, namespace, name, obj, { manager: manager || "unknown", dryRun });
    return statusReply(415, "UnsupportedMediaType", `the fake serves apply and merge patches on ${type.plural}, not ${contentType}`);
  }
  return statusReply(405, "MethodNotAllowed", `${method} is not allowed on ${url.pathname}`);
}
