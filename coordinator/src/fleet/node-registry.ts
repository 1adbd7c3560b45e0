// In-memory mirror of the store's node records plus live connection counts, written through to the store.
import { NkError } from "../../../shared/src/errors/index.js";
import type { NodeHello, NodeRecord, NodeReport, RevisionRef, Store } from "../store/index.js";
import { ChangeSignal } from "./change-signal.js";
import { NodeFeed } from "./desired-feed.js";

export interface NodeRegistryOptions {
  /**
   * With several coordinators an agent's streams may be open at another one: then a report (received here or
   * through the shared store) at most this old also counts as connected. Unset with a single coordinator.
   */
  readonly connectedByReportWithinMs?: number;
  /** The store is shared by several coordinators: refresh() reads a node's record again before a stream sends it anything. */
  readonly shared?: boolean;
  readonly now?: () => number;
}

export class NodeRegistry {
  private readonly records = new Map<string, NodeRecord>();
  private readonly connections = new Map<string, number>();
  readonly changed = new ChangeSignal<string>();
  /**
   * Per node: the store now names this desired bundle (sha256) and agents may hear of it. Another coordinator's write
   * fires it as the shared store's copy arrives; this coordinator's own adoption fires it once it has handed the
   * changed bundles out (announceDesired), so that nothing goes to an agent before builders mode has planned it.
   */
  readonly desiredStored = new NodeFeed<string>();
  /**
   * When each node's desired ref was last taken (a count of takes: this coordinator's writes and the store reads it took
   * the ref from). Store reads are linearizable, so a read begun after a take sees that ref or a newer one, and a read
   * begun before it may be older: it leaves the ref alone (the next telemetry sync reads again).
   */
  private readonly desiredTaken = new Map<string, number>();
  private takes = 0;

  constructor(
    private readonly store: Store,
    private readonly options: NodeRegistryOptions = {},
  ) {}

  async load(): Promise<void> {
    this.records.clear();
    for (const record of await this.store.listNodes()) this.records.set(record.name, record);
  }

  get(name: string): NodeRecord | undefined {
    return this.records.get(name);
  }

  all(): NodeRecord[] {
    return [...this.records.values()];
  }

  isEnrolled(name: string): boolean {
    return this.records.has(name);
  }

  isConnected(name: string): boolean {
    if ((this.connections.get(name) ?? 0) > 0) return true;
    const within = this.options.connectedByReportWithinMs;
    const reportedAt = this.records.get(name)?.lastReport?.atMs;
    return within !== undefined && reportedAt !== undefined && (this.options.now ?? Date.now)() - reportedAt <= within;
  }

  async enroll(name: string): Promise<string> {
    const token = await this.store.enrollNode(name);
    const readSince = this.readMark();
    const record = await this.store.getNode(name);
    // A new token for an enrolled node is merged like any read of the store: its desired ref too, announced if new.
    if (record && this.records.has(name)) this.noteRemote(record, { readSince });
    else if (record) this.records.set(name, record);
    this.changed.emit(name);
    return token;
  }

  private require(name: string): NodeRecord {
    const record = this.records.get(name);
    if (!record) throw new NkError("NODE_NOT_ENROLLED", `node "${name}" is not enrolled (nkctl node enroll ${name})`);
    return record;
  }

  async hello(name: string, hello: NodeHello, applied?: RevisionRef): Promise<void> {
    const record = this.require(name);
    await this.store.recordHello(name, hello, applied);
    record.lastHello = hello;
    await this.noteApplied(record, applied);
    this.changed.emit(name);
  }

  async report(name: string, report: NodeReport, applied?: RevisionRef): Promise<void> {
    const record = this.require(name);
    const before = record.lastReport;
    await this.store.recordReport(name, report, applied);
    record.lastReport = report;
    if (isNewRollback(report, before)) {
      await this.store.appendEvent({ kind: "node-rolled-back", node: name, revision: report.revision, message: `${name} rolled back from revision ${report.revision.slice(0, 12)}: ${report.error || "no reason given"}`, fields: { sha256: report.sha256 } });
    }
    await this.noteApplied(record, applied);
    this.changed.emit(name);
  }

  /** A node that runs a different bundle than before is journaled: the rollout timeline shows when each node switched. */
  private async noteApplied(record: NodeRecord, applied: RevisionRef | undefined): Promise<void> {
    if (!applied) return;
    const before = record.applied;
    record.applied = applied;
    if (before?.sha256 === applied.sha256 && before.revision === applied.revision) return;
    await this.store.appendEvent({
      kind: "node-applied",
      node: record.name,
      revision: applied.revision,
      message: `${record.name} runs revision ${applied.revision.slice(0, 12)} (bundle ${applied.sha256.slice(0, 12)})`,
      fields: { sha256: applied.sha256 },
    });
    await this.noteCompleted(applied);
  }

  /** The node that brings the last one to its desired bundle completes the rollout: journaled once, by that switch. */
  private async noteCompleted(applied: RevisionRef): Promise<void> {
    const desired = this.all().filter((r) => r.desired);
    if (desired.length === 0 || !desired.every((r) => r.applied?.sha256 === r.desired!.sha256)) return;
    if (!desired.some((r) => r.desired!.revision === applied.revision)) return;
    await this.store.appendEvent({
      kind: "rollout-completed",
      revision: applied.revision,
      message: `every node runs its desired bundle; ${desired.filter((r) => r.desired!.revision === applied.revision).length} of ${desired.length} on revision ${applied.revision.slice(0, 12)}`,
      fields: { nodes: String(desired.length) },
    });
  }

