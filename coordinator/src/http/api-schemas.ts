// JSON schemas of the /api/v1 views (cluster-snapshot.ts), used by fastify to serialize responses and by the OpenAPI document.
import { DNS_LABEL_PATTERN } from "../../../shared/src/names/index.js";

// Response objects allow properties beyond the ones listed: a field added to a view is then still
// sent (fast-json-stringify drops unlisted properties otherwise) until its schema catches up.
const object = (properties: Record<string, unknown>, description?: string) =>
  ({ type: "object", required: Object.keys(properties), additionalProperties: true, properties, ...(description ? { description } : {}) }) as const;

const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const bool = { type: "boolean" } as const;
const ms = { type: "integer", description: "milliseconds since the epoch (0: never)" } as const;
const role = { type: "string", enum: ["server", "agent"] } as const;

export const ERROR_SCHEMA = object({ code: { type: "string", description: "an NkError code, e.g. NODE_UNKNOWN" }, message: str }, "what went wrong, in words");

const CHECK = object({ name: str, ok: bool, message: str });

const SYSTEM_INFO = object({
  kernel: str,
  os: str,
  uptimeSeconds: int,
  cpuModel: str,
  cpuCores: int,
  memoryTotalBytes: int,
  memoryUsedBytes: int,
  diskTotalBytes: int,
  diskUsedBytes: int,
});

export const NODE_SCHEMA = object(
  {
    name: str,
    role,
    address: str,
    desiredRevision: str,
    desiredSha256: str,
    appliedRevision: str,
    appliedSha256: str,
    phase: { type: "string", description: "the agent's apply phase as last reported (waiting-lease, confirmed, ...)" },
    reportedSha256: { type: "string", description: "the bundle that report is about: for rolled-back, the one rolled back from" },
    healthy: { type: ["boolean", "null"], description: "null until the agent has reported health" },
    checks: { type: "array", items: CHECK },
    lastError: str,
    lastReportMs: ms,
    agentVersion: str,
    connected: bool,
    enrolled: bool,
    k8sReady: { type: ["boolean", "null"], description: "null without Kubernetes access" },
    cordoned: bool,
    leaseState: { type: ["string", "null"] },
    systemInfo: { anyOf: [SYSTEM_INFO, { type: "null" }] },
    holdsApiVip: { type: "boolean", description: "the connected agent last reported the API VIP on one of its interfaces" },
    k3sRunning: { type: "string", description: "the k3s version the node runs, as its agent last reported; empty when unknown" },
    k3sNext: { type: "string", description: "the k3s version the node's built system would run (agents upgrade after servers); empty when none" },
  },
  "one node as the coordinator sees it",
);

const LEASE_FIELDS = {
  node: str,
  role,
  kind: { type: "string", enum: ["reboot", "service-restart"] },
  state: { type: "string", description: "queued, granted, draining, drained, rebooting or verifying" },
  fencingToken: int,
  revision: str,
  requestedAtMs: ms,
  grantedAtMs: ms,
  phaseDeadlineMs: ms,
  queuePosition: { type: "integer", description: "1-based for queued leases, 0 for held ones" },
  waitingReason: { type: "string", description: "why a queued lease waits; empty for held leases" },
};

/** `etcdSnapshot` only on a lease whose holder saved one (an embedded-etcd server). */
export const LEASE_SCHEMA = {
  ...object(LEASE_FIELDS, "a held lease or a waiting request"),
  properties: { ...LEASE_FIELDS, etcdSnapshot: { type: "string", description: "the etcd snapshot the holder saved before its disruption (k3s etcd-snapshot save --name)" } },
} as const;

export const ROLLOUT_SCHEMA = object(
  {
    revision: str,
    paused: bool,
    pauseReason: str,
    halted: bool,
    haltReason: str,
    blockedReason: { type: "string", description: "why the next grant is blocked now; empty when nothing blocks" },
    stage: { type: "string", enum: ["", "canary", "soaking", "awaiting-approval", "done"], description: "canary stage of the revision; empty without rollout.canary" },
    nodesTotal: int,
    nodesConverged: int,
  },
  "the rollout of the current revision",
);

const MANIFESTS_SCHEMA = object(
  {
    mode: { type: "string", enum: ["after-servers", "immediately", "manual"] },
    state: { type: "string", enum: ["idle", "disabled", "standby", "manual", "waiting", "applying", "applied", "failed"] },
    revision: str,
    appliedRevision: { type: "string", description: "the last revision whose apply and prune succeeded" },
    error: str,
    lastAttemptMs: ms,
    nextRetryMs: { type: "integer", description: "when a failed apply is retried (0: none scheduled)" },
    failures: { type: "integer", description: "failed attempts in a row for this revision" },
    objects: {
      type: "array",
      items: object({ key: str, source: { type: "string", description: "file:line in the repo" }, action: str, message: str, health: str, healthDetail: str }),
    },
  },
  "applying manifests/ to the cluster",
);

const SNAPSHOT_REQUIRED = object(
  {
    cluster: str,
    version: str,
    generatedAtMs: ms,
    leader: bool,
    warnings: { type: "array", items: str, description: "unsafe settings this coordinator runs with" },
    rollout: ROLLOUT_SCHEMA,
    apiVip: {
      anyOf: [object({ address: str, holders: { type: "array", items: str, description: "normally one node; none during a VRRP failover" } }, "the API VIP and who holds it"), { type: "null" }],
      description: "null when the inventory has no API VIP (cluster.k3s.api)",
    },
    manifests: MANIFESTS_SCHEMA,
    nodes: { type: "array", items: NODE_SCHEMA },
    leases: { type: "array", items: LEASE_SCHEMA, description: "held leases" },
    queue: { type: "array", items: LEASE_SCHEMA, description: "waiting requests in grant order" },
  },
  "the whole cluster at one moment",
);

// builds is optional: the JSON status carries it only in builders mode.
export const SNAPSHOT_SCHEMA = {
  ...SNAPSHOT_REQUIRED,
  properties: {
    ...SNAPSHOT_REQUIRED.properties,
    builds: {
      type: "array",
      items: object({ node: str, revision: str, state: { type: "string", enum: ["queued", "building", "pushed", "failed"] }, builder: str, error: str, disruption: { type: "string", enum: ["", "no-op", "switch", "reboot", "unknown"] }, disruptionReason: str }),
      description: "builders mode only (absent otherwise): each node's newest build job",
    },
  },
} as const;

export const EVENT_SCHEMA = object({
  seq: int,
  timeMs: ms,
  kind: str,
  node: str,
  revision: str,
  message: str,
  fields: { type: "object", additionalProperties: { type: "string" } },
});

export const NODE_NAME_PARAM = { type: "string", pattern: DNS_LABEL_PATTERN, description: "a node name (a DNS label)" } as const;

/** Responses of a route: its 200 body, its own error statuses, and 500 and 503 (not the leader, store unavailable) that any route may answer. */
export function responses(ok: unknown, ...errors: number[]): Record<string, unknown> {
  return { 200: ok, ...Object.fromEntries([...errors, 500, 503].map((status) => [status, ERROR_SCHEMA])) };
}
