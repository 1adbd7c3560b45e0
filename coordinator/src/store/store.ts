// The coordinator's storage contract: domain records and the Store interface every backend (file, etcd) implements.

/** A bundle identity: the inventory revision (git commit) and the bundle's sha256. */
export interface RevisionRef {
  revision: string;
  sha256: string;
}

export interface SystemInfoRecord {
  kernel: string;
  os: string;
  uptimeSeconds: number;
  cpuModel: string;
  cpuCores: number;
  memoryTotalBytes: number;
  memoryUsedBytes: number;
  diskTotalBytes: number;
  diskUsedBytes: number;
  hostname: string;
}

export interface CheckResultRecord {
  name: string;
  ok: boolean;
  message: string;
  observedAtMs: number;
}

export interface HealthRecord {
  healthy: boolean;
  checks: CheckResultRecord[];
  observedAtMs: number;
}

/** What the agent said in its last Hello (best-effort telemetry). */
export interface NodeHello {
  agentVersion: string;
  bootId: string;
  bootedSystem: string;
  currentSystem: string;
  systemInfo?: SystemInfoRecord;
  phase: string;
  heldFencingToken: number;
  atMs: number;
}

/** The agent's last Report (best-effort telemetry). */
export interface NodeReport {
  revision: string;
  sha256: string;
  phase: string;
  health: HealthRecord;
  error: string;
  systemInfo?: SystemInfoRecord;
  agentVersion: string;
  bootId: string;
  bootedSystem: string;
  currentSystem: string;
  /** The agent saw the API VIP on one of the node's interfaces (absent: it did not, or carries none). */
  holdsApiVip?: boolean;
  /** The k3s version the running system runs and the one its built system would run ("1.31.4+k3s1"), when known. */
  k3sRunning?: string;
  k3sNext?: string;
  /** The booted system's kernel, initrd and kernel modules ("" where none; absent from an agent that does not say). */
  bootedBoot?: { kernel: string; initrd: string; kernelModules: string };
  atMs: number;
}

export interface NodeRecord {
  name: string;
  /** `sha256:<hex>` of the node's 256-bit token; the token itself is never stored. */
  tokenHash: string;
  enrolledAtMs: number;
  lastHello?: NodeHello;
  lastReport?: NodeReport;
  desired?: RevisionRef;
  applied?: RevisionRef;
}

export interface HaltOptions {
  /**
   * Halt only while `revision` is still the rollout's: a node's failure of a revision a newer push replaced must not
   * halt the newer one. Checked inside the store's atomic update, since an adoption may land between a caller's read
   * and its write.
   */
  readonly onlyIfCurrent?: boolean;
}

export type LeaseKind = "reboot" | "service-restart";
export type LeaseStateName = "granted" | "draining" | "drained" | "rebooting" | "verifying";

export interface LeaseRecord {
  node: string;
  kind: LeaseKind;
  state: LeaseStateName;
  /** Unique and increasing across all grants, never reused, even across restarts. */
  fencingToken: number;
  revision: string;
  requestedAtMs: number;
  grantedAtMs: number;
  /** The coordinator's deadline phase (e.g. "drain", "reboot-return", "verify"). */
  phase: string;
  phaseDeadlineMs: number;
  renewedAtMs: number;
  /** We cordoned the node, so we uncordon it; never uncordon a node an operator had cordoned. */
  cordonedByUs: boolean;
  nodeWasCordoned: boolean;
  role?: string;
  /** Boot id seen at grant time: "back" after a reboot requires a different one. */
  bootIdAtGrant?: string;
  /** The etcd snapshot the holder saved before its disruption (k3s etcd-snapshot save --name). */
  etcdSnapshot?: string;
}

/** A lease to grant; without `fencingToken` the store allocates one in the same atomic step. */
export type LeaseGrant = Omit<LeaseRecord, "fencingToken"> & { fencingToken?: number };

