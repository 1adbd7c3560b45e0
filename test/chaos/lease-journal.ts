// Reads the coordinator's events.jsonl straight from its state dir, incrementally, and checks fencing from it:
// contiguous seq, strictly increasing grant tokens, never more leases granted-and-not-released than allowed.
import { open, readFile, stat } from "node:fs/promises";
import { join } from "node:path";

export interface Limits {
  /** max_unavailable */
  readonly total: number;
  /** max_unavailable_servers */
  readonly servers: number;
  /** rollout.pools: the chaos cluster labels `nodes` with `selector` and gives the pool max_unavailable `max`. */
  readonly pools?: readonly ChaosPool[];
}

export interface ChaosPool {
  readonly name: string;
  readonly selector: Readonly<Record<string, string>>;
  readonly nodes: readonly string[];
  readonly max: number;
}

/** One line per pool that has more of `nodes` than it allows. */
export function poolExcess(pools: readonly ChaosPool[] | undefined, nodes: readonly string[], where: string): string[] {
  return (pools ?? []).flatMap((p) => {
    const inPool = nodes.filter((n) => p.nodes.includes(n));
    return inPool.length > p.max ? [`${where}: ${inPool.length} nodes of pool ${p.name} disrupted at once (${inPool.join(", ")}) > its max_unavailable ${p.max}`] : [];
  });
}

interface JournalEvent {
  seq: number;
  timeMs: number;
  kind: string;
  node?: string;
  message: string;
  fields?: Record<string, string>;
}

interface OpenLease {
  readonly token: number;
  readonly server: boolean;
  readonly seq: number;
}

const RELEASES = new Set(["lease-released", "lease-released-failed", "lease-force-released"]);

/** The durable lease table as state.json has it (read while the coordinator is dead). */
export interface DurableLeases {
  readonly leases: ReadonlyMap<string, { fencingToken: number; role?: string }>;
  readonly lastGranted: number;
}

export async function readDurableLeases(stateDir: string): Promise<DurableLeases> {
  const state = JSON.parse(await readFile(join(stateDir, "state.json"), "utf8")) as {
    fencing: { lastGranted: number };
    leases: Record<string, { fencingToken: number; role?: string }>;
  };
  return { leases: new Map(Object.entries(state.leases)), lastGranted: state.fencing.lastGranted };
}

export class LeaseJournal {
  private offset = 0;
  private inode = -1;
  private lastSeq = 0;
  private lastToken = 0;
  private readonly open = new Map<string, OpenLease>();
  private pending: string[] = [];
  /** Grants and releases seen (for the summary). */
  grants = 0;
  /** Lease events a kill -9 lost between the durable lease change and its event (see reconcile). */
  gaps: string[] = [];
  /** Highest number of leases open at once, by the journal. */
  peak = 0;
  /** Time of the newest rollout-halted event (0: none yet). */
  lastHaltAtMs = 0;

  constructor(
    readonly stateDir: string,
    private readonly limits: Limits,
    private readonly isServer: (node: string) => boolean,
  ) {}

  get seq(): number {
    return this.lastSeq;
  }

  /** Leases granted and not yet released, by the journal. */
  openLeases(): Map<string, number> {
    return new Map([...this.open].map(([node, l]) => [node, l.token]));
  }

