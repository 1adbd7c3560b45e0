// The preview plans this coordinator holds, kept in <stateDir>/previews.json so a restart keeps them.
import { readFile } from "node:fs/promises";
import { NkError } from "../../../shared/src/errors/index.js";
import { writeFileAtomic } from "../../../shared/src/fs/index.js";
import { ChangeSignal } from "../fleet/index.js";
import type { NodePlanRecord, PlanRecord } from "./plan-summary.js";

export class PlanBook {
  readonly changed = new ChangeSignal<void>();
  private readonly plans = new Map<string, PlanRecord>();
  private writes: Promise<void> = Promise.resolve();

  /** `path` null keeps the plans in memory only. */
  constructor(private readonly path: string | null) {}

  async load(): Promise<void> {
    if (this.path === null) return;
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return;
      throw new NkError("IO", `cannot read ${this.path}`, { cause: err });
    }
    let parsed: { plans?: PlanRecord[] };
    try {
      parsed = JSON.parse(text) as { plans?: PlanRecord[] };
    } catch (err) {
      throw new NkError("STATE_CORRUPT", `${this.path} is not JSON: remove it to drop every preview plan`, { cause: err });
    }
    for (const p of parsed.plans ?? []) this.plans.set(p.name, p);
  }

  /** Newest first. */
  list(): PlanRecord[] {
    return [...this.plans.values()].sort((a, b) => b.createdAtMs - a.createdAtMs || a.name.localeCompare(b.name));
  }

  get(name: string): PlanRecord | undefined {
    return this.plans.get(name);
  }

  put(plan: PlanRecord): Promise<void> {
    this.plans.set(plan.name, plan);
    return this.save();
  }

  /** Changes one node's entry if it is still about `sha256`; false when there is no such plan or entry. */
  async updateNode(name: string, node: string, sha256: string, change: (n: NodePlanRecord) => NodePlanRecord): Promise<boolean> {
    const plan = this.plans.get(name);
    const entry = plan?.nodes.find((n) => n.node === node);
    if (!plan || !entry || entry.sha256 !== sha256) return false;
    this.plans.set(name, { ...plan, nodes: plan.nodes.map((n) => (n === entry ? change(n) : n)) });
    await this.save();
    return true;
  }

  async remove(name: string): Promise<boolean> {
    if (!this.plans.delete(name)) return false;
    await this.save();
    return true;
  }

  private save(): Promise<void> {
    this.changed.emit();
    if (this.path === null) return Promise.resolve();
    const path = this.path;
    const text = JSON.stringify({ plans: this.list() }, null, 1);
    this.writes = this.writes.catch(() => undefined).then(() => writeFileAtomic(path, text, 0o600));
    return this.writes;
  }
}
