// Seeded chaos schedules: a reproducible list of timed steps (pushes, kills, network cuts, faults, flapping health).
import { SeededRandom } from "./seeded-random.js";

/** Faults a bad push injects into its one node's new bundle. */
export type BadFault = "build-error" | "activation-error" | "unhealthy-after-switch" | "unhealthy-after-reboot" | "never-boots";

export type PushChange =
  /** Toggles the nixpkgs channel: every bundle changes and every node reboots. */
  | { readonly change: "nixpkgs" }
  /** A new admin ssh key (users.nix): every bundle changes, switched in parallel without a lease. */
  | { readonly change: "users" }
  /** Toggles k3s.disable: the servers' k3s restarts, which needs a lease but no reboot. */
  | { readonly change: "k3s" }
  /** A kernel parameter for one node: that node alone reboots. */
  | { readonly change: "kernel"; readonly node: string }
  /** A change for one node whose new bundle fails (build, activation or health). */
  | { readonly change: "bad"; readonly node: string; readonly fault: BadFault }
  /** Removes every bad change again. */
  | { readonly change: "fix" };

export type ChaosAction =
  | { readonly kind: "push"; readonly push: PushChange }
  /** In an HA schedule the leader is killed. */
  | { readonly kind: "coordinator-kill"; readonly downMs: number; readonly leader?: true }
  | { readonly kind: "agent-kill"; readonly node: string }
  | { readonly kind: "net-cut"; readonly node: string; readonly forMs: number }
  | { readonly kind: "ceph-warn"; readonly node: string; readonly forMs: number }
  /**
   * HA: one coordinator (or the leader) cut off from every etcd member; agents still reach it. `drop`: its packets are
   * dropped (nothing reset or refused), so it learns of the cut only from its own clocks and deadlines.
   */
  | { readonly kind: "etcd-cut"; readonly target: number | "leader"; readonly forMs: number; readonly drop?: true }
  /** HA: one etcd member killed with SIGKILL, started again after downMs. */
  | { readonly kind: "etcd-member-kill"; readonly member: number; readonly downMs: number }
  /** HA: every etcd member killed at once, all started again after downMs. */
  | { readonly kind: "etcd-restart"; readonly downMs: number }
  /** HA: two pushes at once (each calling every coordinator's webhook) while one is pushed to a coordinator's own repo. */
  | { readonly kind: "push-race"; readonly coordinator: number };

export interface ChaosStep {
  /** From the start of the schedule. */
  readonly atMs: number;
  readonly action: ChaosAction;
}

export interface ChaosSchedule {
  readonly seed: number;
  readonly steps: readonly ChaosStep[];
}

export interface ScheduleOptions {
  readonly nodes: readonly string[];
  /** Nodes where the cluster check (ceph health, on any server) can run. */
  readonly servers: readonly string[];
  readonly steps: number;
  /** Longest pause between two steps. */
  readonly maxGapMs?: number;
  /** Three coordinators on etcd: adds etcd cuts, etcd kills and restarts, racing pushes; kills hit the leader. */
  readonly ha?: boolean;
}

const WEIGHTS = { push: 26, bad: 14, fix: 8, "coordinator-kill": 12, "agent-kill": 14, "net-cut": 14, "ceph-warn": 12 } as const;
const HA_WEIGHTS = { ...WEIGHTS, "agent-kill": 8, "ceph-warn": 6, "coordinator-kill": 14, "etcd-cut": 14, "etcd-member-kill": 8, "etcd-restart": 4, "push-race": 8 } as const;
const FAULTS: readonly BadFault[] = ["build-error", "activation-error", "unhealthy-after-switch", "unhealthy-after-reboot", "never-boots"];

