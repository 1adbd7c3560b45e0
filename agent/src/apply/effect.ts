// What the state machine asks the runner to do, and the contract the runner must keep.
import type { BundleFile } from "../../../shared/src/render/index.js";
import type { LeaseKind, NodeCheckSpec, Phase, Prebuilt } from "./agent-state.js";

/**
 * Runner contract:
 * - Effects run in list order. "Quick" effects are awaited before the next one starts; a
 *   "long" effect (see LONG_EFFECTS) is started and reports back later with exactly one event.
 *   A transition emits at most one long effect, always last, and only when no other long effect
 *   is in flight (or after `abort-pending`).
 * - `persist` writes the state returned with these effects durably (atomic write + fsync) before
 *   anything after it runs. The machine puts it first whenever the state changed, so nothing
 *   irreversible (switch, reboot, lease calls) ever runs ahead of the state that explains it.
 * - Results of an aborted long effect are dropped; events also carry sha256/systemPath/token,
 *   and the machine ignores results that do not match the state.
 * - Whenever `state.deadlineAt` is non-null the runner keeps one timer armed for it and emits
 *   `deadline-passed` when it fires; a null deadline disarms it.
 */
export type Effect =
  /** Save the new state durably. */
  | { readonly type: "persist" }
  /** Tell the coordinator (fire and forget, retried by the client). Rollback phases map to ROLLING_BACK. */
  | {
      readonly type: "report";
      readonly phase: Phase;
      readonly revision: string;
      readonly sha256: string;
      readonly error?: string;
      readonly note?: string;
    }
  /** Long. Replace `dir` with exactly these files → bundle-written | bundle-write-failed. */
  | { readonly type: "write-bundle"; readonly dir: string; readonly sha256: string; readonly files: readonly BundleFile[] }
  /**
   * Long. Build the bundle without touching the running system, then decide what activating it
   * would do: needsReboot(systemPath) and dry-activate (restart ∪ stop units)
   * → build-succeeded | build-failed.
   */
  | { readonly type: "build"; readonly bundleDir: string; readonly sha256: string; readonly prebuilt: Prebuilt | null }
  /**
   * Long. AcquireLease; resolves when granted → lease-granted | lease-denied. `fencingToken` is the
   * lease the agent already holds (after its own restart), presented so the same lease is kept.
   */
  | {
      readonly type: "request-lease";
      readonly kind: LeaseKind;
      readonly revision: string;
      readonly sha256: string;
      readonly reason: string;
      readonly fencingToken: number | null;
    }
  /**
   * Quick. Stop the detached activation of `systemPath` (its transient unit), which ran past its deadline; the
   * switch effect waiting for it was aborted just before. A failure is logged: the rollback comes next either way.
   */
  | { readonly type: "stop-activation"; readonly systemPath: string }
  /** Quick. Abort the long effect in flight (closing a queued lease request, killing a build, stopping health polling). */
  | { readonly type: "abort-pending" }
  /**
   * Quick. RenewLease with the phase the holder enters ("granted": a plain renewal); a fenced answer comes back as
   * lease-lost. `etcdSnapshot`: the snapshot just saved, which the coordinator records on the lease.
   */
  | { readonly type: "renew-lease"; readonly fencingToken: number; readonly state: RenewPhase; readonly etcdSnapshot?: string }
  /**
   * Long. `k3s etcd-snapshot save --name <name>` under the granted lease, before anything is disrupted
   * → etcd-snapshot-saved | etcd-snapshot-failed.
   */
  | { readonly type: "etcd-snapshot"; readonly name: string; readonly fencingToken: number }
  /** Quick to start; retried until the coordinator acknowledges (or says it is unknown) → lease-released. */
  | { readonly type: "release-lease"; readonly fencingToken: number; readonly success: boolean; readonly reason: string }
  /** Long. Have the node cordoned and drained (through the coordinator) → drained | drain-failed. */
  | { readonly type: "drain"; readonly fencingToken: number }
  /**
   * Long. Make `systemPath` the system profile and activate it, detached from the agent process;
   * joins an activation of the same path already in flight → activation-succeeded | activation-failed.
   */
  | { readonly type: "switch"; readonly systemPath: string; readonly sha256: string }
  /**
   * Long. A trial boot: install `systemPath`'s boot entry for one boot only, keep `fallback` (the last good system)
   * the boot default, and reboot; a kernel that never comes up is reset into `fallback`. Without a fallback (or on
   * a boot loader without one-shot entries) `systemPath` becomes the default. On success the agent process ends; the
   * next `agent-started` (new boot id) continues. If it fails before rebooting → activation-failed.
   */
  | { readonly type: "boot-and-reboot"; readonly systemPath: string; readonly sha256: string; readonly fallback: string | null }
  /** Long. Make the trial-booted `systemPath`, healthy now, the boot default → blessed | bless-failed. */
  | { readonly type: "bless"; readonly systemPath: string }
  /** Long. Like switch, to the explicit previous system path (idempotent, unlike `--rollback`). */
  | { readonly type: "rollback-switch"; readonly systemPath: string }
  /** Long. Like boot-and-reboot, to the explicit previous system path. */
  | { readonly type: "rollback-boot-and-reboot"; readonly systemPath: string }
  /**
   * Long. Poll node health (k3s active, node Ready, coordinator reachable, `checks`) until it all
   * passes or `deadlineAt` → health-passed | health-failed, tagged with `systemPath`.
   */
  | { readonly type: "run-health"; readonly systemPath: string; readonly checks: readonly NodeCheckSpec[]; readonly deadlineAt: number }
  /**
   * Quick. Remove the bundle directories (with their `result` GC roots) under the bundle root that these do not
   * name; a failure is logged, never fatal (disk space is not worth stopping an agent for).
   */
  | { readonly type: "prune-bundles"; readonly keepSha256s: readonly string[]; readonly keepSystems: readonly string[] }
  /**
   * Quick. Before the node is disrupted (drain, reboot or service restart), give up the API VIP if this node carries
   * it, so a peer takes it after one VRRP failover while this node still serves; a failure is logged, never fatal.
   */
  | { readonly type: "hand-over-vip" }
  /** Quick. The lease is back and the node healthy: take part in carrying the API VIP again (idempotent). */
  | { readonly type: "rejoin-vip" }
  /** Quick. Feed the latest desired bundle the client holds back in as desired-received (if it has one). */
  | { readonly type: "redeliver-desired" };

/** The phases a holder announces with RenewLease. */
export type RenewPhase = "granted" | "draining" | "rebooting" | "verifying";

export type EffectType = Effect["type"];
export type EffectOf<T extends EffectType> = Extract<Effect, { type: T }>;

/** Effects that report back later with one event; at most one is in flight. */
export const LONG_EFFECTS: ReadonlySet<EffectType> = new Set<EffectType>([
  "write-bundle",
  "build",
  "request-lease",
  "etcd-snapshot",
  "drain",
  "switch",
  "boot-and-reboot",
  "rollback-switch",
  "rollback-boot-and-reboot",
  "run-health",
  "bless",
]);
