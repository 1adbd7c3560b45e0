// What the coordinator asks of Kubernetes for manifests/: apply and prune a revision, diff it (dry run), report status.
import type { ManifestSettings } from "../../../shared/src/inventory/index.js";
import type { ManifestObject, ObjectRef } from "../../../shared/src/manifests/index.js";

export interface ManifestRequest {
  readonly cluster: string;
  readonly revision: string;
  readonly objects: readonly ManifestObject[];
  readonly settings: ManifestSettings;
  readonly signal?: AbortSignal;
  /**
   * Asked by apply after the members are applied and before anything is pruned: why this revision is no longer the
   * one to apply (another was adopted meanwhile), or null. A superseded revision prunes nothing.
   */
  readonly superseded?: () => Promise<string | null>;
}

/** created/configured/unchanged: applied; pruned/kept: a member removed from git; the rest failed or waited. */
export type ObjectAction = "created" | "configured" | "unchanged" | "pruned" | "kept" | "conflict" | "failed" | "skipped";

export interface ObjectOutcome {
  readonly key: string;
  readonly ref: ObjectRef;
  /** Where it is defined in git (none for pruned members). */
  readonly source?: string;
  readonly action: ObjectAction;
  readonly message?: string;
}

export interface ApplyReport {
  readonly revision: string;
  readonly ok: boolean;
  /** In apply order, then pruned members in deletion order. */
  readonly objects: readonly ObjectOutcome[];
  /** Why the run failed as a whole (parent owned by another tool, API unreachable), if it did. */
  readonly error?: string;
  /** Applied but not pruned: the request's `superseded` named a reason (in `error`) before the prune. */
  readonly superseded?: boolean;
}

export type DiffAction = "create" | "change" | "unchanged" | "prune" | "keep" | "conflict" | "error";

export interface DiffEntry {
  readonly key: string;
  readonly action: DiffAction;
  /** Changed fields (".spec.replicas") for a change; the reason for conflict and error. */
  readonly fields: readonly string[];
  readonly message?: string;
}

export type Health = "healthy" | "progressing" | "degraded" | "missing" | "unknown";

export interface ObjectStatus {
  readonly key: string;
  readonly source: string;
  readonly exists: boolean;
  /** A dry-run apply would change nothing. */
  readonly inSync: boolean;
  readonly health: Health;
  readonly detail: string;
}

export interface ManifestDriver {
  readonly enabled: boolean;
  apply(request: ManifestRequest): Promise<ApplyReport>;
  diff(request: ManifestRequest): Promise<readonly DiffEntry[]>;
  status(request: ManifestRequest): Promise<readonly ObjectStatus[]>;
}
