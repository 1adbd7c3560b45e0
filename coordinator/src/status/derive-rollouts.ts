// Per-revision rollouts (pure): who pushed, each node's lease phases as time spans, reboots and outcome, from the event journal.
import type { EventView } from "./cluster-snapshot.js";

/** The lease states a node passes through; "queued" is the wait before the grant. */
export const TIMELINE_PHASES = ["queued", "granted", "draining", "drained", "rebooting", "verifying"] as const;
export type TimelinePhase = (typeof TIMELINE_PHASES)[number];

export interface PhaseSpan {
  readonly phase: TimelinePhase;
  readonly startMs: number;
  /** Null while the node is still in this phase. */
  readonly endMs: number | null;
}

/** done: released or applied; failed: released after a failure; released: force-released by an operator; dropped: request withdrawn. */
export type NodeOutcome = "in-progress" | "done" | "failed" | "released" | "dropped";

export interface NodeRollout {
  readonly node: string;
  readonly spans: readonly PhaseSpan[];
  /** When the node first reported this revision applied (its switch), if it did. */
  readonly appliedAtMs: number | null;
  readonly outcome: NodeOutcome;
  readonly rebooted: boolean;
}

export type RolloutOutcome = "rolling-out" | "converged" | "halted" | "failed" | "superseded";

/** What git knows of a revision; the journal looks it up, the derivation only reads it. */
export interface CommitFacts {
  readonly author: string;
  readonly email: string;
  readonly subject: string;
}

export interface RevisionRollout {
  readonly revision: string;
  /** When the coordinator adopted it (its first event when the adoption fell out of the kept journal). */
  readonly adoptedAtMs: number;
  readonly commit: CommitFacts | null;
  /** The name the pusher gave git (HTTP user of the admin token); empty for upstream or seeded revisions. */
  readonly pushedBy: string;
  /** Nodes whose bundle changed with this revision. */
  readonly changed: readonly string[];
  /** In the order they started (first lease request, else their switch). */
  readonly nodes: readonly NodeRollout[];
  readonly reboots: number;
  /** Last activity once nothing is in progress any more; null while something is. */
  readonly endedAtMs: number | null;
  readonly outcome: RolloutOutcome;
  readonly haltReason: string;
}

interface NodeAcc {
  spans: { phase: TimelinePhase; startMs: number; endMs: number | null }[];
  appliedAtMs: number | null;
  outcome: NodeOutcome;
}

interface RevisionAcc {
  revision: string;
  adoptedAtMs: number;
  pushedBy: string;
  changed: string[];
  nodes: Map<string, NodeAcc>;
  halt: string | null;
  /** Whether its revision-adopted event was seen: a node's first step can be journaled before it. */
  adopted: boolean;
}

const PHASES = new Set<string>(TIMELINE_PHASES);

function asPhase(s: string | undefined): TimelinePhase | null {
  return s !== undefined && PHASES.has(s) ? (s as TimelinePhase) : null;
}

/** The target of a lease-phase event: its `to` field, else the "a → b" of its message. */
function phaseTarget(e: EventView): TimelinePhase | null {
  return asPhase(e.fields.to) ?? asPhase(/^\w+ → (\w+)/.exec(e.message)?.[1]);
}

function closeOpen(acc: NodeAcc, atMs: number): void {
  const last = acc.spans[acc.spans.length - 1];
  if (last && last.endMs === null) last.endMs = Math.max(last.startMs, atMs);
}

function enter(acc: NodeAcc, phase: TimelinePhase, atMs: number): void {
  closeOpen(acc, atMs);
  acc.spans.push({ phase, startMs: atMs, endMs: null });
  acc.outcome = "in-progress";
}

const END_OF_LEASE: Readonly<Record<string, NodeOutcome>> = {
  "lease-released": "done",
  "lease-released-failed": "failed",
  "lease-force-released": "released",
  "lease-request-dropped": "dropped",
};

/** Events that move a node along its timeline; others (deadline warnings...) leave it as it is. */
const NODE_KINDS = new Set(["lease-queued", "lease-granted", "lease-phase", "lease-drained", "node-applied", ...Object.keys(END_OF_LEASE)]);

/** Whether an event kind matters to the rollout timeline (the journal keeps only these). */
export function isRolloutEvent(kind: string): boolean {
  return NODE_KINDS.has(kind) || kind === "revision-adopted" || kind === "rollout-halted" || kind === "rollout-halt-lifted";
}

function applyToNode(acc: NodeAcc, e: EventView): void {
  if (e.kind === "lease-queued") {
    // A request renewed while queued keeps its place: one queued span.
    const last = acc.spans[acc.spans.length - 1];
    if (!(last && last.endMs === null)) enter(acc, "queued", e.timeMs);
  } else if (e.kind === "lease-granted") enter(acc, "granted", e.timeMs);
  else if (e.kind === "lease-phase") {
    const to = phaseTarget(e);
    if (to) enter(acc, to, e.timeMs);
  } else if (e.kind === "lease-drained") {
    // The coordinator's drain finished; a holder that already moved on to rebooting stays there.
    const last = acc.spans[acc.spans.length - 1];
    if (last?.phase === "draining" && last.endMs === null) enter(acc, "drained", e.timeMs);
  } else if (e.kind === "node-applied") {
    acc.appliedAtMs ??= e.timeMs;
    if (acc.spans.length === 0) acc.outcome = "done";
  } else {
    const ended = END_OF_LEASE[e.kind];
    if (ended === undefined) return;
    closeOpen(acc, e.timeMs);
    acc.outcome = ended;
  }
}