  /** Violations found since the last call. */
  takeViolations(): string[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  /** Reads the complete lines appended since the last call (following one rotation to events.1.jsonl). */
  async readNew(): Promise<void> {
    const path = join(this.stateDir, "events.jsonl");
    const info = await stat(path).catch(() => null);
    if (!info) return;
    if (this.inode !== -1 && info.ino !== this.inode) {
      // Rotated: finish the old file (now events.1.jsonl) before starting on the new one.
      await this.readFrom(join(this.stateDir, "events.1.jsonl"));
      this.offset = 0;
    }
    this.inode = info.ino;
    await this.readFrom(path);
  }

  /**
   * At a coordinator kill: state.json is the durable truth. The journal is written after it, so a
   * kill between the two loses that one event; anything else is a violation (a lease resurrected).
   */
  reconcile(durable: DurableLeases, atMs: number): void {
    for (const [node, l] of [...this.open]) {
      const d = durable.leases.get(node);
      if (d?.fencingToken === l.token) continue;
      this.open.delete(node);
      this.gaps.push(`${new Date(atMs).toISOString()} lease #${l.token} of ${node} released without a journal event (kill -9 between state and journal)`);
    }
    for (const [node, d] of durable.leases) {
      if (this.open.get(node)?.token === d.fencingToken) continue;
      if (d.fencingToken <= this.lastToken) {
        this.pending.push(`state.json holds lease #${d.fencingToken} of ${node}, but the journal already granted #${this.lastToken} and shows no open #${d.fencingToken}`);
        continue;
      }
      this.gaps.push(`${new Date(atMs).toISOString()} lease #${d.fencingToken} of ${node} granted without a journal event (kill -9 between state and journal)`);
      this.grant(node, d.fencingToken, d.role ?? "", this.lastSeq);
    }
    if (durable.lastGranted < this.lastToken) this.pending.push(`state.json fencing.lastGranted ${durable.lastGranted} is below token #${this.lastToken} already granted`);
  }

  private async readFrom(path: string): Promise<void> {
    const fh = await open(path, "r").catch(() => null);
    if (!fh) return;
    try {
      const { size } = await fh.stat();
      if (size <= this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      await fh.read(buf, 0, buf.length, this.offset);
      // Only whole lines: a torn tail is either completed later or truncated at the next start.
      const end = buf.lastIndexOf(0x0a) + 1;
      if (end === 0) return;
      this.offset += end;
      for (const line of buf.toString("utf8", 0, end).split("\n")) if (line) this.apply(JSON.parse(line) as JournalEvent);
    } finally {
      await fh.close();
    }
  }

  private apply(e: JournalEvent): void {
    if (e.seq !== this.lastSeq + 1) this.pending.push(`events.jsonl: seq ${e.seq} follows seq ${this.lastSeq} (not contiguous)`);
    this.lastSeq = e.seq;
    const node = e.node ?? "";
    if (e.kind === "rollout-halted") this.lastHaltAtMs = e.timeMs;
    if (e.kind === "lease-granted") {
      const token = Number(e.fields?.fencingToken);
      if (!Number.isInteger(token) || token <= this.lastToken) this.pending.push(`seq ${e.seq}: lease #${e.fields?.fencingToken} of ${node} granted after #${this.lastToken} (tokens must strictly increase)`);
      const held = this.open.get(node);
      if (held) this.pending.push(`seq ${e.seq}: ${node} granted #${token} while its lease #${held.token} (seq ${held.seq}) was never released`);
      this.grant(node, token, e.fields?.role ?? "", e.seq);
    } else if (RELEASES.has(e.kind)) {
      const token = Number(/lease #(\d+)/.exec(e.message)?.[1]);
      const held = this.open.get(node);
      if (!held || held.token !== token) this.pending.push(`seq ${e.seq}: ${e.kind} of #${token} for ${node}, whose open lease is ${held ? `#${held.token}` : "none"}`);
      else this.open.delete(node);
    }
  }

  /** `role` as the grant recorded it; without one, the inventory's role decides. */
  private grant(node: string, token: number, role: string, seq: number): void {
    this.grants++;
    this.lastToken = Math.max(this.lastToken, token);
    this.open.set(node, { token, server: role === "server" || (role === "" && this.isServer(node)), seq });
    const all = [...this.open.values()];
    const servers = all.filter((l) => l.server).length;
    this.peak = Math.max(this.peak, all.length);
    if (all.length > this.limits.total) this.pending.push(`seq ${seq}: ${all.length} leases open (${[...this.open.keys()].join(", ")}) > max_unavailable ${this.limits.total}`);
    if (servers > this.limits.servers) this.pending.push(`seq ${seq}: ${servers} server leases open > max_unavailable_servers ${this.limits.servers}`);
    this.pending.push(...poolExcess(this.limits.pools, [...this.open.keys()], `seq ${seq}`));
  }
}