/**
 * Fields a holder's later calls may change; identity (node, token, grant time) is fixed, and the kind may
 * only be raised to "reboot" (a node holding a service-restart slot whose next bundle needs a reboot).
 */
export type LeasePatch = Partial<
  Pick<LeaseRecord, "kind" | "state" | "revision" | "phase" | "phaseDeadlineMs" | "renewedAtMs" | "cordonedByUs" | "nodeWasCordoned" | "role" | "bootIdAtGrant" | "etcdSnapshot">
>;

export type GrantResult =
  | { ok: true; lease: LeaseRecord }
  /** The holder set differs from what the caller decided on: re-read and decide again. */
  | { ok: false; reason: "holders-changed"; holders: string[] }
  | { ok: false; reason: "already-held"; lease: LeaseRecord }
  /** A caller-supplied token was never issued or is not above the last granted one. */
  | { ok: false; reason: "stale-token" }
  /** The rollout is no longer open on the revision the caller decided for (moved, being adopted, paused, halted). */
  | { ok: false; reason: "rollout-changed"; rollout: RolloutRecord };

/** What a grant was decided on; the store commits it only while both still hold. */
export interface GrantExpectation {
  readonly holders: readonly string[];
  /** The rollout's revision the decision read (undefined: none adopted yet). */
  readonly revision: string | undefined;
}

/** A write of desired bundles for one revision: it lands only while that is the rollout's revision. */
export interface DesiredGuard {
  readonly revision: string;
}

/**
 * A change of the rollout record that a grant or a release makes in its own atomic step, decided on the record read
 * in that step and the lease granted or released (a retried compare-and-set decides again).
 */
export type LeaseRolloutEdit = (rollout: RolloutRecord, lease: Readonly<LeaseRecord>) => void;

export type FencedResult = { ok: false; reason: "fenced"; current: LeaseRecord } | { ok: false; reason: "not-held" };
export type LeaseResult = { ok: true; lease: LeaseRecord } | FencedResult;

export interface LeaseRequest {
  node: string;
  kind: LeaseKind;
  revision: string;
  sha256: string;
  reason: string;
  role?: string;
  /** The k3s version the node's new system would run, when its agent said: agents go after the servers. */
  k3sNext?: string;
  requestedAtMs: number;
}

export type LeaseRequestInput = Omit<LeaseRequest, "requestedAtMs"> & { requestedAtMs?: number };

export interface EnqueueResult {
  /** 1-based position in the FIFO queue. */
  position: number;
  /** False when the node was already queued: it keeps its place, the request fields are updated. */
  added: boolean;
  request: LeaseRequest;
}

/** One adoption's mark; `id` tells it from a later mark of the same revision, so only its own adoption clears it. */
export interface AdoptingMark {
  revision: string;
  atMs: number;
  id: string;
}

export interface RevisionMove {
  liftHalt?: boolean;
  /**
   * Marks the record `adopting` with this id until markAdopted: the adoption's desired bundles are written after the
   * move. The adoption picks the id, so it can tell its own mark from another coordinator's.
   */
  adopting?: string;
  /** Move only from this revision (undefined: a record without one). */
  expected?: { revision: string | undefined };
}

export interface RolloutRecord {
  revision?: string;
  paused?: { reason: string; atMs: number };
  halted?: { reason: string; revision: string; atMs: number };
  /**
   * Set in the update that moves `revision`, cleared once that revision's desired bundles are all written: the two
   * are separate writes, and between them a queued request for the old bundle is not stale yet. No lease is granted
   * while it stands (a failed adoption leaves it, on the safe side, until an attempt that writes them all).
   */
  adopting?: AdoptingMark;
  /** Time of the last lease release, for the settle time between grants. */
  lastReleaseAtMs?: number;
  /** The canary stage of `canary.revision`; a record of an older revision means the new one starts over. */
  canary?: CanaryRecord;
  /**
   * Reboot slots of FleetLock hosts (zincati), in the order taken. They live here, beside the pause and the halt,
   * so both backends keep them durably with the rollout record's own compare-and-set.
   */
  fleetLocks?: FleetLockSlot[];
}

