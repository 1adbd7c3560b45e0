// In-memory StatusSource for tests of the HTTP surface: a mutable snapshot, events, and listeners called on change.
import { EMPTY_MANIFESTS_VIEW } from "../manifests/manifests-view.js";
import { deriveRollouts, type ClusterSnapshot, type CommitFacts, type EventView, type LeaseView, type NodeView, type RevisionRollout, type RolloutView, type StatusSource } from "../status/index.js";

export const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
export const REV_A = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678";
export const REV_B = "b2c3d4e5f60718293a4b5c6d7e8f901234567890";

export function makeNode(name: string, overrides: Partial<NodeView> = {}): NodeView {
  return {
    name,
    role: "agent",
    address: "172.30.190.10",
    desiredRevision: REV_A,
    desiredSha256: "sha-a",
    appliedRevision: REV_A,
    appliedSha256: "sha-a",
    phase: "confirmed",
    reportedSha256: "sha-a",
    healthy: true,
    checks: [{ name: "k3s-active", ok: true, message: "active" }],
    lastError: "",
    lastReportMs: T0 - 5_000,
    agentVersion: "0.1.0",
    connected: true,
    enrolled: true,
    k8sReady: true,
    cordoned: false,
    leaseState: null,
    systemInfo: null,
    holdsApiVip: false,
    k3sRunning: "",
    k3sNext: "",
    ...overrides,
  };
}

export function makeLease(node: string, overrides: Partial<LeaseView> = {}): LeaseView {
  return {
    node,
    role: "agent",
    kind: "reboot",
    state: "granted",
    fencingToken: 7,
    revision: REV_B,
    requestedAtMs: T0 - 60_000,
    grantedAtMs: T0 - 30_000,
    phaseDeadlineMs: T0 + 600_000,
    queuePosition: 0,
    waitingReason: "",
    ...overrides,
  };
}

export function makeRollout(overrides: Partial<RolloutView> = {}): RolloutView {
  return { revision: REV_A, paused: false, pauseReason: "", halted: false, haltReason: "", blockedReason: "", stage: "", nodesTotal: 3, nodesConverged: 3, ...overrides };
}

export function makeSnapshot(overrides: Partial<ClusterSnapshot> = {}): ClusterSnapshot {
  return {
    cluster: "homelab",
    version: "0.1.0",
    generatedAtMs: T0,
    leader: true,
    warnings: [],
    manifests: EMPTY_MANIFESTS_VIEW,
    rollout: makeRollout(),
    apiVip: null,
    nodes: [makeNode("n1", { role: "server", address: "172.30.190.3" }), makeNode("n2", { role: "server", address: "172.30.190.4" }), makeNode("n3", { address: "172.30.190.5" })],
    leases: [],
    queue: [],
    ...overrides,
  };
}

export function makeEvent(seq: number, overrides: Partial<EventView> = {}): EventView {
  return { seq, timeMs: T0 + seq * 1000, kind: "report", node: "n1", revision: REV_A, message: `event ${seq}`, fields: {}, ...overrides };
}

export class TestStatusSource implements StatusSource {
  private current: ClusterSnapshot;
  private readonly events: EventView[] = [];
  private readonly listeners = new Set<() => void>();
  private readonly eventListeners = new Set<(e: EventView) => void>();
  /** Git facts the rollout history shows, by revision. */
  readonly commits = new Map<string, CommitFacts>();

  constructor(snapshot: ClusterSnapshot = makeSnapshot(), events: readonly EventView[] = []) {
    this.current = snapshot;
    this.events.push(...events);
  }

  snapshot(): ClusterSnapshot {
    return this.current;
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async recentEvents(limit: number): Promise<readonly EventView[]> {
    return this.events.slice(-limit);
  }

  /** Derived from the emitted events exactly as the coordinator derives them from its journal. */
  async rollouts(limit: number): Promise<readonly RevisionRollout[]> {
    return deriveRollouts(this.events, this.commits).slice(0, limit);
  }

  subscribeEvents(listener: (event: EventView) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size + this.eventListeners.size;
  }

  /** Replaces the snapshot and tells listeners, as the core does after any change. */
  set(update: (s: ClusterSnapshot) => ClusterSnapshot): void {
    this.current = update(this.current);
    for (const l of [...this.listeners]) l();
  }

  /** Changes one node in place. */
  updateNode(name: string, overrides: Partial<NodeView>): void {
    this.set((s) => ({ ...s, nodes: s.nodes.map((n) => (n.name === name ? { ...n, ...overrides } : n)) }));
  }

  emit(event: EventView): void {
    this.events.push(event);
    for (const l of [...this.eventListeners]) l(event);
  }
}
