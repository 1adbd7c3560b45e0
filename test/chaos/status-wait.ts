// Waiting on the coordinator's status (bounded), and a one-line summary of it for failure messages.
import { ApplyPhase, LeaseState } from "../../shared/src/proto/gen/nk/v1/common.js";
import type { GetStatusResponse } from "../../shared/src/proto/gen/nk/v1/admin.js";
import type { ChaosBase } from "./chaos-base.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function brief(s: GetStatusResponse | null): string {
  if (!s) return "no status";
  const nodes = s.nodes.map((n) => `${n.name}:${ApplyPhase[n.phase]?.replace("APPLY_PHASE_", "")}${n.connected ? "" : "(disconnected)"} ${n.appliedSha256.slice(0, 8)}/${n.desiredSha256.slice(0, 8)}${n.lastError ? ` "${n.lastError.slice(0, 120)}"` : ""}`);
  const leases = s.leases.map((l) => `${l.node}:${LeaseState[l.state]?.replace("LEASE_STATE_", "")}${l.waitingReason ? ` (${l.waitingReason.slice(0, 80)})` : ""}`);
  return `rollout ${s.rollout?.halted ? `halted: ${s.rollout.haltReason.slice(0, 120)}` : "running"}; nodes ${nodes.join(", ")}; leases [${leases.join(", ")}]`;
}

/** How long a `stable` wait needs one and the same key to hold before it counts as settled. */
export const STABLE_MS = 700;
/** Polling interval of a `stable` wait: finer than STABLE_MS so that a settle ends soon after the window is full. */
const STABLE_POLL_MS = 250;

/**
 * Polls status until `done` holds, bounded; returns the last status and whether it held. With `stable`, `done` must
 * return one and the same key on every poll for at least STABLE_MS: measured from the answer that first showed it to
 * the request of the one that shows it still (the window the two observations bound for sure, as when it polled once
 * every STABLE_MS and compared two polls in a row), and any other answer in between starts the window again.
 */
export async function waitStatus(cluster: Pick<ChaosBase, "status">, timeoutMs: number, done: (s: GetStatusResponse) => string | null, stable = false): Promise<{ ok: boolean; last: GetStatusResponse | null }> {
  const until = Date.now() + timeoutMs;
  let last: GetStatusResponse | null = null;
  let held = null as { key: string; sinceMs: number } | null;
  while (Date.now() < until) {
    const askedAtMs = Date.now();
    last = await cluster.status().catch(() => null);
    const key = last && done(last);
    // CHAOS_TRACE=1 shows what a slow settle or convergence waits for.
    if (process.env.CHAOS_TRACE === "1") process.stdout.write(`  [${new Date().toISOString().slice(11, 23)}] ${key ? "quiet" : "busy"}: ${brief(last)}\n`);
    if (key !== null && key !== undefined) {
      if (!stable || (held?.key === key && askedAtMs - held.sinceMs >= STABLE_MS)) return { ok: true, last };
      if (held?.key !== key) held = { key, sinceMs: Date.now() };
    } else held = null;
    // The poll that can close the window comes as soon as the window is full, not up to a poll interval later.
    await sleep(!stable ? 200 : held ? Math.max(0, Math.min(STABLE_POLL_MS, held.sinceMs + STABLE_MS - Date.now())) : STABLE_POLL_MS);
  }
  return { ok: false, last };
}


/** Waits until `ok` holds, or throws with what the status showed last. */
export async function waitFor(cluster: Pick<ChaosBase, "status">, what: string, ok: (s: GetStatusResponse) => boolean, timeoutMs = 30_000): Promise<GetStatusResponse> {
  const r = await waitStatus(cluster, timeoutMs, (s) => (ok(s) ? "yes" : null));
  if (!r.ok) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}: ${brief(r.last)}`);
  return r.last!;
}
