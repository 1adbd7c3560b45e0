// Previews: render a pushed refs/heads/preview/<name>, send build-only requests to the nodes whose bundle would
// change, collect their results into a plan, and drop it on delete or expiry. Nothing here makes anything desired.
import { errorMessage, NkError } from "../../../shared/src/errors/index.js";
import { formatDiagnostic, validateRepo, type Inventory, type RepoFiles } from "../../../shared/src/inventory/index.js";
import type { Logger } from "../../../shared/src/log/index.js";
import { assertPreviewName } from "../../../shared/src/names/index.js";
import { renderCluster, secretNamesFor } from "../../../shared/src/render/index.js";
import { FINAL_OUTCOMES, type PreviewResult } from "../../../shared/src/wire/index.js";
import type { NodeFeed } from "../fleet/index.js";
import { PREVIEW_REF_PREFIX } from "../git/index.js";
import type { DesiredCatalog, NodeDesired } from "../inventory/index.js";
import type { RebootPolicy } from "../../../shared/src/inventory/model.js";
import type { BuildOutcomeForPlan } from "./preview-built.js";
import { previewResultOf } from "./preview-built.js";
import type { BuiltPaths } from "../build/build-queue.js";
import type { ExpectedDisruption } from "../build/expected-disruption.js";
import type { PlanBook } from "./plan-book.js";
import { disruptionWindows, viewPlan, type NodePlanRecord, type PlanRecord, type PlanView, type RolloutLimits } from "./plan-summary.js";


/** One message for an agent's stream: build `desired` (rendered from the preview's own inventory), or stop. */
export interface PreviewMessage {
  readonly name: string;
  readonly cancel: boolean;
  readonly desired: NodeDesired | null;
  readonly inventory: Inventory | null;
}

/** Builders mode: previews go to the builders (BuildFarm), and a built system is classified from its paths. */
export interface PreviewBuilders {
  buildsPreviews(): boolean;
  buildPreview(name: string, revision: string, nodes: readonly NodeDesired[]): void;
  cancelPreview(name: string): void;
  expected(node: string, built: BuiltPaths, policy: RebootPolicy): ExpectedDisruption;
}

export interface PreviewServiceDeps {
  readonly book: PlanBook;
  readonly catalog: DesiredCatalog;
  readonly feed: NodeFeed<PreviewMessage>;
  readonly repo: { readTree(rev: string): Promise<RepoFiles>; treeOf(rev: string): Promise<string>; deleteRef(ref: string): Promise<void> };
  readonly events: { readEvents(o: { tail?: number }): Promise<ReadonlyArray<{ kind: string; node?: string; timeMs: number }>> };
  readonly ttlMs: number;
  readonly builders?: PreviewBuilders;
  readonly now: () => number;
  readonly log: Logger;
}

interface Rendered {
  readonly revision: string;
  readonly inventory: Inventory;
  readonly byNode: ReadonlyMap<string, NodeDesired>;
}

const NO_LIMITS: RolloutLimits = { maxUnavailable: 1, maxUnavailableServers: 1, settleSeconds: 0, hasWindow: false };

export class PreviewService {
  private readonly rendered = new Map<string, Rendered>();
  private windows: number[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly deps: PreviewServiceDeps) {}

  get feed(): NodeFeed<PreviewMessage> {
    return this.deps.feed;
  }