/** A FleetLock host's reboot slot: taken by POST /v1/pre-reboot, held until its /v1/steady-state. */
export interface FleetLockSlot {
  group: string;
  /** The host's client id (zincati: the machine's app-specific id). */
  id: string;
  acquiredAtMs: number;
  /** The API token's name that took it (never the token). */
  by: string;
}

export type FleetLockTake =
  | { ok: true; slot: FleetLockSlot; already: boolean }
  /** The slots held differ from what the caller decided on: re-read and decide again. */
  | { ok: false; reason: "slots-changed"; slots: FleetLockSlot[] };

export interface CanaryRecord {
  revision: string;
  /** The canaries: listed in the inventory, or picked as the first to be granted. */
  nodes: string[];
  /** Canaries released healthy on this revision. */
  confirmed: string[];
  /** When the last canary confirmed: the soak starts here. */
  confirmedAtMs?: number;
  /** When the rollout started waiting for an operator's approval (recorded once, for its event). */
  waitingSinceMs?: number;
  approvedAtMs?: number;
}

export type CanaryMark = Partial<Pick<CanaryRecord, "waitingSinceMs" | "approvedAtMs">>;

export interface SecretInfo {
  name: string;
  updatedAtMs: number;
  sizeBytes: number;
}

export interface EventInput {
  kind: string;
  node?: string;
  revision?: string;
  message: string;
  fields?: Record<string, string>;
}

export interface EventRecord extends EventInput {
  seq: number;
  timeMs: number;
}

export interface ReadEventsOptions {
  /** Only events with a greater seq (default 0: all kept events). */
  afterSeq?: number;
  /** Keep only the last `tail` of the matching events. */
  tail?: number;
}

export type EventListener = (event: EventRecord) => void;

/**
 * Durability: every mutating method resolves only once its change is durable (file: fsynced;
 * etcd: committed), except the telemetry fields `lastHello` and `lastReport`, which are
 * best-effort and may lag by the backend's telemetry flush interval. Reads return durable state.
 * Lease and queue operations are compare-and-set: each maps onto one etcd transaction.
 * Expected outcomes (fenced, holders changed) are returned; misuse and I/O failures throw NkError.
 */
export interface Store {
  // Node registry and enrollment.
  /** Creates or re-enrolls a node; returns its new token once (only the hash is kept). */
  enrollNode(name: string): Promise<string>;
  /** Constant-time check of a presented token; false for unknown nodes. */
  verifyNodeToken(name: string, token: string): Promise<boolean>;
  getNode(name: string): Promise<NodeRecord | undefined>;
  listNodes(): Promise<NodeRecord[]>;
  /** Forgets a node and its queue entry; a held lease stays until released. */
  removeNode(name: string): Promise<boolean>;
  /** Telemetry is best-effort; `applied`, when given and changed, is durable. Throws NODE_NOT_ENROLLED. */
  recordHello(name: string, hello: NodeHello, applied?: RevisionRef): Promise<void>;
  recordReport(name: string, report: NodeReport, applied?: RevisionRef): Promise<void>;
  /**
   * Sets desired bundles (in chunks on etcd, each one durable step); returns names that are not enrolled (skipped).
   * With `guard`, each chunk is written only while the rollout's revision is `guard.revision`, checked in the same
   * atomic step, and ROLLOUT_MOVED is thrown once it is not: a slower coordinator's bundles of an older revision
   * cannot land after a newer adoption wrote its own.
   */
  setDesired(entries: ReadonlyArray<{ node: string } & RevisionRef>, guard?: DesiredGuard): Promise<{ unknown: string[] }>;

