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

/** Per node, the bundle (sha256, first 12 hex digits as agents log it) of each acknowledged push in order. */
export type PushedBundles = ReadonlyMap<string, readonly (string | undefined)[]>;

/** Each node's bundles from the acknowledged pushes, in push order (a push that did not render leaves a hole). */
export function pushedBundles(pushes: ReadonlyArray<{ readonly acked: boolean; readonly shas?: ReadonlyMap<string, string> }>, nodes: readonly string[]): PushedBundles {
  const acked = pushes.filter((p) => p.acked);
  return new Map(nodes.map((n) => [n, acked.map((p) => p.shas?.get(n)?.slice(0, 12))]));
}

/**
 * Deliveries of a bundle that only pushes older than the one the node was last sent had. Judged by bundle, not by the
 * revision the message names: each coordinator names the commit where its own catalog first saw the bundle, so two
 * coordinators that fetched different commits name the same bundle differently. `position` carries each node's place
 * in `pushed` (the earliest push at or after its last place whose bundle it was sent) from one call to the next. A
 * bundle no acknowledged push had (the cluster's first commit) is not judged.
 */
export function backwardDeliveries(deliveries: readonly Delivery[], pushed: PushedBundles, position: Map<string, { index: number; delivery: Delivery }>): string[] {
  const out: string[] = [];
  for (const d of deliveries) {
    const bundles = pushed.get(d.node) ?? [];
    const from = position.get(d.node);
    const start = from?.index ?? 0;
    const index = bundles.indexOf(d.sha, start);
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
