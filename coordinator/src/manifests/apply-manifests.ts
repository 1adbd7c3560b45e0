// One apply of a revision: ApplySet parent first (superset scope), members in order, then prune, then the parent's final scope.
import {
  applySetId, definedKind, isCrd, orderForApply, parentObject, parentRef, parseGroupKind, planPrune, refKey, scopeFromAnnotations, scopeOf, unionScope, withPartOf,
  APPLYSET_ID, APPLYSET_PART_OF, APPLYSET_TOOLING, PARENT_NAMESPACE, type LiveMember, type ManifestObject, type ObjectRef, type SetScope,
} from "../../../shared/src/manifests/index.js";
import { errorMessage } from "../../../shared/src/errors/index.js";
import { kubeErrorMessage, statusCode } from "../kube/kube-errors.js";
import type { DrainClock } from "../kube/drain-clock.js";
import type { ApplyReport, ManifestRequest, ObjectOutcome } from "./manifest-driver.js";
import type { KubeObjects, Obj } from "./kube-objects.js";

export interface ApplyTuning {
  /** How long a custom resource waits for its CRD (in the same push) to become Established. */
  readonly establishTimeoutMs: number;
  readonly establishPollMs: number;
}

export const defaultApplyTuning: ApplyTuning = { establishTimeoutMs: 60_000, establishPollMs: 500 };

export interface ApplyDeps {
  readonly kube: KubeObjects;
  readonly clock: DrainClock;
  readonly tuning: ApplyTuning;
}

/** An object with the namespace the server's scope gives it (the default namespace for namespaced custom kinds). */
export interface Resolved {
  readonly object: ManifestObject;
  readonly ref: ObjectRef;
  readonly apiVersion: string;
  readonly body: Readonly<Record<string, unknown>>;
}

export function sourceOf(o: ManifestObject): string {
  return `${o.file}:${o.line}`;
}

/** Fills in the default namespace of custom kinds the server says are namespaced; null: the kind is not served. */
export async function resolveObject(kube: KubeObjects, o: ManifestObject, defaultNamespace: string): Promise<Resolved | null> {
  const kind = await kube.resolve(o.apiVersion, o.kind);
  if (!kind) return null;
  if (!kind.namespaced || o.namespace !== null) return { object: o, ref: { ...o, namespace: kind.namespaced ? o.namespace : null }, apiVersion: o.apiVersion, body: o.body };
  const metadata = { ...(o.body["metadata"] as Record<string, unknown>), namespace: defaultNamespace };
  return { object: o, ref: { ...o, namespace: defaultNamespace }, apiVersion: o.apiVersion, body: { ...o.body, metadata } };
}

/** Refuses a parent another tool manages, or one whose id label does not match its name (KEP-3659). */
export function checkParent(parent: Obj | null, cluster: string): string | null {
  if (!parent) return null;
  const ref = parentRef(cluster);
  const tooling = parent.metadata?.annotations?.[APPLYSET_TOOLING];
  if (tooling !== undefined && !tooling.startsWith("nk/")) return `ApplySet parent Secret ${ref.namespace}/${ref.name} is managed by ${tooling}, not nk; nk will not apply or prune through it`;
  const id = parent.metadata?.labels?.[APPLYSET_ID];
  if (id !== undefined && id !== applySetId(ref)) return `ApplySet parent Secret ${ref.namespace}/${ref.name} has id ${id}, expected ${applySetId(ref)}`;
  return null;
}

function conflictMessage(err: unknown): string {
  return kubeErrorMessage(err).replace(/\n.*/s, "");
}

class ApplyRun {
  private readonly outcomes: ObjectOutcome[] = [];
  private readonly id: string;

  constructor(
    private readonly deps: ApplyDeps,
    private readonly request: ManifestRequest,
  ) {
    this.id = applySetId(parentRef(request.cluster));
  }

  async run(): Promise<ApplyReport> {
    const { kube } = this.deps;
    const { cluster, revision, settings } = this.request;
    const parentKey = parentRef(cluster);
    const parent = await kube.read("v1", parentKey);
    const refused = checkParent(parent, cluster);
    if (refused) return { revision, ok: false, objects: [], error: refused };
    const previous = scopeFromAnnotations(parent?.metadata?.annotations);
    // Before any member is written, the parent covers old and new kinds and namespaces, so a crash mid-way leaks nothing.
    const planned = scopeOf(this.request.objects.map((o) => (o.namespace === null ? { ...o, namespace: settings.defaultNamespace } : o)));
    const superset = unionScope(previous, planned);
    await kube.apply(parentObject(cluster, superset), { force: false, dryRun: false });

    const applied: Resolved[] = [];
    for (const object of orderForApply(this.request.objects)) {
      if (this.request.signal?.aborted) break;
      const resolved = await this.applyOne(object);
      if (resolved) applied.push(resolved);
    }
    const failed = this.outcomes.some((o) => o.action === "conflict" || o.action === "failed" || o.action === "skipped");
    if (failed || this.request.signal?.aborted) {
      // A partial apply never prunes: an object that failed could otherwise look removed from git.
      return { revision, ok: false, objects: this.outcomes, error: `${this.outcomes.filter((o) => o.action !== "created" && o.action !== "configured" && o.action !== "unchanged").length} object(s) not applied; nothing pruned` };
    }
    // The parent keeps the superset scope when the revision was superseded meanwhile: the newer one prunes from it.
    const stale = await this.superseded();
    if (stale !== null) return { revision, ok: false, objects: this.outcomes, ...stale };
    const pruneOk = await this.prune(applied.map((r) => r.ref), superset);
    const final = scopeOf([...applied.map((r) => r.ref), ...this.outcomes.filter((o) => o.action === "kept").map((o) => o.ref)]);
    if (pruneOk) await kube.apply(parentObject(cluster, final), { force: false, dryRun: false });
    return { revision, ok: pruneOk, objects: this.outcomes, ...(pruneOk ? {} : { error: "prune failed; see the objects" }) };
  }

