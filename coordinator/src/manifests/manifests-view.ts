// What the status page, /api/v1/status and nkctl show about manifests: the apply state and each object's outcome.
import type { ManifestApplyMode } from "../../../shared/src/inventory/index.js";
import type { ObjectAction } from "./manifest-driver.js";

/**
 * disabled: no Kubernetes access; standby: another coordinator leads; manual: waiting for
 * `nkctl manifests apply`; waiting: for the revision's servers to converge; failed: retried with backoff.
 */
export type ManifestsState = "idle" | "disabled" | "standby" | "manual" | "waiting" | "applying" | "applied" | "failed";

export interface ManifestObjectView {
  readonly key: string;
  readonly source: string;
  readonly action: ObjectAction | "pending";
  readonly message: string;
  /** From the status read after the last successful apply; "unknown" until then. */
  readonly health: string;
  readonly healthDetail: string;
}

export interface ManifestsView {
  readonly mode: ManifestApplyMode;
  readonly state: ManifestsState;
  /** The adopted revision whose manifests are wanted. */
  readonly revision: string;
  /** The last revision whose apply (and prune) succeeded. */
  readonly appliedRevision: string;
  readonly error: string;
  readonly lastAttemptMs: number;
  /** When a failed apply is tried again; 0 when none is scheduled. */
  readonly nextRetryMs: number;
  /** Failed attempts in a row for this revision. */
  readonly failures: number;
  readonly objects: readonly ManifestObjectView[];
}

export const EMPTY_MANIFESTS_VIEW: ManifestsView = { mode: "after-servers", state: "idle", revision: "", appliedRevision: "", error: "", lastAttemptMs: 0, nextRetryMs: 0, failures: 0, objects: [] };
