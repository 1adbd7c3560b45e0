// Read-only views of a revision against the cluster: a server-side dry-run diff, and per-object status and health.
import { applySetId, definedKind, isCrd, orderForApply, parentRef, planPrune, refKey, scopeFromAnnotations, scopeOf, unionScope, withPartOf } from "../../../shared/src/manifests/index.js";
import { kubeErrorMessage, statusCode } from "../kube/kube-errors.js";
import { listMembers, resolveObject, sourceOf } from "./apply-manifests.js";
import { changedFields } from "./changed-fields.js";
import type { KubeObjects } from "./kube-objects.js";
import type { DiffEntry, ManifestRequest, ObjectStatus } from "./manifest-driver.js";
import { objectHealth } from "./object-health.js";

/** What an apply would do, object by object, then what it would prune; nothing is written (dryRun=All). */
export async function diffManifests(kube: KubeObjects, request: ManifestRequest): Promise<DiffEntry[]> {
  const id = applySetId(parentRef(request.cluster));
  const entries: DiffEntry[] = [];
  const desired = [];
  for (const object of orderForApply(request.objects)) {
    const resolved = await resolveObject(kube, object, request.settings.defaultNamespace);
    if (!resolved) {
      const pending = request.objects.some((o) => isCrd(o) && definedKind(o.body)?.kind === object.kind && definedKind(o.body)?.group === object.group);
      entries.push(pending ? { key: refKey(object), action: "create", fields: [], message: "after its CustomResourceDefinition is Established" } : { key: refKey(object), action: "error", fields: [], message: `the server does not serve ${object.apiVersion} ${object.kind}` });
      continue;
    }
    desired.push(resolved.ref);
    try {
      const live = await kube.read(resolved.apiVersion, resolved.ref);
      const next = await kube.apply(withPartOf(resolved.body, id), { force: request.settings.forceConflicts, dryRun: true });
      if (!live) entries.push({ key: refKey(resolved.ref), action: "create", fields: [] });
      else {
        const fields = changedFields(live, next);
        entries.push({ key: refKey(resolved.ref), action: fields.length === 0 ? "unchanged" : "change", fields });
      }
    } catch (err) {
      entries.push({ key: refKey(resolved.ref), action: statusCode(err) === 409 ? "conflict" : "error", fields: [], message: kubeErrorMessage(err).replace(/\n.*/s, "") });
    }
  }
  const parent = await kube.read("v1", parentRef(request.cluster));
  const scope = unionScope(scopeFromAnnotations(parent?.metadata?.annotations), scopeOf(desired));
  const plan = planPrune(desired, (await listMembers(kube, scope, id)).members, request.settings);
  for (const m of plan.delete) entries.push({ key: refKey(m.ref), action: "prune", fields: [] });
  for (const m of plan.kept) entries.push({ key: refKey(m.ref), action: "keep", fields: [], message: "protected by manifests.protect" });
  return entries;
}

/** Each object of the revision: does it exist, would an apply change it, and is it healthy. */
export async function manifestStatus(kube: KubeObjects, request: ManifestRequest): Promise<ObjectStatus[]> {
  const id = applySetId(parentRef(request.cluster));
  const out: ObjectStatus[] = [];
  for (const object of orderForApply(request.objects)) {
    const source = sourceOf(object);
    const resolved = await resolveObject(kube, object, request.settings.defaultNamespace);
    if (!resolved) {
      out.push({ key: refKey(object), source, exists: false, inSync: false, health: "missing", detail: `the server does not serve ${object.apiVersion} ${object.kind}` });
      continue;
    }
    const live = await kube.read(resolved.apiVersion, resolved.ref);
    if (!live) {
      out.push({ key: refKey(resolved.ref), source, exists: false, inSync: false, health: "missing", detail: "not in the cluster" });
      continue;
    }
    let inSync = false;
    let drift = "";
    try {
      const fields = changedFields(live, await kube.apply(withPartOf(resolved.body, id), { force: false, dryRun: true }));
      inSync = fields.length === 0;
      drift = inSync ? "" : `; differs from git at ${fields.join(", ")}`;
    } catch (err) {
      drift = `; ${kubeErrorMessage(err).replace(/\n.*/s, "")}`;
    }
    const { health, detail } = objectHealth(object.group, object.kind, live as never);
    out.push({ key: refKey(resolved.ref), source, exists: true, inSync, health, detail: `${detail}${drift}` });
  }
  return out;
}
