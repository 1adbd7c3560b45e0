// The HA chaos's fencing journal, read from etcd's own revision history (a watch of the coordinators' prefix from
// revision 1, on a client of its own that reaches every member directly, never through a coordinator): who led when
// (the election keys), every lease created and deleted, the events. It checks what LeaseJournal checks on the file
// store (strictly increasing tokens, never more leases than allowed, each grant while a leader's key existed), and
// holds the leadership timeline against which the kube-apiserver's effects are checked (leaderEffectViolations).
import type { Etcd3, IKeyValue, Watcher } from "etcd3";
import { watchGapless } from "../../coordinator/src/store/etcd-gapless-watch.js";
import { poolExcess, type Limits } from "./lease-journal.js";

/** One election key: a coordinator's candidacy, leading while it is the oldest one alive. */
export interface ElectionTerm {
  readonly id: string;
  /** Its create revision: the leadership term's number. */
  readonly createRev: number;
  /** When the watch delivered its creation / deletion (at or after the fact). */
  readonly seenAtMs: number;
  goneAtMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The leader as the watch had shown it by `atMs`: the oldest election key seen and not yet seen deleted. */
export function leaderAt(terms: readonly ElectionTerm[], atMs: number): ElectionTerm | undefined {
  let best: ElectionTerm | undefined;
  for (const t of terms) if (t.seenAtMs <= atMs && t.goneAtMs > atMs && (!best || t.createRev < best.createRev)) best = t;
  return best;
}

export class EtcdHistory {
  grants = 0;
  peak = 0;
  /** The etcd store is transactional: no event can be lost between a lease change and its record. */
  readonly gaps: string[] = [];
  lastHaltAtMs = 0;
  readonly terms: ElectionTerm[] = [];
  private watcher: Watcher | undefined;
  private revision = 0;
  private lastToken = 0;
  private lastEventSeq = 0;
  private readonly alive = new Map<string, ElectionTerm>();
  private readonly open = new Map<string, { token: number; server: boolean; rev: number }>();
  private pending: string[] = [];

  private constructor(
    private readonly client: Etcd3,
    private readonly prefix: string,
    private readonly limits: Limits,
    private readonly isServer: (node: string) => boolean,
  ) {}

  static async start(client: Etcd3, prefix: string, limits: Limits, isServer: (node: string) => boolean): Promise<EtcdHistory> {
    const h = new EtcdHistory(client, prefix, limits, isServer);
    // From revision 1, resuming after the last event delivered: etcd3's own resume point can skip events.
    h.watcher = await watchGapless(client.watch().prefix(prefix), 1n, (w) =>
      w.on("data", (res) => {
        const now = Date.now();
        for (const e of res.events) h.apply(e.type === "Delete", e.kv, now);
      }),
    );
    return h;
  }

  /** Waits (bounded) until the watch has delivered everything up to etcd's revision as of now. */
  async readNew(): Promise<void> {
    const head = Number((await this.client.get(`${this.prefix}events-seq`).exec()).header.revision);
    for (let i = 0; i < 300 && this.revision < head; i++) await sleep(50);
    if (this.revision < head) this.pending.push(`the etcd history watch is stuck at revision ${this.revision}, etcd is at ${head}`);
  }

  takeViolations(): string[] {
    const out = this.pending;
    this.pending = [];
    return out;
  }

  openLeases(): Map<string, number> {
    return new Map([...this.open].map(([node, l]) => [node, l.token]));
  }


  async close(): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
  }

  private apply(deleted: boolean, kv: IKeyValue, now: number): void {
    const rev = Number(kv.mod_revision);
    this.revision = Math.max(this.revision, rev);
    const key = kv.key.toString("utf8").slice(this.prefix.length);
    const created = !deleted && kv.create_revision === kv.mod_revision;
    if (key.startsWith("election/")) {
      if (created) {
        const term: ElectionTerm = { id: kv.value.toString("utf8"), createRev: Number(kv.create_revision), seenAtMs: now, goneAtMs: Infinity };
        this.terms.push(term);
        this.alive.set(key, term);
      } else if (deleted) {
        const term = this.alive.get(key);
        if (term) term.goneAtMs = now;
        this.alive.delete(key);
      }
    } else if (key.startsWith("leases/")) {
      const node = key.slice("leases/".length);
      if (deleted) {
        if (!this.open.delete(node)) this.pending.push(`rev ${rev}: lease of ${node} deleted, but etcd's history shows none open`);
      } else if (created) this.grant(node, JSON.parse(kv.value.toString("utf8")) as { fencingToken: number; role?: string }, rev);
    } else if (key.startsWith("events/") && !deleted) {
      const e = JSON.parse(kv.value.toString("utf8")) as { seq: number; timeMs: number; kind: string };
      if (this.lastEventSeq !== 0 && e.seq !== this.lastEventSeq + 1) this.pending.push(`rev ${rev}: event seq ${e.seq} follows seq ${this.lastEventSeq} (not contiguous)`);
      this.lastEventSeq = e.seq;
      if (e.kind === "rollout-halted") this.lastHaltAtMs = e.timeMs;
    }
  }

  private grant(node: string, lease: { fencingToken: number; role?: string }, rev: number): void {
    this.grants++;
    const token = lease.fencingToken;
    if (!Number.isInteger(token) || token <= this.lastToken) this.pending.push(`rev ${rev}: lease #${token} of ${node} granted after #${this.lastToken} (tokens must strictly increase)`);
    if (this.alive.size === 0) this.pending.push(`rev ${rev}: lease #${token} of ${node} granted while no coordinator's election key existed (no leader)`);
    this.lastToken = Math.max(this.lastToken, token);
    this.open.set(node, { token, server: lease.role === "server" || (!lease.role && this.isServer(node)), rev });
    const all = [...this.open.values()];
    this.peak = Math.max(this.peak, all.length);
    if (all.length > this.limits.total) this.pending.push(`rev ${rev}: ${all.length} leases open (${[...this.open.keys()].join(", ")}) > max_unavailable ${this.limits.total}`);
    if (all.filter((l) => l.server).length > this.limits.servers) this.pending.push(`rev ${rev}: more server leases open than max_unavailable_servers ${this.limits.servers}`);
    this.pending.push(...poolExcess(this.limits.pools, [...this.open.keys()], `rev ${rev}`));
  }
}