function nodeOf(rev: RevisionAcc, node: string): NodeAcc {
  let acc = rev.nodes.get(node);
  if (!acc) rev.nodes.set(node, (acc = { spans: [], appliedAtMs: null, outcome: "in-progress" }));
  return acc;
}

/**
 * Rows follow the order nodes were disrupted (their first span after waiting in the queue), not the order they
 * asked: a node queued first may wait longer (an agent waits for the servers' k3s upgrade, a canary goes first).
 */
function startOf(n: NodeRollout): number {
  const span = n.spans.find((s) => s.phase !== "queued") ?? n.spans[0];
  return span?.startMs ?? n.appliedAtMs ?? Number.MAX_SAFE_INTEGER;
}

function finish(rev: RevisionAcc, newer: boolean, commits: ReadonlyMap<string, CommitFacts>): RevisionRollout {
  const nodes: NodeRollout[] = [...rev.nodes].map(([node, acc]) => ({
    node,
    spans: acc.spans.map((s) => ({ ...s })),
    appliedAtMs: acc.appliedAtMs,
    outcome: acc.outcome,
    rebooted: acc.spans.some((s) => s.phase === "rebooting"),
  }));
  nodes.sort((a, b) => startOf(a) - startOf(b) || a.node.localeCompare(b.node));
  const open = nodes.some((n) => n.outcome === "in-progress");
  const byName = new Map(nodes.map((n) => [n.node, n]));
  const allApplied = rev.changed.every((name) => {
    const n = byName.get(name);
    return n !== undefined && (n.appliedAtMs !== null || n.outcome === "done");
  });
  const ends = nodes.flatMap((n) => [...n.spans.map((s) => s.endMs ?? s.startMs), ...(n.appliedAtMs === null ? [] : [n.appliedAtMs])]);
  const lastActivity = Math.max(rev.adoptedAtMs, ...ends);
  const failed = nodes.some((n) => n.outcome === "failed");
  const outcome: RolloutOutcome =
    rev.halt !== null ? "halted" : failed ? "failed" : !open && allApplied ? "converged" : newer ? "superseded" : "rolling-out";
  return {
    revision: rev.revision,
    adoptedAtMs: rev.adoptedAtMs,
    commit: commits.get(rev.revision) ?? null,
    pushedBy: rev.pushedBy,
    changed: rev.changed,
    nodes,
    reboots: nodes.reduce((sum, n) => sum + n.spans.filter((s) => s.phase === "rebooting").length, 0),
    endedAtMs: open || outcome === "rolling-out" ? null : lastActivity,
    outcome,
    haltReason: rev.halt ?? "",
  };
}

/**
 * Groups the journal by revision, newest adoption first. Lease events carry the revision the node is moving
 * to, so a node still rebooting for an older revision after a newer push stays on the older one's timeline.
 */
export function deriveRollouts(events: readonly EventView[], commits: ReadonlyMap<string, CommitFacts> = new Map()): RevisionRollout[] {
  const revisions = new Map<string, RevisionAcc>();
  const order: string[] = [];
  const revisionOf = (revision: string, atMs: number): RevisionAcc => {
    let rev = revisions.get(revision);
    if (!rev) {
      rev = { revision, adoptedAtMs: atMs, pushedBy: "", changed: [], nodes: new Map(), halt: null, adopted: false };
      revisions.set(revision, rev);
      order.push(revision);
    }
    return rev;
  };
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    if (e.revision === "") continue;
    if (e.kind === "revision-adopted") {
      const rev = revisionOf(e.revision, e.timeMs);
      // A re-adoption (e.g. after a restart) does not restart the clock. The adoption is journaled after the agents
      // were told, so a node's first step may come before it: the rollout still began no later than that step.
      if (rev.adopted) continue;
      rev.adopted = true;
      rev.adoptedAtMs = Math.min(rev.adoptedAtMs, e.timeMs);
      rev.pushedBy = e.fields.pushedBy ?? "";
      rev.changed = (e.fields.changed ?? "").split(",").filter((n) => n !== "");
    } else if (e.kind === "rollout-halted") revisionOf(e.revision, e.timeMs).halt = e.message;
    else if (e.kind === "rollout-halt-lifted") {
      const rev = revisions.get(e.revision);
      if (rev) rev.halt = null;
    } else if (e.node !== "" && NODE_KINDS.has(e.kind)) {
      applyToNode(nodeOf(revisionOf(e.revision, e.timeMs), e.node), e);
    }
  }
  const adopted = order.map((r) => revisions.get(r)!).sort((a, b) => a.adoptedAtMs - b.adoptedAtMs);
  return adopted.map((rev, i) => finish(rev, i < adopted.length - 1, commits)).reverse();
}
