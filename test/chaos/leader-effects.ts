// The HA invariant "never two leaders with effect at once": every drain or uncordon the shared fake kube-apiserver
// received (each coordinator calls it with a token of its own) came from the coordinator that etcd's election shows
// leading at that moment, never from one whose leadership lease had already expired.
import type { RecordedRequest } from "../../coordinator/src/kube/fake-kube-apiserver.js";
import { leaderAt, type ElectionTerm } from "./etcd-history.js";

/** An effect is seen by the apiserver at once, the watch may deliver a new leader's key a little later. */
export const WATCH_LAG_MS = 2_000;

export interface LeaderEffect {
  readonly coordinator: string;
  readonly atMs: number;
  readonly what: string;
  /** The leadership term (election key create revision) it fell in, or null for none. */
  readonly term: number | null;
}

const at = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** Cordons, uncordons and evictions, attributed by their bearer token (`coordinatorOf` maps it to an id). */
export function leaderEffects(requests: readonly RecordedRequest[], coordinatorOf: (bearer: string) => string | undefined, terms: readonly ElectionTerm[]): LeaderEffect[] {
  const out: LeaderEffect[] = [];
  for (const r of requests) {
    const coordinator = coordinatorOf(r.bearer);
    if (coordinator === undefined || r.method === "GET") continue;
    const node = r.path.startsWith("/api/v1/nodes/") ? r.path.split("/").pop() : undefined;
    const eviction = r.path.endsWith("/eviction");
    if (!node && !eviction) continue;
    const what = eviction ? `evicted ${r.path.split("/")[5]}` : (r.body as { spec?: { unschedulable?: boolean } }).spec?.unschedulable === true ? `cordoned ${node}` : `${r.method} ${node}`;
    const leader = leaderAt(terms, r.atMs);
    out.push({ coordinator, atMs: r.atMs, what, term: leader?.id === coordinator ? leader.createRev : null });
  }
  return out;
}

/** Effects outside their coordinator's leadership (allowing the watch its lag in showing a new term). */
export function leaderEffectViolations(effects: readonly LeaderEffect[], terms: readonly ElectionTerm[]): string[] {
  const out: string[] = [];
  for (const e of effects) {
    if (e.term !== null) continue;
    // Led within the watch's lag after it: the new term had begun, the watch had not shown it yet.
    const shown = terms.flatMap((t) => [t.seenAtMs, t.goneAtMs]).filter((t) => t > e.atMs && t <= e.atMs + WATCH_LAG_MS);
    if (shown.some((t) => leaderAt(terms, t)?.id === e.coordinator)) continue;
    const leader = leaderAt(terms, e.atMs);
    const own = terms.filter((t) => t.id === e.coordinator && t.seenAtMs <= e.atMs).at(-1);
    const ended = !own ? "" : Number.isFinite(own.goneAtMs) ? `, its own term ${own.createRev} ended at ${at(own.goneAtMs)}` : `, its own election key ${own.createRev} still waiting`;
    out.push(`${e.coordinator} ${e.what} at ${at(e.atMs)} while etcd's election had ${leader ? `${leader.id} (term ${leader.createRev})` : "no leader"}${ended}`);
  }
  return out;
}
