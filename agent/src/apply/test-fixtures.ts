// Builders shared by the state machine's tests: events, desired bundles, and the phases reached by real event sequences.
import { expect } from "vitest";
import { initialAgentState, type AgentState, type DesiredBundle, type Phase } from "./agent-state.js";
import type { AgentEvent } from "./agent-event.js";
import { LONG_EFFECTS, type Effect } from "./effect.js";
import { makeTransition } from "./transition.js";
import { DEFAULT_MACHINE_CONFIG, type MachineConfig } from "./machine-config.js";

export const T0 = 1_700_000_000_000;
export const CFG: MachineConfig = { ...DEFAULT_MACHINE_CONFIG, bundleRoot: "/b", defaultHealthDeadlineMs: 60_000, rebootDeadlineMs: 120_000, defaultActivationTimeoutMs: 30_000 };
export const INSTALL = "/nix/store/000-nixos-system-n1-install";
export const SYS_A = "/nix/store/aaa-nixos-system-n1-a";
export const SYS_B = "/nix/store/bbb-nixos-system-n1-b";
export const BOOT1 = "boot-1";
export const BOOT2 = "boot-2";
export const BOOT3 = "boot-3";

export function desired(letter: string, extra: Partial<DesiredBundle> = {}): DesiredBundle {
  return {
    revision: `rev-${letter}`,
    sha256: letter.repeat(64),
    files: [{ path: "flake.nix", content: `{ /* ${letter} */ }` }],
    rebootPolicy: "auto",
    checks: [{ name: "true", command: ["true"], expect: "", timeoutMs: 1000 }],
    healthDeadlineMs: 0,
    activationTimeoutMs: 0,
    ...extra,
  };
}
export const A = desired("a");
export const B = desired("b");
/** A on a k3s server with embedded etcd: a snapshot comes before its disruption. */
export const A_SNAP = desired("a", { etcdSnapshot: "nk-rev-a-n1" });

const machine = makeTransition(CFG);

/** One transition, checked against the runner contract documented in effect.ts. */
export function step(state: AgentState, event: AgentEvent): { state: AgentState; effects: Effect[] } {
  const r = machine(state, event);
  checkContract(state, r.state, r.effects);
  return r;
}

export function checkContract(before: AgentState, after: AgentState, effects: readonly Effect[]): void {
  const long = effects.filter((e) => LONG_EFFECTS.has(e.type));
  expect(long.length, `more than one long effect: ${effects.map((e) => e.type).join(",")}`).toBeLessThanOrEqual(1);
  if (long.length === 1) expect(effects[effects.length - 1]).toBe(long[0]);
  if (after !== before) expect(effects[0]).toEqual({ type: "persist" });
  else expect(effects.some((e) => e.type === "persist")).toBe(false);
  expect(effects.filter((e) => e.type === "persist").length).toBeLessThanOrEqual(1);
}

/** Feeds events in order; returns the final state and every transition's effects. */
export function run(events: readonly AgentEvent[], from: AgentState = initialAgentState(T0)): { state: AgentState; effects: Effect[][] } {
  let state = from;
  const effects: Effect[][] = [];
  for (const e of events) {
    const r = step(state, e);
    state = r.state;
    effects.push(r.effects);
  }
  return { state, effects };
}

export const types = (effects: readonly Effect[]): string[] => effects.map((e) => e.type);

let clock = T0;
const now = (): number => (clock += 1000);