  /**
   * Mirrors desired refs the adopter already persisted (announced with announceDesired once agents may hear of them);
   * returns the nodes it took. `readSince`: the readMark taken before the write; a node whose ref a store read took
   * while the write was out keeps that ref (which of the two is newer is unknown; the next telemetry sync settles it).
   */
  noteDesired(entries: ReadonlyArray<{ node: string } & RevisionRef>, readSince?: number): string[] {
    const taken: string[] = [];
    for (const e of entries) {
      const record = this.records.get(e.node);
      if (!record || (readSince !== undefined && (this.desiredTaken.get(e.node) ?? 0) > readSince)) continue;
      record.desired = { revision: e.revision, sha256: e.sha256 };
      this.desiredTaken.set(e.node, ++this.takes);
      taken.push(e.node);
    }
    return taken;
  }

  /** Taken before reading records from the store, and passed to noteRemote with them (`readSince`). */
  readMark(): number {
    return this.takes;
  }

  /** Tells the open desired streams of these nodes that the store names their bundle now. */
  announceDesired(nodes: Iterable<string>): void {
    for (const node of nodes) {
      const sha256 = this.records.get(node)?.desired?.sha256;
      if (sha256 !== undefined) this.desiredStored.publishTo(node, sha256);
    }
  }

  /**
   * With a shared store: takes the node's record as the store holds it now, so a stream opened moments after another
   * coordinator's adoption goes by that adoption's desired ref, not by the copy of the last telemetry sync.
   */
  async refresh(name: string): Promise<void> {
    if (!this.options.shared) return;
    for (let attempt = 0; attempt < 2; attempt++) {
      const readSince = this.readMark();
      const record = await this.store.getNode(name);
      if (!record) return;
      // The node's ref was taken while the read was out (this coordinator's write, or another read): which is newer is
      // unknown, so noteRemote keeps the one taken, and the node is read again.
      const raced = (this.desiredTaken.get(name) ?? 0) > readSince;
      this.noteRemote(record, { readSince });
      if (!raced) return;
    }
  }

  /**
   * Takes what another coordinator wrote to the shared store (its agents' reports, the desired refs of its adoptions),
   * without writing it back. Returns true when the record brought a newer report. `announce: false` leaves a changed
   * desired ref to the caller's announceDesired (an adoption announces after its publish). `readSince`: the readMark
   * taken before the record was read; a desired ref taken since then is newer than the record's and stays.
   */
  noteRemote(remote: NodeRecord, options: { readonly announce?: boolean; readonly readSince?: number } = {}): boolean {
    const local = this.records.get(remote.name);
    if (!local) {
      this.records.set(remote.name, remote);
      if (remote.desired) this.desiredTaken.set(remote.name, ++this.takes);
      this.changed.emit(remote.name);
      return remote.lastReport !== undefined;
    }
    const newer = (remote.lastReport?.atMs ?? 0) > (local.lastReport?.atMs ?? 0);
    // The applied bundle travels with a hello or report: take it only from a record that heard from the agent
    // later than this one did, so a stale copy of the record never moves a node back to an older bundle.
    if (remote.applied && lastHeard(remote) > lastHeard(local)) local.applied = remote.applied;
    if (newer) local.lastReport = remote.lastReport;
    if ((remote.lastHello?.atMs ?? 0) > (local.lastHello?.atMs ?? 0)) local.lastHello = remote.lastHello;
    // A read begun before the node's ref was last taken (this coordinator's write, or a read begun later) is older.
    const current = options.readSince === undefined || (this.desiredTaken.get(remote.name) ?? 0) <= options.readSince;
    const storedAnew = current && remote.desired !== undefined && remote.desired.sha256 !== local.desired?.sha256;
    if (current && remote.desired && (remote.desired.sha256 !== local.desired?.sha256 || remote.desired.revision !== local.desired.revision)) {
      local.desired = remote.desired;
      // A read begun before this one took it is older still: it must not take the ref back (HA review of 771fd7f). A
      // read that brings the ref already held takes nothing: one begun after the last take cannot be older.
      this.desiredTaken.set(remote.name, ++this.takes);
    }
    local.tokenHash = remote.tokenHash;
    if (newer) this.changed.emit(remote.name);
    if (storedAnew && options.announce !== false) this.desiredStored.publishTo(remote.name, remote.desired!.sha256);
    return newer;
  }

  /** Counts open agent streams; returns a function that ends this connection. */
  connect(name: string): () => void {
    this.connections.set(name, (this.connections.get(name) ?? 0) + 1);
    this.changed.emit(name);
    let open = true;
    return () => {
      if (!open) return;
      open = false;
      const left = (this.connections.get(name) ?? 1) - 1;
      if (left <= 0) this.connections.delete(name);
      else this.connections.set(name, left);
      this.changed.emit(name);
    };
  }

  connectedCount(): number {
    return this.connections.size;
  }
}

/** When the agent last spoke to any coordinator about this record (hello or report). */
function lastHeard(r: NodeRecord): number {
  return Math.max(r.lastReport?.atMs ?? 0, r.lastHello?.atMs ?? 0);
}

/** A report that newly says the node rolled back (not the heartbeat repeating it). */
function isNewRollback(report: NodeReport, before: NodeReport | undefined): boolean {
  if (report.phase !== "rolled-back" || report.revision === "") return false;
  return before?.phase !== "rolled-back" || before.revision !== report.revision || before.sha256 !== report.sha256;
}
