// No agent is sent an older bundle than one it was sent before. HA chaos seed 26300722: a coordinator whose catalog
// trailed the store sent a node a bundle three pushes old, and only the node's odd "rolled back" gave it away. Agents
// log every bundle they receive; the order of the acknowledged pushes says which revision is older.
import { open } from "node:fs/promises";

export interface Delivery {
  readonly node: string;
  readonly revision: string;
  readonly sha: string;
  readonly atMs: number;
}

const RECEIVED = "desired bundle received";
const at = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/** The deliveries in lines of an agent's JSON log (other lines, and lines cut short, are skipped). */
export function parseDeliveries(node: string, text: string): Delivery[] {
  const out: Delivery[] = [];
  for (const line of text.split("\n")) {
    if (!line.includes(RECEIVED)) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; rev?: string; sha?: string; time?: number };
      if (entry.msg === RECEIVED && typeof entry.rev === "string" && typeof entry.sha === "string") out.push({ node, revision: entry.rev, sha: entry.sha, atMs: entry.time ?? 0 });
    } catch {
      // A line another process's output broke up: not a delivery this check can judge.
    }
  }
  return out;
}

/**
 * Deliveries of a revision older, in `pushOrder` (commit → index of its acknowledged push), than one the same node was
 * sent before; `newest` carries each node's newest delivery from one call to the next. A revision outside `pushOrder`
 * (the cluster's first commit, a push whose answer was lost) is not judged.
 */
export function backwardDeliveries(deliveries: readonly Delivery[], pushOrder: ReadonlyMap<string, number>, newest: Map<string, { index: number; delivery: Delivery }>): string[] {
  const out: string[] = [];
  for (const d of deliveries) {
    const index = pushOrder.get(d.revision);
    if (index === undefined) continue;
    const before = newest.get(d.node);
    if (before && index < before.index) {
      out.push(`${at(d.atMs)}: ${d.node} was sent bundle ${d.sha} of revision ${d.revision.slice(0, 12)} after bundle ${before.delivery.sha} of the newer revision ${before.delivery.revision.slice(0, 12)} (at ${at(before.delivery.atMs)})`);
    } else newest.set(d.node, { index, delivery: d });
  }
  return out;
}

/** Reads what each node's agent.log gained since the last call. */
export class DeliveryLog {
  private readonly offsets = new Map<string, number>();
  private readonly newest = new Map<string, { index: number; delivery: Delivery }>();
  /** Deliveries read so far (the run's summary shows the check saw some). */
  seen = 0;

  constructor(private readonly logFiles: ReadonlyMap<string, string>) {}

  /** Violations among the deliveries logged since the last call. */
  async check(pushOrder: ReadonlyMap<string, number>): Promise<string[]> {
    const deliveries: Delivery[] = [];
    for (const [node, file] of this.logFiles) deliveries.push(...parseDeliveries(node, await this.readNew(node, file)));
    this.seen += deliveries.length;
    return backwardDeliveries(deliveries, pushOrder, this.newest);
  }

  /** Whole lines only: a line still being written is read next time. */
  private async readNew(node: string, file: string): Promise<string> {
    const handle = await open(file, "r").catch(() => null);
    if (!handle) return "";
    try {
      const from = this.offsets.get(node) ?? 0;
      const size = (await handle.stat()).size;
      if (size <= from) return "";
      const buf = Buffer.alloc(size - from);
      await handle.read(buf, 0, buf.length, from);
      const end = buf.lastIndexOf(0x0a) + 1;
      this.offsets.set(node, from + end);
      return buf.subarray(0, end).toString("utf8");
    } finally {
      await handle.close();
    }
  }
}
