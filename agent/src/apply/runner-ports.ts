// What the ApplyRunner needs from the outside: coordinator lease calls, reports, health, time, storage.
import type { AgentState, LeaseKind, NodeCheckSpec } from "./agent-state.js";
import type { EffectOf, RenewPhase } from "./effect.js";

export interface LeaseRequest {
  readonly kind: LeaseKind;
  readonly revision: string;
  readonly sha256: string;
  readonly reason: string;
  /** The lease already held (after an agent restart), presented so the coordinator hands back the same one. */
  readonly fencingToken: number | null;
  /** The k3s version the built system would run, when known: the coordinator lets agents go after the servers. */
  readonly k3sNext?: string;
}

export type LeaseAnswer = { readonly granted: true; readonly fencingToken: number } | { readonly granted: false; readonly reason: string };

/**
 * The coordinator side of leases. Implementations retry across disconnects themselves; a thrown
 * NkError LEASE_FENCED / LEASE_UNKNOWN means the lease is gone.
 */
export interface LeaseClient {
  /** Waits in the coordinator's queue until granted or refused; aborting withdraws the request. */
  acquire(request: LeaseRequest, signal: AbortSignal): Promise<LeaseAnswer>;
  /** `etcdSnapshot`: a snapshot just saved under this lease, for the coordinator to record on it. */
  renew(fencingToken: number, state: RenewPhase, etcdSnapshot?: string): Promise<void>;
  /** Resolves once the coordinator acknowledged (an unknown lease counts as released). */
  release(fencingToken: number, success: boolean, reason: string): Promise<void>;
  /** Cordon and drain this node under the lease. */
  drain(fencingToken: number, signal: AbortSignal): Promise<{ readonly ok: true } | { readonly ok: false; readonly error: string }>;
}

export type ApplyReport = Omit<EffectOf<"report">, "type"> & { readonly fencingToken: number | null };

export interface Reporter {
  /** Fire and forget: the client queues and retries. */
  report(report: ApplyReport): void;
}

export interface HealthProbe {
  /** One look at the node's health while `systemPath` should be running. */
  probe(systemPath: string, checks: readonly NodeCheckSpec[], signal: AbortSignal): Promise<{ readonly healthy: boolean; readonly reason: string }>;
}

export interface Clock {
  now(): number;
  /** Calls `fn` after `ms`; returns a function that cancels it. */
  setTimer(ms: number, fn: () => void): () => void;
}

export interface StateSaver {
  save(state: AgentState): Promise<void>;
}
