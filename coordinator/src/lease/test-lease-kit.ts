// Test kit for the lease manager: hand-driven time, settable health/checks/settings, recording drain hooks, a real FileStore.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NkError } from "../../../shared/src/errors/index.js";
import type { Role, RolloutSettings } from "../../../shared/src/inventory/index.js";
import { silentLogger } from "../../../shared/src/log/index.js";
import { FileStore, type LeaseKind, type LeaseRecord } from "../store/index.js";
import type { LeaseView } from "../status/index.js";
import type { ClusterChecksState, NodeHealth } from "./grant-decision.js";
import type {
  ClusterCheckSource, DisruptionHooks, DisruptionOutcome, GrantObservation, LeaseManagerDeps, LeaseManagerOptions, LeaseSettings, LeaseSettingsSource, NodeHealthSource, Timers,
} from "./lease-deps.js";
import { LeaseManager } from "./lease-manager.js";

/** Time that only moves when a test says so; due timers fire in order as it passes them. */
export class FakeTime {
  private scheduled: Array<{ id: number; at: number; fn: () => void }> = [];
  private nextId = 1;

  constructor(public ms = Date.UTC(2024, 5, 1, 12, 0)) {}

  readonly now = (): number => this.ms;

  readonly timers: Timers = {
    setTimeout: (fn, ms) => {
      const id = this.nextId++;
      this.scheduled.push({ id, at: this.ms + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout: (handle) => {
      this.scheduled = this.scheduled.filter((t) => t.id !== handle);
    },
  };

  pending(): number {
    return this.scheduled.length;
  }

  /** Moves time forward by `ms`, firing due timers and letting `settle` run after each. */
  async advance(ms: number, settle: () => Promise<void>): Promise<void> {
    const target = this.ms + ms;
    for (;;) {
      const due = this.scheduled.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.scheduled = this.scheduled.filter((t) => t !== due);
      this.ms = Math.max(this.ms, due.at);
      due.fn();
      await settle();
    }
    this.ms = target;
    await settle();
  }
}

class Listeners<T extends unknown[]> {
  private readonly set = new Set<(...args: T) => void>();
  add(listener: (...args: T) => void): () => void {
    this.set.add(listener);
    return () => this.set.delete(listener);
  }
  emit(...args: T): void {
    for (const l of [...this.set]) l(...args);
  }
}

export const HEALTHY: NodeHealth = { agentFresh: true, healthy: true, k8sReady: true, reason: "" };

export class TestHealth implements NodeHealthSource {
  private readonly map = new Map<string, NodeHealth>();
  private readonly listeners = new Listeners<[string?]>();
  health(node: string): NodeHealth {
    return this.map.get(node) ?? HEALTHY;
  }
  onChange(listener: (node?: string) => void): () => void {
    return this.listeners.add(listener);
  }
  set(node: string, health: Partial<NodeHealth>): void {
    this.map.set(node, { ...HEALTHY, ...health });
    this.listeners.emit(node);
  }
}

export class TestChecks implements ClusterCheckSource {
  state: ClusterChecksState = { ok: true, failing: [] };
  private readonly listeners = new Listeners<[]>();
  current(): ClusterChecksState {
    return this.state;
  }
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }
  set(state: ClusterChecksState): void {
    this.state = state;
    this.listeners.emit();
  }
  /** What the gates say when asked at a grant; each ask is counted. */
  gates: ClusterChecksState["failing"] = [];
  gateAsks = 0;
  async gatesNow(): Promise<ClusterChecksState["failing"]> {
    this.gateAsks += 1;
    return this.gates;
  }
}

export const ROLLOUT: RolloutSettings = {
  maxUnavailable: 1, maxUnavailableServers: 1, reboot: "auto", windows: [], expectedDisruptionSeconds: 0, pools: [], maxUnavailablePer: null, canary: null, blockingPods: null, settleSeconds: 0,
  healthDeadlineSeconds: 300, drainTimeoutSeconds: 600, rebootTimeoutSeconds: 900, activationTimeoutSeconds: 300, etcdSnapshot: true, checks: [], fleetlock: { groups: [] },
};

export class TestSettings implements LeaseSettingsSource {
  private readonly listeners = new Listeners<[]>();
  constructor(public value: LeaseSettings | null) {}
  current(): LeaseSettings | null {
    return this.value;
  }
  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }
  set(value: LeaseSettings | null): void {
    this.value = value;
    this.listeners.emit();
  }
}

export function settingsFor(nodes: Record<string, Role>, rollout: Partial<RolloutSettings> = {}): LeaseSettings {
  return { rollout: { ...ROLLOUT, ...rollout }, roles: new Map(Object.entries(nodes)) };
}

/** Records hook calls; outcomes are ok unless a test queues another one. */
export class RecordingHooks implements DisruptionHooks {
  readonly calls: Array<{ hook: "before" | "after" | "failure"; node: string; fencingToken: number }> = [];
  readonly beforeOutcomes: DisruptionOutcome[] = [];
  readonly afterOutcomes: DisruptionOutcome[] = [];
  readonly failureOutcomes: DisruptionOutcome[] = [];
  beforeDisruption(lease: LeaseRecord): Promise<DisruptionOutcome> {
    this.calls.push({ hook: "before", node: lease.node, fencingToken: lease.fencingToken });
    return Promise.resolve(this.beforeOutcomes.shift() ?? { ok: true, reason: "drained", cordonedByUs: true, nodeWasCordoned: false });
  }
  afterReturn(lease: LeaseRecord): Promise<DisruptionOutcome> {
    this.calls.push({ hook: "after", node: lease.node, fencingToken: lease.fencingToken });
    return Promise.resolve(this.afterOutcomes.shift() ?? { ok: true, reason: "back" });
  }
  afterFailure(lease: LeaseRecord): Promise<DisruptionOutcome> {
    this.calls.push({ hook: "failure", node: lease.node, fencingToken: lease.fencingToken });
    return Promise.resolve(this.failureOutcomes.shift() ?? { ok: true, reason: "uncordoned" });
  }
}

export interface Harness {
  dir: string;
  time: FakeTime;
  store: FileStore;
  health: TestHealth;
  checks: TestChecks;
  settings: TestSettings;
  hooks: RecordingHooks;
  grants: GrantObservation[];
  manager: LeaseManager;
  /** Every view each node's streams received, in order. */
  updates: Map<string, LeaseView[]>;
  advance(ms: number): Promise<void>;
  /** Stops the manager and closes the store, then opens both again on the same state dir. */
  restart(): Promise<void>;
  /** Like restart, but without waiting for hooks in flight: what a crash leaves behind. */
  crash(): Promise<void>;
  cleanup(): Promise<void>;
}

/** `extra.hooks` replaces the recording hooks (h.hooks then records nothing). */
export async function harness(settings: LeaseSettings | null, options: LeaseManagerOptions = {}, extra: Partial<Pick<LeaseManagerDeps, "pods" | "hooks">> = {}): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "nk-lease-"));
  const time = new FakeTime();
  const h = {
    dir, time, health: new TestHealth(), checks: new TestChecks(), settings: new TestSettings(settings), hooks: new RecordingHooks(),
    grants: [] as GrantObservation[], updates: new Map<string, LeaseView[]>(),
  } as Harness;
  const open = async (): Promise<void> => {
    h.store = await FileStore.open({ dir, clock: time.now });
    h.manager = new LeaseManager({
      store: h.store, now: time.now, timers: time.timers, log: silentLogger(), settings: h.settings, health: h.health, checks: h.checks,
      hooks: h.hooks, onGrant: (g) => h.grants.push(g), options, ...extra,
    });
    await h.manager.start();
  };
  await open();
  h.advance = (ms) => time.advance(ms, () => h.manager.settled());
  h.crash = async () => {
    await h.manager.stop();
    await h.store.close();
    await open();
  };
  h.restart = async () => {
    await h.manager.settled();
    await h.manager.stop();
    await h.store.close();
    await open();
  };
  h.cleanup = async () => {
    await h.manager.settled();
    await h.manager.stop();
    await h.store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return h;
}