export const ev = {
  started: (bootId = BOOT1, currentSystem = INSTALL, bootedSystem = currentSystem): AgentEvent => ({ type: "agent-started", now: now(), bootId, currentSystem, bootedSystem }),
  desired: (d: DesiredBundle = A): AgentEvent => ({ type: "desired-received", now: now(), desired: d }),
  written: (d: DesiredBundle = A): AgentEvent => ({ type: "bundle-written", now: now(), sha256: d.sha256 }),
  writeFailed: (d: DesiredBundle = A): AgentEvent => ({ type: "bundle-write-failed", now: now(), sha256: d.sha256, error: "disk full" }),
  built: (d: DesiredBundle = A, systemPath = SYS_A, rebootNeeded = false, restartsUnits: string[] = []): AgentEvent => ({
    type: "build-succeeded",
    now: now(),
    sha256: d.sha256,
    systemPath,
    rebootNeeded,
    restartsUnits,
  }),
  buildFailed: (d: DesiredBundle = A): AgentEvent => ({ type: "build-failed", now: now(), sha256: d.sha256, error: "attribute missing" }),
  granted: (fencingToken = 7): AgentEvent => ({ type: "lease-granted", now: now(), fencingToken }),
  denied: (): AgentEvent => ({ type: "lease-denied", now: now(), reason: "rollout paused" }),
  lost: (fencingToken = 7): AgentEvent => ({ type: "lease-lost", now: now(), fencingToken, reason: "force released" }),
  released: (fencingToken = 7): AgentEvent => ({ type: "lease-released", now: now(), fencingToken }),
  snapshotSaved: (name = "nk-rev-a-n1", fencingToken = 7): AgentEvent => ({ type: "etcd-snapshot-saved", now: now(), fencingToken, name }),
  snapshotFailed: (name = "nk-rev-a-n1", fencingToken = 7): AgentEvent => ({ type: "etcd-snapshot-failed", now: now(), fencingToken, name, error: "k3s etcd-snapshot save exited with 1: etcd not ready" }),
  drained: (fencingToken = 7): AgentEvent => ({ type: "drained", now: now(), fencingToken }),
  drainFailed: (fencingToken = 7): AgentEvent => ({ type: "drain-failed", now: now(), fencingToken, error: "pdb blocks eviction" }),
  activated: (systemPath = SYS_A): AgentEvent => ({ type: "activation-succeeded", now: now(), systemPath }),
  activationFailed: (systemPath = SYS_A): AgentEvent => ({ type: "activation-failed", now: now(), systemPath, error: "unit failed" }),
  healthy: (systemPath = SYS_A): AgentEvent => ({ type: "health-passed", now: now(), systemPath }),
  unhealthy: (systemPath = SYS_A): AgentEvent => ({ type: "health-failed", now: now(), systemPath, reason: "k3s inactive" }),
  blessed: (systemPath = SYS_A): AgentEvent => ({ type: "blessed", now: now(), systemPath }),
  blessFailed: (systemPath = SYS_A): AgentEvent => ({ type: "bless-failed", now: now(), systemPath, error: "bootctl: Failed to write EFI variable" }),
  deadline: (at: number): AgentEvent => ({ type: "deadline-passed", now: at }),
  retry: (sha256?: string): AgentEvent => (sha256 === undefined ? { type: "operator-retry", now: now() } : { type: "operator-retry", now: now(), sha256 }),
};

/** Event sequences from a fresh node (install system, boot 1) to each phase, through real transitions. */
export const PATHS: Record<Phase, () => AgentEvent[]> = {
  idle: () => [ev.started()],
  fetched: () => [ev.started(), ev.desired()],
  building: () => [...PATHS.fetched(), ev.written()],
  "waiting-lease": () => [...PATHS.building(), ev.built(A, SYS_A, true)],
  snapshotting: () => [ev.started(), ev.desired(A_SNAP), ev.written(A_SNAP), ev.built(A_SNAP, SYS_A, true), ev.granted()],
  draining: () => [...PATHS["waiting-lease"](), ev.granted()],
  rebooting: () => [...PATHS.draining(), ev.drained()],
  verifying: () => [...PATHS.rebooting(), ev.started(BOOT2, SYS_A)],
  blessing: () => [...PATHS.verifying(), ev.healthy()],
  activating: () => [...PATHS.building(), ev.built()],
  "rolling-back": () => [...PATHS.activating(), ev.activationFailed()],
  "rollback-rebooting": () => [...PATHS.verifying(), ev.unhealthy()],
  "rollback-verifying": () => [...PATHS["rollback-rebooting"](), ev.started(BOOT3, INSTALL)],
  confirmed: () => [...PATHS.blessing(), ev.blessed(), ev.released()],
  "rolled-back": () => [...PATHS["rollback-verifying"](), ev.healthy(INSTALL), ev.released()],
  failed: () => [...PATHS.building(), ev.buildFailed()],
};

export function reach(phase: Phase): AgentState {
  const { state } = run(PATHS[phase]());
  expect(state.phase).toBe(phase);
  return state;
}
