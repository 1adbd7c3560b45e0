// lease-granted and the etcd snapshot that may come first: what a holder does before and as it starts to disrupt.
import type { AgentState } from "./agent-state.js";
import type { EventOf } from "./agent-event.js";
import type { Effect } from "./effect.js";
import { abandon, enterActivating, renew, report, unchanged, type Result } from "./steps.js";

const HAND_OVER_VIP: Effect = { type: "hand-over-vip" };

export function onLeaseGranted(s: AgentState, e: EventOf<"lease-granted">): Result {
  const t = s.target;
  if (s.phase === "waiting-lease" && t?.disruption && t.systemPath) {
    const lease = { fencingToken: e.fencingToken, kind: t.disruption, releasing: false };
    const held: AgentState = { ...s, lease };
    // An embedded-etcd server saves a snapshot before it goes down: nothing is disrupted until it is saved.
    if (t.etcdSnapshot) {
      const before = t.disruption === "reboot" ? "the drain" : "the switch";
      const effects: Effect[] = [report("snapshotting", t, { note: `saving etcd snapshot ${t.etcdSnapshot} before ${before}` }), { type: "etcd-snapshot", name: t.etcdSnapshot, fencingToken: e.fencingToken }];
      return { state: { ...held, phase: "snapshotting" }, effects };
    }
    return proceedUnderLease(held, e.now);
  }
  if (s.lease === null) {
    // A grant that raced a superseded request: hand it straight back.
    return { state: s, effects: [{ type: "release-lease", fencingToken: e.fencingToken, success: true, reason: "lease no longer needed" }] };
  }
  return unchanged(s);
}

function snapshotting(s: AgentState, e: EventOf<"etcd-snapshot-saved" | "etcd-snapshot-failed">): boolean {
  return s.phase === "snapshotting" && s.lease?.fencingToken === e.fencingToken && s.target?.etcdSnapshot === e.name;
}

/**
 * The lease is held (and any snapshot saved): disrupt. The VIP goes before anything is disrupted: ahead of the drain,
 * or of the switch that restarts services. A saved snapshot rides on the next renewal, recorded on the lease.
 */
function proceedUnderLease(s: AgentState, now: number, snapshot?: string): Result {
  const t = s.target;
  if (!t?.systemPath || !s.lease) return unchanged(s);
  if (t.disruption === "reboot") {
    return { state: { ...s, phase: "draining" }, effects: [HAND_OVER_VIP, ...renew(s, "draining", snapshot), report("draining", t), { type: "drain", fencingToken: s.lease.fencingToken }] };
  }
  return enterActivating(s, { ...t, systemPath: t.systemPath }, now, [HAND_OVER_VIP, ...(snapshot ? renew(s, "granted", snapshot) : [])]);
}

export function onEtcdSnapshot(s: AgentState, e: EventOf<"etcd-snapshot-saved" | "etcd-snapshot-failed">): Result {
  if (!snapshotting(s, e)) return unchanged(s);
  if (e.type === "etcd-snapshot-saved") return proceedUnderLease(s, e.now, e.name);
  // Nothing was disrupted yet: give the lease back as failed (the coordinator halts the rollout) and rest.
  return abandon(s, `etcd snapshot ${e.name} failed: ${e.error}`, []);
}
