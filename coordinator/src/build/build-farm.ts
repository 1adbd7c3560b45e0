// The coordinator's builders: the build queue over connected builder agents, their results and logs, per revision.
import { errorMessage } from "../../../shared/src/errors/index.js";
import type { Inventory, NodeSystem } from "../../../shared/src/inventory/index.js";
import type { RebootPolicy } from "../../../shared/src/inventory/model.js";
import type { Logger } from "../../../shared/src/log/index.js";
import type { BundleFile } from "../../../shared/src/render/index.js";
import type { NodeDesired } from "../inventory/index.js";
import { BuildArchive } from "./build-archive.js";
import { assignJobs, buildCounts, builderLost, enqueueRevision, jobFinished, jobKey, keepFinished, type BuildCounts, type BuildJobRecord, type BuiltPaths } from "./build-queue.js";
import { expectedDisruption, type ExpectedDisruption, type NodeRunning } from "./expected-disruption.js";
import { nodeBuildDecision, type NodeBuildDecision } from "./node-build-decision.js";

/** A node's newest build job, as the status shows it. */
export interface BuildJobView {
  readonly node: string;
  readonly revision: string;
  readonly state: "queued" | "building" | "pushed" | "failed";
  /** The builder working on it or that finished it; "" while queued. */
  readonly builder: string;
  readonly error: string;
  /** A pushed build: what switching the node to it would take (expectedDisruption); "" otherwise. */
  readonly disruption: ExpectedDisruption["outcome"] | "";
  readonly disruptionReason: string;
}

/** One job as a builder receives it. */
export interface BuildJobMessage {
  readonly revision: string;
  readonly node: string;
  readonly bundleSha256: string;
  readonly files: readonly BundleFile[];
  readonly cacheUrl: string;
}

export type BuildOutcome = { readonly ok: true; readonly built: BuiltPaths } | { readonly ok: false; readonly error: string };

/** How a preview's build on a builder ended, for its plan. */
export type PreviewBuildOutcome =
  | { readonly kind: "pushed"; readonly built: BuiltPaths }
  | { readonly kind: "failed"; readonly error: string; readonly log: string }
  | { readonly kind: "cancelled"; readonly reason: string };

export interface BuildFarmOptions {
  /** Jobs one builder runs at once. */
  readonly jobsPerBuilder: number;
  /** Finished builds (and their logs) kept per node, the newest; each log cut to its last `logBytes`. */
  readonly keepPerNode: number;
  readonly logBytes: number;
  /** Where finished jobs and logs are kept; in memory only without one. */
  readonly archive?: BuildArchive;
  readonly log: Logger;
  /** A node's job reached pushed or failed: its desired state can go out (or its halt be shown). */
  readonly onSettled: (node: string) => void;
  /** What a node last reported running, for the expected disruption of its builds; null if it never reported. */
  readonly running?: (node: string) => NodeRunning | null;
  /** A preview's build finished, failed or was replaced by a newer preview's. */
  readonly onPreviewBuilt?: (preview: string, node: string, bundleSha256: string, outcome: PreviewBuildOutcome) => void;
}

export class BuildFarm {
  private jobs: BuildJobRecord[] = [];
  private inventory: Inventory | null = null;
  private readonly files = new Map<string, readonly BundleFile[]>();
  private readonly builders = new Map<string, { systems: readonly NodeSystem[]; send: (job: BuildJobMessage) => void }>();
  private readonly archive: BuildArchive;
  /** Preview builds: after every desired job (lower priority), never desired, not kept once their plan has them. */
  private previewJobs: BuildJobRecord[] = [];
  private readonly previewOf = new Map<string, string>();

  constructor(private readonly options: BuildFarmOptions) {
    this.archive = options.archive ?? new BuildArchive(null);
  }

  /** Takes back the finished jobs a previous run kept (before the first adoption). */
  async load(): Promise<void> {
    this.jobs = keepFinished(await this.archive.load(), this.options.keepPerNode);
  }