/** Acquire as an agent would, recording every view the stream delivers. */
export async function acquire(h: Harness, node: string, fencingToken = 0, revision = "rev1", kind: LeaseKind = "reboot"): Promise<() => void> {
  const seen = h.updates.get(node) ?? [];
  h.updates.set(node, seen);
  return h.manager.acquire({ node, kind, revision, sha256: "a".repeat(64), reason: kind === "reboot" ? "kernel changed" : "switch restarts k3s.service", fencingToken }, (v) => seen.push(v));
}

export function lastUpdate(h: Harness, node: string): LeaseView | undefined {
  return h.updates.get(node)?.at(-1);
}

export function heldNodes(h: Harness): string[] {
  return h.manager.held().map((l) => l.node);
}

export function tokenOf(h: Harness, node: string): number {
  const lease = h.manager.held().find((l) => l.node === node);
  if (!lease) throw new Error(`${node} holds no lease`);
  return lease.fencingToken;
}

/**
 * A store blip right after `method` commits (an etcd hiccup, or the coordinator killed there): the next event append
 * or canary write throws UNAVAILABLE, once. Lists the calls that failed; a restart opens a store without it.
 */
export function failNextWriteAfter(h: Harness, method: "grantLease" | "releaseLease"): { readonly failed: string[] } {
  type Call = (...args: never[]) => Promise<unknown>;
  const calls = h.store as unknown as Record<string, Call>;
  const failed: string[] = [];
  let armed = false;
  let spent = false;
  const committing = calls[method]!.bind(h.store);
  calls[method] = async (...args) => {
    const result = await committing(...args);
    armed = !spent && (result as { ok: boolean }).ok;
    spent ||= armed;
    return result;
  };
  for (const write of ["appendEvent", "markCanary"]) {
    const real = calls[write]!.bind(h.store);
    calls[write] = (...args) => {
      if (!armed) return real(...args);
      armed = false;
      failed.push(write);
      return Promise.reject(new NkError("UNAVAILABLE", `injected: the store failed right after ${method}`));
    };
  }
  return { failed };
}

/** A deterministic PRNG (mulberry32) for property tests. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
