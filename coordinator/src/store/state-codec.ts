// The in-memory shape of state.json and its strict decoding: a damaged file is reported, never guessed at.
import { NkError } from "../../../shared/src/errors/index.js";
import type { CanaryRecord, FleetLockSlot, LeaseRecord, LeaseRequest, NodeRecord, RolloutRecord } from "./store.js";
import { ShapeError, arr, bool, int, map, obj, oneOf, optional, str, strMap, type Check } from "./validate.js";

export const STATE_FORMAT = "nk-coordinator-state";
export const STATE_VERSION = 1;

export interface StoreState {
  /** `issued`: highest token ever handed out; `lastGranted`: highest token ever granted. */
  fencing: { issued: number; lastGranted: number };
  nodes: Map<string, NodeRecord>;
  leases: Map<string, LeaseRecord>;
  queue: LeaseRequest[];
  rollout: RolloutRecord;
}

export function emptyState(): StoreState {
  return { fencing: { issued: 0, lastGranted: 0 }, nodes: new Map(), leases: new Map(), queue: [], rollout: {} };
}

export const checkRevisionRef = obj({ revision: str, sha256: str });
const systemInfo = obj({
  kernel: str,
  os: str,
  uptimeSeconds: int,
  cpuModel: str,
  cpuCores: int,
  memoryTotalBytes: int,
  memoryUsedBytes: int,
  diskTotalBytes: int,
  diskUsedBytes: int,
  hostname: str,
});
const health = obj({
  healthy: bool,
  checks: arr(obj({ name: str, ok: bool, message: str, observedAtMs: int })),
  observedAtMs: int,
});
export const checkHello = obj({
  agentVersion: str,
  bootId: str,
  bootedSystem: str,
  currentSystem: str,
  systemInfo: optional(systemInfo),
  phase: str,
  heldFencingToken: int,
  atMs: int,
});
export const checkReport = obj({
  revision: str,
  sha256: str,
  phase: str,
  health,
  error: str,
  systemInfo: optional(systemInfo),
  agentVersion: str,
  bootId: str,
  bootedSystem: str,
  currentSystem: str,
  holdsApiVip: optional(bool),
  k3sRunning: optional(str),
  k3sNext: optional(str),
  bootedBoot: optional(obj({ kernel: str, initrd: str, kernelModules: str })),
  atMs: int,
});
const nodeRecord: Check<NodeRecord> = obj({
  name: str,
  tokenHash: str,
  enrolledAtMs: int,
  lastHello: optional(checkHello),
  lastReport: optional(checkReport),
  desired: optional(checkRevisionRef),
  applied: optional(checkRevisionRef),
});
const leaseKind = oneOf("reboot", "service-restart");
export const checkLeaseRecord: Check<LeaseRecord> = obj({
  node: str,
  kind: leaseKind,
  state: oneOf("granted", "draining", "drained", "rebooting", "verifying"),
  fencingToken: int,
  revision: str,
  requestedAtMs: int,
  grantedAtMs: int,
  phase: str,
  phaseDeadlineMs: int,
  renewedAtMs: int,
  cordonedByUs: bool,
  nodeWasCordoned: bool,
  role: optional(str),
  bootIdAtGrant: optional(str),
  etcdSnapshot: optional(str),
});
export const checkLeaseRequest: Check<LeaseRequest> = obj({
  node: str,
  kind: leaseKind,
  revision: str,
  sha256: str,
  reason: str,
  role: optional(str),
  k3sNext: optional(str),
  requestedAtMs: int,
});
export const checkCanary: Check<CanaryRecord> = obj({ revision: str, nodes: arr(str), confirmed: arr(str), confirmedAtMs: optional(int), waitingSinceMs: optional(int), approvedAtMs: optional(int) });

export const checkFleetLockSlot: Check<FleetLockSlot> = obj({ group: str, id: str, acquiredAtMs: int, by: str });

/** The rollout record as both backends store it. */
export const checkRolloutRecord: Check<RolloutRecord> = obj({
  revision: optional(str),
  paused: optional(obj({ reason: str, atMs: int })),
  halted: optional(obj({ reason: str, revision: str, atMs: int })),
  adopting: optional(obj({ revision: str, atMs: int, id: str })),
  lastReleaseAtMs: optional(int),
  canary: optional(checkCanary),
  fleetLocks: optional(arr(checkFleetLockSlot)),
});
const stateFile = obj({
  format: str,
  version: int,
  fencing: obj({ issued: int, lastGranted: int }),
  nodes: map(nodeRecord),
  leases: map(checkLeaseRecord),
  queue: arr(checkLeaseRequest),
  rollout: checkRolloutRecord,
});
export const checkEventInput = obj({ kind: str, node: optional(str), revision: optional(str), message: str, fields: optional(strMap) });

/** Cross-record rules a well-formed file still has to satisfy. */
function checkInvariants(s: StoreState): void {
  if (s.fencing.lastGranted > s.fencing.issued) throw new ShapeError("fencing", "lastGranted is above issued");
  for (const [key, node] of s.nodes) if (node.name !== key) throw new ShapeError(`nodes.${key}.name`, `does not match its key`);
  for (const [key, lease] of s.leases) {
    if (lease.node !== key) throw new ShapeError(`leases.${key}.node`, "does not match its key");
    if (lease.fencingToken > s.fencing.lastGranted) throw new ShapeError(`leases.${key}.fencingToken`, "is above fencing.lastGranted");
  }
  const queued = new Set<string>();
  s.queue.forEach((r, i) => {
    if (queued.has(r.node)) throw new ShapeError(`queue[${i}].node`, `${r.node} is queued twice`);
    queued.add(r.node);
  });
}

export function decodeState(text: string, file: string): StoreState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new NkError("STATE_CORRUPT", `${file} is not valid JSON (${(err as Error).message}); restore it from a backup, it is never overwritten while unreadable`, { cause: err });
  }
  try {
    const f = stateFile(raw, "");
    if (f.format !== STATE_FORMAT) throw new ShapeError("format", `expected "${STATE_FORMAT}", found ${JSON.stringify(f.format)}`);
    if (f.version !== STATE_VERSION) throw new ShapeError("version", `this coordinator reads version ${STATE_VERSION}, the file has ${f.version}`);
    const state: StoreState = { fencing: f.fencing, nodes: f.nodes, leases: f.leases, queue: f.queue, rollout: f.rollout };
    checkInvariants(state);
    return state;
  } catch (err) {
    if (err instanceof ShapeError) throw new NkError("STATE_CORRUPT", `${file}: ${err.message}`, { cause: err });
    throw err;
  }
}

export function encodeState(s: StoreState): string {
  return `${JSON.stringify({
    format: STATE_FORMAT,
    version: STATE_VERSION,
    fencing: s.fencing,
    nodes: Object.fromEntries(s.nodes),
    leases: Object.fromEntries(s.leases),
    queue: s.queue,
    rollout: s.rollout,
  })}\n`;
}
