// The builders' job queue as a pure function of events: jobs per (revision, node), spread over builders, retried elsewhere.
import type { NodeSystem } from "../../../shared/src/inventory/index.js";

export type BuildJobState = "queued" | "building" | "pushed" | "failed";

/** What a builder reports for a pushed system: the toplevel and the paths that decide a reboot. */
export interface BuiltPaths {
  readonly systemPath: string;
  readonly kernel: string | null;
  readonly initrd: string | null;
  readonly kernelModules: string | null;
}

export interface BuildJobRecord {
  readonly revision: string;
  readonly node: string;
  readonly system: NodeSystem;
  readonly bundleSha256: string;
  readonly state: BuildJobState;
  /** The builder working on it (building), or that finished it (pushed, failed by a build error). */
  readonly builder: string | null;
  /** Builders that took the job and were lost before they finished it, oldest first. */
  readonly lost: readonly string[];
  readonly error: string | null;
  readonly built: BuiltPaths | null;
}

export interface ConnectedBuilder {
  readonly name: string;
  readonly systems: readonly NodeSystem[];
}

export interface Assignment {
  readonly builder: string;
  readonly job: BuildJobRecord;
}

/** A job whose builder was lost this many times fails instead of taking down yet another builder. */
export const MAX_LOST = 3;

export const jobKey = (j: { revision: string; node: string }): string => `${j.revision}/${j.node}`;

/**
 * A new revision's jobs, for the nodes whose bundle changed. A node's unfinished job of an older revision is dropped
 * (its builder's result will be ignored): only the newest bundle is worth building.
 */
export function enqueueRevision(jobs: readonly BuildJobRecord[], revision: string, nodes: readonly { node: string; system: NodeSystem; bundleSha256: string }[]): BuildJobRecord[] {
  const changed = new Set(nodes.map((n) => n.node));
  const kept = jobs.filter((j) => !changed.has(j.node) || j.state === "pushed" || j.state === "failed");
  const fresh = nodes.map((n): BuildJobRecord => ({ revision, ...n, state: "queued", builder: null, lost: [], error: null, built: null }));
  return [...kept.filter((j) => !fresh.some((f) => jobKey(f) === jobKey(j))), ...fresh];
}

/**
 * Hands queued jobs (oldest first) to connected builders of their system, the least busy first, up to `perBuilder`
 * each; a builder that was lost with a job gets it again only if no other builder can take it. A job no connected
 * builder can build waits without holding up any other job.
 */
export function assignJobs(jobs: readonly BuildJobRecord[], builders: readonly ConnectedBuilder[], perBuilder: number): { jobs: BuildJobRecord[]; assignments: Assignment[] } {
  const load = new Map(builders.map((b) => [b.name, jobs.filter((j) => j.state === "building" && j.builder === b.name).length]));
  const assignments: Assignment[] = [];
  const next = jobs.map((job) => {
    if (job.state !== "queued") return job;
    const able = builders.filter((b) => b.systems.includes(job.system) && load.get(b.name)! < perBuilder);
    const fresh = able.filter((b) => !job.lost.includes(b.name));
    const pick = [...(fresh.length > 0 ? fresh : able)].sort((a, b) => load.get(a.name)! - load.get(b.name)! || a.name.localeCompare(b.name))[0];
    if (!pick) return job;
    load.set(pick.name, load.get(pick.name)! + 1);
    const taken: BuildJobRecord = { ...job, state: "building", builder: pick.name };
    assignments.push({ builder: pick.name, job: taken });
    return taken;
  });
  return { jobs: next, assignments };
}

/** A builder disconnected or died: its jobs go back to the queue for another builder, or fail after MAX_LOST losses. */
export function builderLost(jobs: readonly BuildJobRecord[], builder: string): BuildJobRecord[] {
  return jobs.map((job) => {
    if (job.state !== "building" || job.builder !== builder) return job;
    const lost = [...job.lost, builder];
    if (lost.length >= MAX_LOST) return { ...job, state: "failed", builder: null, lost, error: `${lost.length} builders were lost while building it (${lost.join(", ")})` };
    return { ...job, state: "queued", builder: null, lost };
  });
}

/**
 * A builder's result. Only the builder the job is assigned to is heard (a lost builder that comes back late is not);
 * a build error is final, since the same bundle fails the same way on any builder.
 */
export function jobFinished(jobs: readonly BuildJobRecord[], revision: string, node: string, builder: string, result: { ok: true; built: BuiltPaths } | { ok: false; error: string }): BuildJobRecord[] {
  return jobs.map((job) => {
    if (job.revision !== revision || job.node !== node || job.state !== "building" || job.builder !== builder) return job;
    return result.ok ? { ...job, state: "pushed", built: result.built, error: null } : { ...job, state: "failed", error: result.error };
  });
}

/**
 * Bounds the finished jobs (and so the kept logs): each node keeps its newest `perNode` pushed or failed jobs, in
 * their order; queued and building jobs always stay.
 */
export function keepFinished(jobs: readonly BuildJobRecord[], perNode: number): BuildJobRecord[] {
  const seen = new Map<string, number>();
  const keep = new Set<BuildJobRecord>();
  for (const job of [...jobs].reverse()) {
    if (job.state === "queued" || job.state === "building") keep.add(job);
    else if ((seen.get(job.node) ?? 0) < perNode) {
      seen.set(job.node, (seen.get(job.node) ?? 0) + 1);
      keep.add(job);
    }
  }
  return jobs.filter((j) => keep.has(j));
}

export type BuildCounts = Readonly<Record<BuildJobState, number>>;

/** Build progress of one revision, for the status page, nkctl status and metrics. */
export function buildCounts(jobs: readonly BuildJobRecord[], revision: string): BuildCounts {
  const counts = { queued: 0, building: 0, pushed: 0, failed: 0 };
  for (const j of jobs) if (j.revision === revision) counts[j.state] += 1;
  return counts;
}