  /**
   * A revision was adopted: in builders mode, a job per changed node, before any agent hears of the new bundle. The
   * first adoption (the coordinator starting) queues every node without a kept finished build of its bundle: jobs in
   * flight did not survive the restart (a builder that still has the system builds nothing again).
   */
  revisionAdopted(inventory: Inventory, changedNow: readonly NodeDesired[], all: readonly NodeDesired[]): void {
    const settled = (d: NodeDesired) => this.jobs.some((j) => j.node === d.node.name && j.revision === d.revision && j.bundleSha256 === d.bundle.sha256);
    const changed = this.inventory === null ? all.filter((d) => !settled(d)) : changedNow;
    this.inventory = inventory;
    if (inventory.cluster.build.mode !== "builders" || changed.length === 0) return;
    for (const d of changed) this.files.set(`${d.revision}/${d.node.name}`, d.bundle.files);
    // Jobs are keyed by the revision at which each node's bundle changed, as the desired state names it.
    for (const [revision, group] of groupBy(changed, (d) => d.revision)) {
      this.jobs = enqueueRevision(this.jobs, revision, group.map((d) => ({ node: d.node.name, system: d.node.system, bundleSha256: d.bundle.sha256 })));
    }
    this.pump();
  }

  /** Whether previews are built here (builders mode) rather than on the nodes. */
  buildsPreviews(): boolean {
    return this.inventory?.cluster.build.mode === "builders";
  }

  /** Builds a preview's changed nodes; a node's unfinished build of an older preview is dropped (the newest wins). */
  buildPreview(name: string, revision: string, nodes: readonly NodeDesired[]): void {
    const names = new Set(nodes.map((d) => d.node.name));
    for (const j of this.previewJobs.filter((j) => names.has(j.node))) this.previewSettled(j, { kind: "cancelled", reason: `a newer preview (${name}) replaced it` });
    for (const d of nodes) this.files.set(`${revision}/${d.node.name}`, d.bundle.files);
    this.previewJobs = enqueueRevision(this.previewJobs.filter((j) => !names.has(j.node)), revision, nodes.map((d) => ({ node: d.node.name, system: d.node.system, bundleSha256: d.bundle.sha256 })));
    for (const d of nodes) this.previewOf.set(`${revision}/${d.node.name}`, name);
    this.pump();
  }

  /** Drops a preview's unfinished builds (a builder's late result is then ignored). */
  cancelPreview(name: string): void {
    this.previewJobs = this.previewJobs.filter((j) => this.previewOf.get(jobKey(j)) !== name);
    for (const [key, n] of this.previewOf) if (n === name) this.previewOf.delete(key);
  }

  /** A builder agent opened its job stream; returns what to call when the stream ends. Its systems come from the inventory. */
  connect(builder: string, send: (job: BuildJobMessage) => void): () => void {
    const spec = this.inventory?.cluster.build.mode === "builders" ? this.inventory.cluster.build.builders.find((b) => b.name === builder) : undefined;
    if (!spec) throw new Error(`${builder} is not a builder (cluster.build.builders)`);
    const entry = { systems: spec.systems, send };
    this.builders.set(builder, entry);
    this.options.log.info({ builder, systems: spec.systems }, "builder connected");
    this.pump();
    return () => {
      if (this.builders.get(builder) !== entry) return;
      this.builders.delete(builder);
      this.jobs = builderLost(this.jobs, builder);
      this.settle();
      this.previewJobs = builderLost(this.previewJobs, builder);
      for (const j of this.previewJobs.filter((j) => j.state === "failed")) this.previewSettled(j, { kind: "failed", error: j.error ?? "builders lost", log: "" });
      this.options.log.warn({ builder }, "builder disconnected; its jobs go to another builder");
      for (const j of this.jobs.filter((j) => j.state === "failed" && j.lost.includes(builder))) this.options.onSettled(j.node);
      this.pump();
    };
  }

  report(builder: string, revision: string, node: string, outcome: BuildOutcome, log: string): void {
    // A preview of the very commit main has may be building the same bundle: either result serves both.
    const preview = this.previewJobs.find((j) => j.revision === revision && j.node === node && j.state === "building" && j.builder === builder);
    if (preview) {
      this.previewSettled(preview, outcome.ok ? { kind: "pushed", built: outcome.built } : { kind: "failed", error: outcome.error, log: log.slice(-this.options.logBytes) });
      this.pump();
    }
    const before = this.jobs.find((j) => j.revision === revision && j.node === node);
    this.jobs = jobFinished(this.jobs, revision, node, builder, outcome);
    const after = this.jobs.find((j) => j.revision === revision && j.node === node);
    if (!after || after === before) return;
    void this.archive.writeLog(after, log.length > this.options.logBytes ? log.slice(log.length - this.options.logBytes) : log).catch((err: unknown) => this.options.log.warn({ node, err: errorMessage(err) }, "cannot keep a build log"));
    this.settle();
    this.options.log.info({ builder, node, rev: revision, ok: outcome.ok }, "build finished");
    this.options.onSettled(node);
    this.pump();
  }