  // Leases.
  nextFencingToken(): Promise<number>;
  /**
   * Grants iff the current holder set equals `expected.holders` and the rollout is open (not adopting, paused or
   * halted) on `expected.revision`, read in the same atomic step; also removes the node's queue entry and applies
   * `edit` to the rollout record.
   */
  grantLease(lease: LeaseGrant, expected: GrantExpectation, edit?: LeaseRolloutEdit): Promise<GrantResult>;
  updateLease(node: string, fencingToken: number, patch: LeasePatch): Promise<LeaseResult>;
  /** Releases the lease and records `rollout.lastReleaseAtMs`, applying `edit` to the rollout record in the same atomic step. */
  releaseLease(node: string, fencingToken: number, edit?: LeaseRolloutEdit): Promise<LeaseResult>;
  /** Operator override: releases whatever lease the node holds. */
  forceReleaseLease(node: string): Promise<{ ok: true; lease: LeaseRecord } | { ok: false; reason: "not-held" }>;
  getLease(node: string): Promise<LeaseRecord | undefined>;
  /** In grant order (fencing token ascending). */
  listLeases(): Promise<LeaseRecord[]>;
  enqueue(request: LeaseRequestInput): Promise<EnqueueResult>;
  /** Removes the node's queue entry; returns it, or undefined when it was not queued. */
  dequeue(node: string): Promise<LeaseRequest | undefined>;
  listQueue(): Promise<LeaseRequest[]>;

  // Rollout.
  getRollout(): Promise<RolloutRecord>;
  /**
   * Moves the rollout to `revision` (and marks it `adopting`, if asked), in one atomic update; no change if it is there
   * already, or, with `expected`, if the record no longer names that revision (another coordinator moved it: the
   * caller reads the returned record). `liftHalt`: a halt is lifted in the same update, so a halt recorded after
   * the move stays.
   */
  setRolloutRevision(revision: string, options?: RevisionMove): Promise<RolloutRecord>;
  /** Clears `adopting` if it is still `mark` (a later mark stays): its revision's desired bundles are all written. */
  markAdopted(mark: AdoptingMark): Promise<RolloutRecord>;
  pauseRollout(reason: string): Promise<RolloutRecord>;
  resumeRollout(): Promise<RolloutRecord>;
  haltRollout(reason: string, revision: string, options?: HaltOptions): Promise<RolloutRecord>;
  clearHalt(): Promise<RolloutRecord>;
  /**
   * Sets the waiting or approval time on the canary record of `revision`, merged into the record as stored (never a
   * whole copy, which could undo a pick or a confirmation a grant or release committed meanwhile); nothing when the
   * rollout has moved on from `revision`.
   */
  markCanary(revision: string, mark: CanaryMark): Promise<RolloutRecord>;
  /**
   * Takes a FleetLock slot iff the slots held now are exactly `expected` (fleetLockKey of each), compare-and-set;
   * a slot the host holds already is answered as it is (the protocol's lock is recursive).
   */
  takeFleetLock(slot: Omit<FleetLockSlot, "acquiredAtMs">, expected: readonly string[]): Promise<FleetLockTake>;
  /** Gives a FleetLock slot back; undefined when it was not held (the protocol's unlock is idempotent). */
  releaseFleetLock(group: string, id: string): Promise<FleetLockSlot | undefined>;

  // Secrets (values never logged, never in the main state).
  setSecret(name: string, value: Buffer): Promise<void>;
  getSecret(name: string): Promise<Buffer | undefined>;
  listSecrets(): Promise<SecretInfo[]>;
  deleteSecret(name: string): Promise<boolean>;

  // Events: durable append, then delivered to listeners in seq order.
  appendEvent(input: EventInput): Promise<EventRecord>;
  readEvents(options?: ReadEventsOptions): Promise<EventRecord[]>;
  onEvent(listener: EventListener): () => void;

  /** Persists pending best-effort telemetry now. */
  flush(): Promise<void>;
  /** Flushes and releases the backend; the store is unusable afterwards. */
  close(): Promise<void>;
}