  /** Re-renders plans still waiting on nodes (after a restart) and drops expired ones every minute. */
  async start(): Promise<void> {
    await this.expire();
    for (const plan of this.deps.book.list()) {
      if (plan.nodes.some((n) => !FINAL_OUTCOMES.has(n.outcome))) {
        await this.render(plan.revision).then(
          (r) => {
            this.rendered.set(plan.name, r);
            if (plan.builtBy === "builders") this.toBuilders(plan);
          },
          (err: unknown) => this.deps.log.warn({ preview: plan.name, err: errorMessage(err) }, "cannot render a preview again; its waiting nodes stay pending"),
        );
      }
    }
    await this.refreshWindows();
    this.timer = setInterval(() => void this.expire().catch((err: unknown) => this.deps.log.warn({ err: errorMessage(err) }, "preview expiry failed")), 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** A push of refs/heads/preview/<name> was accepted: plan it and ask the nodes whose bundle changes to build it. */
  async preview(name: string, revision: string): Promise<string[]> {
    assertPreviewName(name);
    const { catalog, book, now, ttlMs } = this.deps;
    const rendered = await this.render(revision);
    const previous = book.get(name);
    const viaBuilders = this.deps.builders?.buildsPreviews() === true;
    const at = now();
    const nodes: NodePlanRecord[] = [];
    for (const [node, d] of rendered.byNode) {
      const unchanged = catalog.get(node)?.bundle.sha256 === d.bundle.sha256;
      const base = { node, role: d.node.role, units: [], changes: [], logTail: "", sha256: d.bundle.sha256, updatedAtMs: at };
      nodes.push(unchanged ? { ...base, outcome: "no-op", reason: "bundle unchanged: nothing to build" } : { ...base, outcome: "pending", reason: viaBuilders ? "sent to the builders" : "sent to the node" });
    }
    for (const d of catalog.nodes()) {
      if (!rendered.byNode.has(d.node.name)) nodes.push({ node: d.node.name, role: d.node.role, outcome: "no-op", reason: "not in this revision: nk stops managing the node (nothing is applied)", units: [], changes: [], logTail: "", sha256: "", updatedAtMs: at });
    }
    nodes.sort((a, b) => a.node.localeCompare(b.node));
    const plan: PlanRecord = { name, revision, tree: await this.deps.repo.treeOf(revision), createdAtMs: at, expiresAtMs: at + ttlMs, ...(viaBuilders ? { builtBy: "builders" as const } : {}), nodes };
    this.rendered.set(name, rendered);
    await book.put(plan);
    if (previous?.builtBy === "builders") this.deps.builders?.cancelPreview(name);
    if (viaBuilders) {
      if (previous && previous.builtBy !== "builders") for (const n of previous.nodes) if (!FINAL_OUTCOMES.has(n.outcome)) this.send(n.node, { name, cancel: true, desired: null, inventory: null });
      const building = nodes.filter((n) => n.outcome === "pending").length;
      this.toBuilders(plan);
      this.deps.log.info({ preview: name, rev: revision, building }, "preview sent to the builders");
      return [
        `nk: preview ${name} at ${revision.slice(0, 12)}: the builders build ${building} node(s), ${nodes.length - building} unchanged; no node builds anything, nothing is applied`,
        `nk: see the plan with: nkctl plan show ${name}`,
      ];
    }
    // Nodes that built the previous push of this name but have nothing to build now stop it.
    for (const n of previous?.nodes ?? []) {
      if (!FINAL_OUTCOMES.has(n.outcome) && plan.nodes.find((m) => m.node === n.node)?.outcome !== "pending") this.send(n.node, { name, cancel: true, desired: null, inventory: null });
    }
    let reached = 0;
    for (const n of nodes.filter((x) => x.outcome === "pending")) reached += this.sendRequest(name, n.node) > 0 ? 1 : 0;
    const building = nodes.filter((n) => n.outcome === "pending").length;
    this.deps.log.info({ preview: name, rev: revision, building, reached }, "preview sent");
    return [
      `nk: preview ${name} at ${revision.slice(0, 12)}: ${building} node(s) build it (${reached} connected now), ${nodes.length - building} unchanged; nothing is applied`,
      `nk: see the plan with: nkctl plan show ${name}`,
    ];
  }

  /** The request to send a node that (re)connects: the newest preview it has not answered yet. */
  pendingFor(node: string): PreviewMessage | null {
    for (const plan of this.deps.book.list()) {
      const entry = plan.nodes.find((n) => n.node === node);
      if (!entry || FINAL_OUTCOMES.has(entry.outcome) || plan.builtBy === "builders") continue;
      const message = this.requestFor(plan.name, node);
      if (message) return message;
    }
    return null;
  }

  async report(node: string, r: PreviewResult): Promise<void> {
    const updated = await this.deps.book.updateNode(r.name, node, r.sha256, (n) => ({
      ...n,
      outcome: r.outcome,
      reason: r.reason.slice(0, 2000),
      units: r.units.slice(0, 200),
      changes: r.changes.slice(0, 20),
      logTail: r.logTail.slice(-4000),
      updatedAtMs: this.deps.now(),
    }));
    if (!updated) this.deps.log.debug({ node, preview: r.name }, "preview result for an unknown or replaced preview ignored");
    if (updated && FINAL_OUTCOMES.has(r.outcome)) await this.refreshWindows();
  }

  /** A builder finished (or dropped) a node's build of a preview: classify it from paths and record it. */
  async builtOnBuilders(name: string, node: string, sha256: string, outcome: BuildOutcomeForPlan): Promise<void> {
    const policy = this.rendered.get(name)?.inventory.cluster.rollout.reboot ?? "auto";
    const expected = outcome.kind === "pushed" && this.deps.builders ? this.deps.builders.expected(node, outcome.built, policy) : null;
    await this.report(node, previewResultOf(name, sha256, outcome, expected));
  }

  /** Drops the plan, its ref and (on the nodes) its builds. */
  async delete(name: string, why = "deleted"): Promise<boolean> {
    const plan = this.deps.book.get(name);
    if (!plan) return false;
    await this.deps.repo.deleteRef(`${PREVIEW_REF_PREFIX}${name}`);
    await this.deps.book.remove(name);
    this.rendered.delete(name);
    if (plan.builtBy === "builders") this.deps.builders?.cancelPreview(name);
    else for (const n of plan.nodes) if (n.sha256 !== "") this.send(n.node, { name, cancel: true, desired: null, inventory: null });
    this.deps.log.info({ preview: name, why }, "preview dropped");
    return true;
  }

  async expire(): Promise<string[]> {
    const now = this.deps.now();
    const expired = this.deps.book.list().filter((p) => p.expiresAtMs <= now).map((p) => p.name);
    for (const name of expired) await this.delete(name, "expired");
    return expired;
  }

  views(): PlanView[] {
    const limits = this.limits();
    return this.deps.book.list().map((p) => viewPlan(p, limits, this.windows));
  }

  view(name: string): PlanView {
    const plan = this.deps.book.get(name);
    if (!plan) throw new NkError("REVISION_UNKNOWN", `no preview plan "${name}" (nkctl plan list shows them; push refs/heads/preview/${name} or run nkctl plan --name ${name})`);
    return viewPlan(plan, this.limits(), this.windows);
  }

  /** `remote:` lines for a main push whose tree was previewed: that plan's summary. */
  async summaryForMain(revision: string): Promise<string[]> {
    if (this.deps.book.list().length === 0) return [];
    const tree = await this.deps.repo.treeOf(revision);
    const plan = this.deps.book.list().find((p) => p.tree === tree);
    if (!plan) return [];
    await this.refreshWindows();
    return [`nk: this tree was previewed: ${this.view(plan.name).summary}`];
  }

  private limits(): RolloutLimits {
    const r = this.deps.catalog.inventory?.cluster.rollout;
    return r ? { maxUnavailable: r.maxUnavailable, maxUnavailableServers: r.maxUnavailableServers, settleSeconds: r.settleSeconds, hasWindow: r.windows.length > 0 } : NO_LIMITS;
  }

  private async refreshWindows(): Promise<void> {
    this.windows = disruptionWindows(await this.deps.events.readEvents({ tail: 2000 }));
  }

  /** The plan's nodes still waiting, as build jobs for the builders. */
  private toBuilders(plan: PlanRecord): void {
    const r = this.rendered.get(plan.name);
    const waiting = plan.nodes.filter((n) => !FINAL_OUTCOMES.has(n.outcome)).flatMap((n) => r?.byNode.get(n.node) ?? []);
    if (r && waiting.length > 0) this.deps.builders?.buildPreview(plan.name, r.revision, waiting);
  }

  private requestFor(name: string, node: string): PreviewMessage | null {
    const r = this.rendered.get(name);
    const desired = r?.byNode.get(node);
    return r && desired ? { name, cancel: false, desired, inventory: r.inventory } : null;
  }

  private sendRequest(name: string, node: string): number {
    const message = this.requestFor(name, node);
    return message ? this.send(node, message) : 0;
  }

  private send(node: string, message: PreviewMessage): number {
    return this.deps.feed.publishTo(node, message);
  }

  private async render(revision: string): Promise<Rendered> {
    const files = await this.deps.repo.readTree(revision);
    const result = validateRepo(files);
    if (!result.inventory) {
      const problems = result.diagnostics.filter((d) => d.severity === "error").map(formatDiagnostic);
      throw new NkError("INVENTORY_INVALID", `preview revision ${revision.slice(0, 12)} does not validate:\n${problems.join("\n")}`);
    }
    const inventory = result.inventory;
    const bundles = renderCluster(inventory, files);
    const byNode = new Map<string, NodeDesired>();
    for (const node of inventory.nodes) {
      const bundle = bundles.get(node.name);
      if (bundle) byNode.set(node.name, { node, revision, bundle, secretNames: secretNamesFor(inventory, node), adoptedAtMs: this.deps.now() });
    }
    return { revision, inventory, byNode };
  }
}
