// No agent is sent an older bundle than one it was sent before. HA chaos seed 26300722: a coordinator whose catalog
// trailed the store sent a node a bundle three pushes old, and only the node's odd "rolled back" gave it away. Agents
// log every bundle they receive; the order of the acknowledged pushes, and each one's rendered bundles, say which is older.
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

/** The pushes that rendered, in push order: each one's commit and every node's bundle (first 12 hex digits, as logged). */
export interface PushedBundles {
  readonly commits: readonly string[];
  readonly byNode: ReadonlyMap<string, readonly string[]>;
}

/**
 * Every push that rendered, acknowledged or not: one whose answer was lost may have landed all the same, and listing
 * a push that did not only lets more deliveries pass. A push meant to be refused does not render.
 */
export function pushedBundles(pushes: ReadonlyArray<{ readonly sha: string; readonly shas?: ReadonlyMap<string, string> }>, nodes: readonly string[]): PushedBundles {
  const rendered = pushes.filter((p) => p.shas !== undefined);
  return { commits: rendered.map((p) => p.sha), byNode: new Map(nodes.map((n) => [n, rendered.map((p) => p.shas!.get(n)?.slice(0, 12) ?? "")])) };
}

/**
 * Deliveries of a bundle that only pushes older than the node's place had. Judged by bundle: each coordinator names the
 * commit where its own catalog first saw a bundle, so two that fetched different commits name one bundle differently.
 * A node's place is the earliest push at or after its last place whose bundle it was sent, or later: the push the
 * message names, when that push had the bundle (its sender had reached that commit). `position` carries each node's
 * place from one call to the next. A bundle no push had (the cluster's first commit) is not judged.
 */
export function backwardDeliveries(deliveries: readonly Delivery[], pushed: PushedBundles, position: Map<string, { index: number; delivery: Delivery }>): string[] {
  const out: string[] = [];
  for (const d of deliveries) {
    const bundles = pushed.byNode.get(d.node) ?? [];
    const from = position.get(d.node);
    const start = from?.index ?? 0;
    const named = pushed.commits.indexOf(d.revision);
    const index = named >= start && bundles[named] === d.sha ? named : bundles.indexOf(d.sha, start);
    if (index >= 0) {
      position.set(d.node, { index, delivery: d });
      continue;
    }
    const older = bundles.lastIndexOf(d.sha, start);
    if (older >= 0 && from) {
      out.push(`${at(d.atMs)}: ${d.node} was sent bundle ${d.sha} (push ${older + 1}, revision ${d.revision.slice(0, 12)}) after bundle ${from.delivery.sha} of the newer push ${from.index + 1} (at ${at(from.delivery.atMs)})`);
    }
  }
  return out;
}

/** Reads what each node's agent.log gained since the last call. */
export class DeliveryLog {
  private readonly offsets = new Map<string, number>();
  private readonly position = new Map<string, { index: number; delivery: Delivery }>();
  /** Deliveries read so far (the run's summary shows the check saw some). */
  seen = 0;

  constructor(private readonly logFiles: ReadonlyMap<string, string>) {}

  /** Violations among the deliveries logged since the last call. */
  async check(pushed: PushedBundles): Promise<string[]> {
    const deliveries: Delivery[] = [];
    for (const [node, file] of this.logFiles) deliveries.push(...parseDeliveries(node, await this.readNew(node, file)));
    this.seen += deliveries.length;
    return backwardDeliveries(deliveries, pushed, this.position);
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