  /** Why nothing may be pruned now (the revision was superseded, or that cannot be confirmed), or null. */
  private async superseded(): Promise<Pick<ApplyReport, "error" | "superseded"> | null> {
    try {
      const reason = (await this.request.superseded?.()) ?? null;
      return reason === null ? null : { superseded: true, error: `${reason}; applied, nothing pruned` };
    } catch (err) {
      return { error: `cannot confirm that ${this.request.revision.slice(0, 12)} is still the revision to apply (${errorMessage(err)}); applied, nothing pruned` };
    }
  }

  private note(outcome: ObjectOutcome): void {
    this.outcomes.push(outcome);
  }

  private async applyOne(object: ManifestObject): Promise<Resolved | null> {
    const { kube } = this.deps;
    const source = sourceOf(object);
    try {
      await this.awaitDefinition(object);
      const resolved = await resolveObject(kube, object, this.request.settings.defaultNamespace);
      if (!resolved) {
        this.note({ key: refKey(object), ref: object, source, action: "skipped", message: `the server does not serve ${object.apiVersion} ${object.kind} (is its CustomResourceDefinition installed and Established?)` });
        return null;
      }
      const before = await kube.read(resolved.apiVersion, resolved.ref);
      const after = await kube.apply(withPartOf(resolved.body, this.id), { force: this.request.settings.forceConflicts, dryRun: false });
      const action = before === null ? "created" : before.metadata?.resourceVersion === after.metadata?.resourceVersion ? "unchanged" : "configured";
      this.note({ key: refKey(resolved.ref), ref: resolved.ref, source, action });
      return resolved;
    } catch (err) {
      const conflict = statusCode(err) === 409;
      this.note({ key: refKey(object), ref: object, source, action: conflict ? "conflict" : "failed", message: conflict ? `${conflictMessage(err)} (not forced: set manifests.force_conflicts to take the fields over)` : kubeErrorMessage(err) });
      return null;
    }
  }

  /** A custom resource whose CRD is in this revision waits until the CRD is Established (bounded). */
  private async awaitDefinition(object: ManifestObject): Promise<void> {
    const crd = this.request.objects.find((o) => isCrd(o) && definedKind(o.body)?.kind === object.kind && definedKind(o.body)?.group === object.group);
    if (!crd) return;
    const deadline = this.deps.clock.now() + this.deps.tuning.establishTimeoutMs;
    for (;;) {
      const live = await this.deps.kube.read(crd.apiVersion, crd);
      const conditions = ((live?.["status"] as { conditions?: { type?: string; status?: string }[] } | undefined)?.conditions) ?? [];
      if (conditions.some((c) => c.type === "Established" && c.status === "True")) return;
      if (this.deps.clock.now() >= deadline || this.request.signal?.aborted) return;
      await this.deps.clock.sleep(this.deps.tuning.establishPollMs, this.request.signal);
    }
  }

  /** Lists members through the scope's kinds and namespaces (label-selected), deletes those git dropped. */
  private async prune(desired: readonly ObjectRef[], scope: SetScope): Promise<boolean> {
    const live = await listMembers(this.deps.kube, scope, this.id);
    const plan = planPrune(desired, live.members, this.request.settings);
    let ok = true;
    for (const m of plan.kept) this.note({ key: refKey(m.ref), ref: m.ref, action: "kept", message: "protected by manifests.protect" });
    for (const m of plan.delete) {
      try {
        await this.deps.kube.delete(m.apiVersion, m.ref);
        this.note({ key: refKey(m.ref), ref: m.ref, action: "pruned" });
      } catch (err) {
        ok = false;
        this.note({ key: refKey(m.ref), ref: m.ref, action: "failed", message: `prune: ${kubeErrorMessage(err)}` });
      }
    }
    return ok;
  }
}

export interface Member extends LiveMember {
  readonly apiVersion: string;
  readonly ref: ObjectRef;
}

/** Every object labelled part-of this set, in the kinds and namespaces the parent recorded. */
export async function listMembers(kube: KubeObjects, scope: SetScope, id: string): Promise<{ members: Member[] }> {
  const members: Member[] = [];
  const selector = `${APPLYSET_PART_OF}=${id}`;
  for (const gk of scope.groupKinds) {
    const { group, kind } = parseGroupKind(gk);
    const apiVersion = await kube.preferredApiVersion(group, kind);
    const resolved = apiVersion ? await kube.resolve(apiVersion, kind) : null;
    if (!apiVersion || !resolved) continue; // The kind is gone (its CRD was deleted), and with it its objects.
    const namespaces: (string | null)[] = resolved.namespaced ? [PARENT_NAMESPACE, ...scope.namespaces] : [null];
    for (const ns of namespaces) {
      for (const item of await kube.list(apiVersion, kind, ns, selector)) {
        const ref: ObjectRef = { group, kind, namespace: resolved.namespaced ? (item.metadata?.namespace ?? ns) : null, name: item.metadata?.name ?? "" };
        members.push({ ...ref, ref, uid: item.metadata?.uid ?? "", apiVersion });
      }
    }
  }
  return { members };
}

export async function applyManifests(deps: ApplyDeps, request: ManifestRequest): Promise<ApplyReport> {
  try {
    return await new ApplyRun(deps, request).run();
  } catch (err) {
    return { revision: request.revision, ok: false, objects: [], error: `Kubernetes API: ${kubeErrorMessage(err)}` };
  }
}