export function makeSchedule(seed: number, options: ScheduleOptions): ChaosSchedule {
  const rnd = new SeededRandom(seed);
  const maxGapMs = options.maxGapMs ?? 900;
  const steps: ChaosStep[] = [];
  let atMs = 0;
  let badOutstanding = false;
  const goodPush = (): PushChange => {
    const change = rnd.pick(["nixpkgs", "users", "k3s", "kernel"] as const);
    return change === "kernel" ? { change, node: rnd.pick(options.nodes) } : { change };
  };
  for (let i = 0; i < options.steps; i++) {
    // Every schedule starts with a push, so that there is a rollout for the chaos to hit.
    const kind = i === 0 ? rnd.pick(["push", "bad"] as const) : options.ha ? rnd.weighted(HA_WEIGHTS) : rnd.weighted(WEIGHTS);
    let action: ChaosAction;
    switch (kind) {
      case "push":
        action = { kind: "push", push: goodPush() };
        break;
      case "bad":
        badOutstanding = true;
        action = { kind: "push", push: { change: "bad", node: rnd.pick(options.nodes), fault: rnd.pick(FAULTS) } };
        break;
      case "fix":
        action = { kind: "push", push: badOutstanding ? { change: "fix" } : goodPush() };
        badOutstanding = false;
        break;
      case "coordinator-kill":
        action = options.ha ? { kind, downMs: rnd.int(100, 4_000), leader: true } : { kind, downMs: rnd.int(100, 2_500) };
        break;
      case "etcd-cut":
        // Often past the election lease's 3 s TTL, so the cut leader is deposed while it still reaches its agents.
        action = { kind, target: rnd.int(0, 3) === 3 ? rnd.int(0, 2) : "leader", forMs: rnd.int(500, 6_000), ...(rnd.int(0, 1) === 1 ? { drop: true as const } : {}) };
        break;
      case "etcd-member-kill":
        action = { kind, member: rnd.int(0, 2), downMs: rnd.int(200, 4_000) };
        break;
      case "etcd-restart":
        action = { kind, downMs: rnd.int(200, 3_000) };
        break;
      case "push-race":
        action = { kind, coordinator: rnd.int(0, 2) };
        break;
      case "agent-kill":
        action = { kind, node: rnd.pick(options.nodes) };
        break;
      case "net-cut":
        action = { kind, node: rnd.pick(options.nodes), forMs: rnd.int(200, 3_000) };
        break;
      case "ceph-warn":
        action = { kind, node: rnd.pick(options.servers), forMs: rnd.int(200, 2_500) };
        break;
    }
    steps.push({ atMs, action });
    atMs += rnd.int(50, maxGapMs);
  }
  return { seed, steps };
}

export function describeAction(action: ChaosAction): string {
  switch (action.kind) {
    case "push": {
      const p = action.push;
      if (p.change === "kernel") return `push kernel(${p.node})`;
      if (p.change === "bad") return `push bad(${p.node}, ${p.fault})`;
      return `push ${p.change}`;
    }
    case "coordinator-kill":
      return `kill -9 ${action.leader ? "leader" : "coordinator"} (down ${action.downMs} ms)`;
    case "etcd-cut":
      return `cut ${action.target === "leader" ? "the leader" : `c${action.target}`} off etcd (${action.drop ? "packets dropped, " : ""}${action.forMs} ms)`;
    case "etcd-member-kill":
      return `kill -9 etcd member m${action.member} (down ${action.downMs} ms)`;
    case "etcd-restart":
      return `kill -9 all etcd members (down ${action.downMs} ms)`;
    case "push-race":
      return `two pushes at once, one also to c${action.coordinator}'s own repo`;
    case "agent-kill":
      return `kill -9 agent ${action.node}`;
    case "net-cut":
      return `cut ${action.node} (${action.forMs} ms)`;
    case "ceph-warn":
      return `ceph HEALTH_WARN on ${action.node} (${action.forMs} ms)`;
  }
}

export function describeSchedule(schedule: ChaosSchedule): string {
  return schedule.steps.map((s) => `+${s.atMs}ms ${describeAction(s.action)}`).join("; ");
}