  decision(d: NodeDesired): NodeBuildDecision {
    const build = this.inventory?.cluster.build ?? { mode: "local" as const };
    return nodeBuildDecision(build, d.node, d.bundle.sha256, this.jobs.find((j) => j.node === d.node.name && j.revision === d.revision));
  }

  /** The kept log of a node's newest build, or of its build at `revision` (a prefix of the commit id). */
  async buildLog(node: string, revision?: string): Promise<{ revision: string; state: string; log: string } | null> {
    const job = [...this.jobs].reverse().find((j) => j.node === node && (revision === undefined || j.revision.startsWith(revision)));
    return job ? { revision: job.revision, state: job.state, log: job.state === "pushed" || job.state === "failed" ? await this.archive.readLog(job) : "" } : null;
  }

  counts(revision: string): BuildCounts {
    return buildCounts(this.jobs, revision);
  }

  /** How many nodes' newest jobs are in each state (for the metrics). */
  currentCounts(): BuildCounts {
    const newest = new Map<string, BuildJobRecord>();
    for (const j of this.jobs) newest.set(j.node, j);
    const counts = { queued: 0, building: 0, pushed: 0, failed: 0 };
    for (const j of newest.values()) counts[j.state] += 1;
    return counts;
  }

  /** Each node's newest job, by node name; null outside builders mode (the status then shows no builds). */
  views(): BuildJobView[] | null {
    if (this.inventory?.cluster.build.mode !== "builders") return null;
    const newest = new Map<string, BuildJobRecord>();
    for (const j of this.jobs) newest.set(j.node, j);
    return [...newest.values()]
      .sort((a, b) => (a.node < b.node ? -1 : a.node > b.node ? 1 : 0))
      .map((j) => {
        const expected = j.state === "pushed" && j.built ? this.expected(j.node, j.built) : null;
        return { node: j.node, revision: j.revision, state: j.state, builder: j.builder ?? "", error: j.error ?? "", disruption: expected?.outcome ?? "", disruptionReason: expected?.reason ?? "" };
      });
  }

  /** What switching `node` to `built` would take, from paths only (see expectedDisruption). */
  expected(node: string, built: BuiltPaths, policy: RebootPolicy = this.inventory?.cluster.rollout.reboot ?? "auto"): ExpectedDisruption {
    const running = this.options.running?.(node) ?? null;
    const bootedBuild = running ? (this.jobs.find((j) => j.built?.systemPath === running.bootedSystem)?.built ?? null) : null;
    return expectedDisruption(built, running, policy, bootedBuild);
  }

  jobList(): readonly BuildJobRecord[] {
    return this.jobs;
  }

  private pump(): void {
    const connected = [...this.builders].map(([name, b]) => ({ name, systems: b.systems }));
    // Desired jobs first: a preview takes only what capacity they leave.
    const { jobs, assignments } = assignJobs([...this.jobs, ...this.previewJobs], connected, this.options.jobsPerBuilder);
    [this.jobs, this.previewJobs] = [jobs.slice(0, this.jobs.length), jobs.slice(this.jobs.length)];
    const build = this.inventory?.cluster.build;
    const cacheUrl = build?.mode === "builders" ? build.cache.url : "";
    for (const a of assignments) {
      const files = this.files.get(`${a.job.revision}/${a.job.node}`) ?? [];
      this.builders.get(a.builder)!.send({ revision: a.job.revision, node: a.job.node, bundleSha256: a.job.bundleSha256, files, cacheUrl });
    }
    // Bundle files are only needed until their job is done (or replaced by a newer revision's).
    const open = new Set([...this.jobs, ...this.previewJobs].filter((j) => j.state === "queued" || j.state === "building").map(jobKey));
    for (const key of this.files.keys()) if (!open.has(key)) this.files.delete(key);
  }

  private previewSettled(job: BuildJobRecord, outcome: PreviewBuildOutcome): void {
    this.previewJobs = this.previewJobs.filter((j) => j !== job);
    const name = this.previewOf.get(jobKey(job));
    this.previewOf.delete(jobKey(job));
    if (name !== undefined) this.options.onPreviewBuilt?.(name, job.node, job.bundleSha256, outcome);
  }

  /** A job finished: bound the kept ones and record them. */
  private settle(): void {
    this.jobs = keepFinished(this.jobs, this.options.keepPerNode);
    void this.archive.saveJobs(this.jobs).catch((err: unknown) => this.options.log.warn({ err: errorMessage(err) }, "cannot keep the finished builds"));
  }
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) out.set(key(item), [...(out.get(key(item)) ?? []), item]);
  return out;
}
